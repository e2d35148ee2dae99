// SPDX-License-Identifier: Apache-2.0
/**
 * A pod as flannel's CNI chain would create it (flannel meta-plugin → bridge plugin with
 * isGateway/isDefaultGateway/hairpinMode → host-local IPAM over FLANNEL_SUBNET):
 *
 *   pod netns: eth0  <subnet>.<n>/24, mtu FLANNEL_MTU, default via <subnet>.1,
 *                    <network> via <subnet>.1 (host-local's route per FLANNEL_NETWORK)
 *   node netns: vethXXXXXXXX  mtu FLANNEL_MTU, master cni0, hairpin on
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { LabContext } from './context.js';
import { vethPair, type Netns } from './netns.js';

/** What a pod needs to know about the node that hosts it. */
export interface PodHost {
  readonly name: string;
  readonly ns: Netns;
  /** The cni0 gateway address, e.g. '10.244.1.1'. */
  readonly cni0Ip: string;
  /** The cluster network, e.g. '10.244.0.0/16'. */
  readonly network: string;
  /** Pod interface MTU (FLANNEL_MTU = underlay MTU - 50). */
  readonly podMtu: number;
  /** Prefix length of the node subnet (24). */
  readonly subnetPrefix: number;
}

/** One pod: a namespace with eth0 on its node's cni0 bridge. */
export class LabPod {
  /** Cluster-wide unique pod name. */
  readonly name: string;
  /** The hosting node. */
  readonly node: PodHost;
  /** The pod's own network namespace. */
  readonly ns: Netns;
  /** Pod IP, e.g. '10.244.1.2'. */
  readonly ip: string;
  /** Name of the host-side veth on the node (enslaved to cni0). */
  readonly hostVeth: string;
  readonly #ctx: LabContext;

  /** @internal use LabNode.addPod(). */
  constructor(ctx: LabContext, node: PodHost, name: string, ns: Netns, ip: string, hostVeth: string) {
    this.#ctx = ctx;
    this.node = node;
    this.name = name;
    this.ns = ns;
    this.ip = ip;
    this.hostVeth = hostVeth;
  }

  /** Starts argv inside the pod; the child is tracked and SIGKILLed (by PID) on destroy. */
  spawn(argv: readonly string[], options?: SpawnOptions): ChildProcess {
    return this.#ctx.spawn(this.ns, argv, options);
  }
}

/**
 * Creates pod `name` with address `ip` on `node` (the name must already be claimed).
 * Registers the namespace with `ctx` first, so a failure half-way is cleaned by destroy().
 */
export function createPod(ctx: LabContext, node: PodHost, name: string, ip: string): LabPod {
  const ns = ctx.createNs(`pod-${name}`, false);
  const hostVeth = `veth${randomBytes(4).toString('hex')}`;
  const mtu = String(node.podMtu);
  try {
    vethPair(ns, 'eth0', node.ns, hostVeth);
    node.ns.ip('link', 'set', hostVeth, 'mtu', mtu, 'master', 'cni0');
    node.ns.ip('link', 'set', hostVeth, 'type', 'bridge_slave', 'hairpin', 'on');
    node.ns.ip('link', 'set', hostVeth, 'up');
    ns.ip('link', 'set', 'eth0', 'mtu', mtu);
    ns.ip('addr', 'add', `${ip}/${node.subnetPrefix}`, 'dev', 'eth0');
    ns.ip('link', 'set', 'eth0', 'up');
    ns.ip('route', 'add', 'default', 'via', node.cni0Ip, 'dev', 'eth0');
    ns.ip('route', 'add', node.network, 'via', node.cni0Ip, 'dev', 'eth0');
  } catch (err) {
    ns.delete(); // takes the veth pair with it; the node stays usable
    throw err;
  }
  return new LabPod(ctx, node, name, ns, ip, hostVeth);
}
