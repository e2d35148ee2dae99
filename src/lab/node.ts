// SPDX-License-Identifier: Apache-2.0
/**
 * A lab node: the namespace standing in for one Kubernetes host. It has `ul0` on the
 * underlay, a `cni0` bridge holding <subnet>.1, and its pods. The overlay (flannel.1 or
 * vxtun) is NOT set up here: see kernel-flannel.ts, or start vxtun with spawn().
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { hostAddr, parseCidr } from './addr.js';
import type { LabContext } from './context.js';
import type { Netns } from './netns.js';
import { createPod, type LabPod, type PodHost } from './pod.js';
import { UNDERLAY_DEV } from './underlay.js';

/** Fixed facts about one node, computed by createCluster from the spec. */
export interface LabNodeInit {
  name: string;
  index: number;
  ns: Netns;
  underlayIp: string;
  underlayCidr: string;
  subnet: string;
  network: string;
  mtu: number;
}

/** One node of the lab cluster (see the topology note in cluster.ts). */
export class LabNode implements PodHost {
  /** Node name, e.g. 'master', 'worker1'. */
  readonly name: string;
  /** Position in the cluster (0-based); subnet #index+1 and underlay host .index+1. */
  readonly index: number;
  /** The node's ("host") network namespace. */
  readonly ns: Netns;
  /** Underlay address of ul0, e.g. '192.168.50.1' (flannel's PublicIP). */
  readonly underlayIp: string;
  /** Underlay address with prefix, e.g. '192.168.50.1/24'. */
  readonly underlayCidr: string;
  /** Name of the underlay link in `ns`: always 'ul0'. */
  readonly ulDev = UNDERLAY_DEV;
  /** The node's pod subnet (flannel lease), e.g. '10.244.1.0/24'. */
  readonly subnet: string;
  /** Prefix length of `subnet`. */
  readonly subnetPrefix: number;
  /** cni0 address (FLANNEL_SUBNET's IP), e.g. '10.244.1.1'. */
  readonly cni0Ip: string;
  /** The cluster network (FLANNEL_NETWORK), e.g. '10.244.0.0/16'. */
  readonly network: string;
  /** Underlay MTU of ul0. */
  readonly mtu: number;
  /** FLANNEL_MTU = mtu - 50: MTU of cni0, pod veths and flannel.1. */
  readonly podMtu: number;
  /** Pods on this node, in creation order. */
  readonly pods: LabPod[] = [];
  readonly #ctx: LabContext;
  #nextHost = 2;

  /** @internal created by createCluster. */
  constructor(ctx: LabContext, init: LabNodeInit) {
    this.#ctx = ctx;
    this.name = init.name;
    this.index = init.index;
    this.ns = init.ns;
    this.underlayIp = init.underlayIp;
    this.underlayCidr = init.underlayCidr;
    this.subnet = init.subnet;
    this.subnetPrefix = parseCidr(init.subnet).prefix;
    this.cni0Ip = hostAddr(init.subnet, 1);
    this.network = init.network;
    this.mtu = init.mtu;
    this.podMtu = init.mtu - 50;
  }

  /** @internal creates cni0 (bridge, mtu FLANNEL_MTU, <subnet>.1/len, up), as the bridge plugin does. */
  setupCni0(): void {
    this.ns.ip('link', 'add', 'cni0', 'mtu', String(this.podMtu), 'type', 'bridge');
    this.ns.ip('addr', 'add', `${this.cni0Ip}/${this.subnetPrefix}`, 'dev', 'cni0');
    this.ns.ip('link', 'set', 'cni0', 'up');
  }

  /**
   * Adds a pod (name cluster-wide unique; default '<node>-pod<k>') with the next free
   * address <subnet>.2, .3, … (host-local allocates sequentially and never reuses here).
   * Throws when the name is taken, the subnet is full, or the lab was destroyed.
   */
  addPod(name?: string): LabPod {
    this.#ctx.assertAlive();
    let podName = name;
    if (podName === undefined) {
      let k = this.pods.length + 1;
      while (this.pods.some((p) => p.name === `${this.name}-pod${k}`)) k++;
      podName = `${this.name}-pod${k}`;
    }
    const hostBits = 32 - this.subnetPrefix;
    if (this.#nextHost >= 2 ** hostBits - 1) throw new Error(`subnet ${this.subnet} of ${this.name} is full`);
    this.#ctx.claimPodName(podName);
    const ip = hostAddr(this.subnet, this.#nextHost++);
    const pod = createPod(this.#ctx, this, podName, ip);
    this.pods.push(pod);
    return pod;
  }

  /** The pod called `name` on this node; throws when there is none. */
  pod(name: string): LabPod {
    const p = this.pods.find((x) => x.name === name);
    if (!p) throw new Error(`node ${this.name} has no pod ${name}`);
    return p;
  }

  /**
   * Starts argv in the node namespace (e.g. vxtun); the child is tracked and SIGKILLed
   * by PID on destroy. Default stdio is ['ignore','pipe','pipe']: consume or override it.
   */
  spawn(argv: readonly string[], options?: SpawnOptions): ChildProcess {
    return this.#ctx.spawn(this.ns, argv, options);
  }
}
