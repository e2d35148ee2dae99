// SPDX-License-Identifier: Apache-2.0
/**
 * The underlay: one L2 segment shared by every node, made of a bridge `br0` inside a
 * dedicated "wire" namespace and one veth per node (node side `ul0`, wire side `p<i>`).
 * It stands in for the physical LAN the nodes' eth0 would sit on; nothing in it routes.
 */
import type { LabContext } from './context.js';
import { vethPair, type Netns } from './netns.js';

/** Name of the underlay link inside every node namespace. */
export const UNDERLAY_DEV = 'ul0';

/** The wire namespace and its bridge. */
export interface LabWire {
  /** Namespace holding the bridge; it has no IP addresses. */
  readonly ns: Netns;
  /** The bridge joining the nodes ('br0'). */
  readonly bridge: string;
}

/** Options for attaching one node to the wire. */
export interface AttachOptions {
  /** Port number, unique per wire (wire-side link becomes `p<port>`). */
  port: number;
  /** Node underlay address with prefix, e.g. '192.168.50.1/24'. */
  cidr: string;
  /** MTU of the underlay link (both veth ends). */
  mtu: number;
  /** `ethtool -K ul0 tx off`: real checksums on the wire (needed for kernel ⇄ userspace interop). */
  txOffloadOff: boolean;
}

/**
 * Creates the wire namespace `<prefix>-wire` with bridge br0 up (STP off, no IPv6), and
 * with br_netfilter off for it: a LAN switch does not run iptables.
 *
 * Why: Kubernetes hosts load br_netfilter, whose `bridge-nf-call-*` sysctls are per
 * namespace and default to 1, so every frame crossing br0 would run the wire's (empty)
 * netfilter hooks. On veth that work lands inside the *sending* node's send (both
 * dataplanes pay it alike; without it 1-stream TCP ran 5–8 % faster on the bench bed), a
 * cost no real underlay puts on a node. Where the module is not loaded the keys do not
 * exist and there is nothing to turn off.
 */
export function createWire(ctx: LabContext): LabWire {
  const ns = ctx.createNs('wire', false);
  ns.ip('link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', '0');
  for (const family of ['iptables', 'ip6tables', 'arptables']) {
    ns.tryExec('sysctl', '-qw', `net.bridge.bridge-nf-call-${family}=0`);
  }
  ns.ip('link', 'set', 'br0', 'up');
  return { ns, bridge: 'br0' };
}

/**
 * Plugs `node` into the wire: veth `ul0` (in the node, with `opts.cidr`, up) ⇄ `p<port>`
 * (in the wire, enslaved to br0, up). Throws when a step fails; the namespaces are already
 * registered, so the caller's destroy() cleans up.
 */
export function attachToWire(wire: LabWire, node: Netns, opts: AttachOptions): void {
  const port = `p${opts.port}`;
  const mtu = String(opts.mtu);
  vethPair(node, UNDERLAY_DEV, wire.ns, port);
  wire.ns.ip('link', 'set', port, 'mtu', mtu, 'master', wire.bridge);
  wire.ns.ip('link', 'set', port, 'up');
  node.ip('link', 'set', UNDERLAY_DEV, 'mtu', mtu);
  node.ip('addr', 'add', opts.cidr, 'dev', UNDERLAY_DEV);
  node.ip('link', 'set', UNDERLAY_DEV, 'up');
  if (opts.txOffloadOff) setTxOffload(node, false);
}

/**
 * Turns tx checksum offload (and with it TSO/GSO passthrough) on `ul0` off or back on.
 * Off emulates a NIC that finishes checksums: frames on the wire carry valid L4
 * checksums, which userspace peers need (baseline.md §4.3/4.4).
 */
export function setTxOffload(node: Netns, on: boolean): void {
  node.exec('ethtool', '-K', UNDERLAY_DEV, 'tx', on ? 'on' : 'off');
}
