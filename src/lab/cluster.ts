// SPDX-License-Identifier: Apache-2.0
/**
 * The lab: a flannel-style Kubernetes cluster on one machine, built from network
 * namespaces (all named `<prefix>-…`, prefix = `<name>-<uniqueSuffix()>`).
 *
 *   [pod-master-pod1]   [pod-master-pod2]         [pod-worker1-pod1]  ...
 *    eth0 10.244.1.2     eth0 10.244.1.3            eth0 10.244.2.2
 *     |  (mtu 1450, default via .1)                  |
 *    vethXXXX  vethYYYY                             vethZZZZ
 *   +-----cni0 10.244.1.1/24-----+                +---cni0 10.244.2.1/24---+
 *   | [master]   (flannel.1 or vxtun, |           | [worker1]              |  ...
 *   |             set up separately)  |           |                        |
 *   +-----ul0 192.168.50.1/24--------+            +---ul0 192.168.50.2/24--+
 *           |                                              |
 *   [wire] p0 ------------------- br0 ------------------- p1 --- p2 ...
 *
 * Node i (0-based) gets pod subnet #i+1 of the network (flannel's SubnetMin skips the
 * first), underlay host .i+1, and pods <subnet>.2, .3, …. IPv6 is off everywhere,
 * ip_forward is on in node namespaces, nothing touches the root namespace except the
 * transient veth creation in vethPair(). The overlay is left to kernel-flannel.ts (the
 * kernel VXLAN exactly as flanneld programs it) or to vxtun started via LabNode.spawn().
 */
import { hostAddr, nthSubnet, parseCidr } from './addr.js';
import { LAB_NAME_RE, LabContext } from './context.js';
import { uniqueSuffix, type Netns } from './netns.js';
import { LabNode } from './node.js';
import type { LabPod } from './pod.js';
import { registerCleanup } from './proc.js';
import { attachToWire, createWire } from './underlay.js';

/** One node in a ClusterSpec. */
export interface LabNodeSpec {
  /** Node name ('master', 'worker1', …): lowercase letters, digits, '-'; not 'wire'. */
  name: string;
  /** Pod names, or a pod count (names '<node>-pod<k>'); default ClusterSpec.podsPerNode. */
  pods?: number | readonly string[];
}

/** What to build; every field has a default reproducing the seed cluster. */
export interface ClusterSpec {
  /** Namespace name prefix before the unique suffix (default 'vxlab'). */
  name?: string;
  /** Cluster network, FLANNEL_NETWORK (default '10.244.0.0/16'). */
  network?: string;
  /** Per-node subnet length (flannel SubnetLen, default 24). */
  subnetLen?: number;
  /** Underlay segment (default '192.168.50.0/24'). */
  underlay?: string;
  /** Nodes (default master, worker1, worker2). */
  nodes?: readonly LabNodeSpec[];
  /** Pods per node when a node does not say (default 2). */
  podsPerNode?: number;
  /** Underlay MTU (default 1500); pods, cni0 and flannel.1 get mtu - 50. */
  mtu?: number;
  /** `ethtool -K ul0 tx off` on every node (default false); the interop bed needs it. */
  txOffloadOff?: boolean;
}

/** A built cluster. destroy() is synchronous, idempotent and also runs on exit/SIGINT/SIGTERM/SIGALRM/SIGHUP. */
export interface LabCluster {
  /** Unique namespace prefix, e.g. 'vxlab-1a2b3c'. */
  readonly prefix: string;
  /** FLANNEL_NETWORK. */
  readonly network: string;
  /** Underlay CIDR. */
  readonly underlay: string;
  /** Underlay MTU. */
  readonly mtu: number;
  /** The wire namespace holding the underlay bridge br0. */
  readonly wire: Netns;
  /** Nodes in spec order. */
  readonly nodes: readonly LabNode[];
  /** All pods of all nodes (a fresh array, including pods added later). */
  readonly pods: LabPod[];
  /** The node called `name`; throws when none. */
  node(name: string): LabNode;
  /** The pod called `name` on any node; throws when none. */
  pod(name: string): LabPod;
  /** Kills tracked children by PID and deletes every namespace; idempotent. */
  destroy(): void;
  /** True after destroy(). */
  readonly destroyed: boolean;
}

/** The seed cluster: a master and two workers. */
export const DEFAULT_NODES: readonly LabNodeSpec[] = [{ name: 'master' }, { name: 'worker1' }, { name: 'worker2' }];

/**
 * Builds the cluster described by `spec` (see the diagram above). On any failure it
 * destroys what it had built and rethrows; on success the caller owns destroy().
 */
export function createCluster(spec: ClusterSpec = {}): LabCluster {
  const name = spec.name ?? 'vxlab';
  const network = spec.network ?? '10.244.0.0/16';
  const subnetLen = spec.subnetLen ?? 24;
  const underlay = spec.underlay ?? '192.168.50.0/24';
  const nodeSpecs = spec.nodes ?? DEFAULT_NODES;
  const mtu = spec.mtu ?? 1500;
  if (!/^[a-z][a-z0-9-]{0,15}$/.test(name)) throw new Error(`invalid cluster name ${JSON.stringify(name)}`);
  if (!Number.isInteger(mtu) || mtu < 1280) throw new Error(`invalid underlay mtu ${mtu}`);
  const ul = parseCidr(underlay);
  const names = new Set<string>();
  for (const n of nodeSpecs) {
    if (!LAB_NAME_RE.test(n.name) || n.name === 'wire' || n.name === 'pod' || names.has(n.name)) throw new Error(`invalid or duplicate node name ${JSON.stringify(n.name)}`);
    names.add(n.name);
  }
  // Validate the whole address plan before creating anything.
  const plan = nodeSpecs.map((n, i) => ({ n, i, subnet: nthSubnet(network, subnetLen, i + 1), ulIp: hostAddr(underlay, i + 1) }));

  const ctx = new LabContext(`${name}-${uniqueSuffix()}`);
  const nodes: LabNode[] = [];
  let unregister: () => void = () => {};
  const destroy = (): void => {
    ctx.destroy();
    unregister();
  };
  unregister = registerCleanup(destroy);
  try {
    const wire = createWire(ctx);
    for (const { n, i, subnet, ulIp } of plan) {
      const ns = ctx.createNs(n.name, true);
      attachToWire(wire, ns, { port: i, cidr: `${ulIp}/${ul.prefix}`, mtu, txOffloadOff: spec.txOffloadOff ?? false });
      const node = new LabNode(ctx, { name: n.name, index: i, ns, underlayIp: ulIp, underlayCidr: `${ulIp}/${ul.prefix}`, subnet, network, mtu });
      node.setupCni0();
      nodes.push(node);
      const pods = n.pods ?? spec.podsPerNode ?? 2;
      if (typeof pods === 'number') for (let k = 0; k < pods; k++) node.addPod();
      else for (const p of pods) node.addPod(p);
    }
    return {
      prefix: ctx.prefix,
      network,
      underlay,
      mtu,
      wire: wire.ns,
      nodes,
      get pods() { return nodes.flatMap((x) => x.pods); },
      node(nodeName: string): LabNode {
        const x = nodes.find((y) => y.name === nodeName);
        if (!x) throw new Error(`no node ${nodeName} in ${ctx.prefix}`);
        return x;
      },
      pod(podName: string): LabPod {
        const x = nodes.flatMap((y) => y.pods).find((p) => p.name === podName);
        if (!x) throw new Error(`no pod ${podName} in ${ctx.prefix}`);
        return x;
      },
      destroy,
      get destroyed() { return ctx.destroyed; },
    };
  } catch (err) {
    destroy();
    throw err;
  }
}
