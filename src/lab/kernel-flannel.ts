// SPDX-License-Identifier: Apache-2.0
/**
 * A node's overlay as the KERNEL VXLAN, programmed exactly as flanneld's vxlan backend
 * does (flannel.md §1–2, baseline.md §2). Device, per node:
 *
 *   ip link add flannel.<vni> address <mac> mtu <ul mtu - 50> type vxlan id <vni>
 *      dstport <port> local <underlayIp> dev ul0 nolearning ttl auto tos 0
 *      nol2miss nol3miss noproxy norsc noudp6zerocsumtx noudp6zerocsumrx
 *   ip addr add <subnet.0>/32 dev flannel.<vni>; ip link set flannel.<vni> up
 *
 * (`ttl auto` = explicit TTL 0, the attribute flanneld sends; no udpcsum attribute, so the
 * kernel default "udpcsum" applies.) Per remote lease (subnet S, PublicIP P, VtepMAC M),
 * in flanneld's order, neighbour → FDB → route (route last so the kernel never ARPs):
 *
 *   ip neigh replace <S.0> lladdr M dev flannel.1 nud permanent
 *   bridge fdb replace M dev flannel.1 dst P self permanent
 *   ip route replace S via <S.0> dev flannel.1 onlink
 *
 * flanneld's NeighSet uses NLM_F_CREATE|NLM_F_REPLACE, i.e. `bridge fdb replace`; `append`
 * would add a second destination (and flood to both) if a MAC ever moved to a new IP.
 */
import { isMac, networkAddr, parseCidr } from './addr.js';
import type { LabNode } from './node.js';

/** A remote flannel lease as the data plane sees it. */
export interface LabPeer {
  /** The peer node's pod subnet, e.g. '10.244.2.0/24'. */
  subnet: string;
  /** The peer's underlay (public) IP, e.g. '192.168.50.2'. */
  publicIp: string;
  /** The peer's VTEP MAC (its flannel.1 / vxtun MAC). */
  vtepMac: string;
}

/** Options of kernelFlannel(). */
export interface KernelFlannelOptions {
  /** VXLAN network identifier (flannel Backend.VNI, default 1). */
  vni?: number;
  /** UDP destination port (default 8472, the kernel/flannel default). */
  port?: number;
  /** VTEP MAC of this node's flannel.<vni>. */
  mac: string;
}

/** A node whose overlay is kernel flannel.<vni>. */
export interface KernelFlannel {
  readonly node: LabNode;
  /** Device name, 'flannel.<vni>'. */
  readonly dev: string;
  readonly vni: number;
  readonly port: number;
  readonly mac: string;
  /** This node's own lease, for peers to add. */
  readonly self: LabPeer;
  /** Peers currently programmed (by subnet). */
  peers(): LabPeer[];
  /** Programs neighbour, FDB and route for `peer` (replacing any entry for its subnet). */
  addPeer(peer: LabPeer): void;
  /** Deletes neighbour, FDB and route of `peer`; missing entries are ignored, as flanneld logs and goes on. */
  removePeer(peer: LabPeer): void;
  /** Deletes flannel.<vni> (with its neighbours, FDB and routes); idempotent. */
  teardown(): void;
}

/** The VTEP MAC connectKernelMesh gives node `index` (0-based): 02:f1:00:00:HH:LL of index+1. */
export function vtepMacFor(index: number): string {
  const n = index + 1;
  const hex = (b: number): string => b.toString(16).padStart(2, '0');
  return `02:f1:00:00:${hex((n >> 8) & 0xff)}:${hex(n & 0xff)}`;
}

/** The LabPeer describing `node` with VTEP MAC `mac` (its flannel lease). */
export function peerOf(node: LabNode, mac: string): LabPeer {
  return { subnet: node.subnet, publicIp: node.underlayIp, vtepMac: mac };
}

function checkPeer(peer: LabPeer): void {
  parseCidr(peer.subnet);
  parseCidr(`${peer.publicIp}/32`);
  if (!isMac(peer.vtepMac)) throw new Error(`invalid VTEP MAC ${peer.vtepMac}`);
}

/**
 * Creates flannel.<vni> on `node` exactly as flanneld does and returns the handle to
 * program peers. Throws if the device cannot be created (e.g. it already exists).
 */
export function kernelFlannel(node: LabNode, opts: KernelFlannelOptions): KernelFlannel {
  const vni = opts.vni ?? 1;
  const port = opts.port ?? 8472;
  const mac = opts.mac.toLowerCase();
  if (!isMac(mac)) throw new Error(`invalid VTEP MAC ${opts.mac}`);
  const dev = `flannel.${vni}`;
  const ns = node.ns;
  ns.ip('link', 'add', dev, 'address', mac, 'mtu', String(node.mtu - 50), 'type', 'vxlan', 'id', String(vni),
    'dstport', String(port), 'local', node.underlayIp, 'dev', node.ulDev, 'nolearning', 'ttl', 'auto', 'tos', '0',
    'nol2miss', 'nol3miss', 'noproxy', 'norsc', 'noudp6zerocsumtx', 'noudp6zerocsumrx');
  // flanneld sets accept_ra=0; with IPv6 disabled the key may be absent, which is fine.
  ns.tryExec('sysctl', '-qw', `net/ipv6/conf/${dev}/accept_ra=0`);
  ns.ip('addr', 'add', `${networkAddr(node.subnet)}/32`, 'dev', dev);
  ns.ip('link', 'set', dev, 'up');
  const peers = new Map<string, LabPeer>();
  let torn = false;
  const bridge = (...args: string[]): string => ns.exec('bridge', ...args);
  return {
    node, dev, vni, port, mac,
    self: peerOf(node, mac),
    peers: () => [...peers.values()],
    addPeer(peer: LabPeer): void {
      if (torn) throw new Error(`${dev} on ${node.name} was torn down`);
      checkPeer(peer);
      const gw = networkAddr(peer.subnet);
      ns.ip('neigh', 'replace', gw, 'lladdr', peer.vtepMac, 'dev', dev, 'nud', 'permanent');
      bridge('fdb', 'replace', peer.vtepMac, 'dev', dev, 'dst', peer.publicIp, 'self', 'permanent');
      ns.ip('route', 'replace', peer.subnet, 'via', gw, 'dev', dev, 'onlink');
      peers.set(peer.subnet, { ...peer });
    },
    removePeer(peer: LabPeer): void {
      if (torn) return;
      checkPeer(peer);
      const gw = networkAddr(peer.subnet);
      ns.tryExec('ip', 'neigh', 'del', gw, 'dev', dev);
      ns.tryExec('bridge', 'fdb', 'del', peer.vtepMac, 'dev', dev, 'dst', peer.publicIp, 'self');
      ns.tryExec('ip', 'route', 'del', peer.subnet, 'via', gw, 'dev', dev, 'onlink');
      peers.delete(peer.subnet);
    },
    teardown(): void {
      if (torn) return;
      torn = true;
      peers.clear();
      ns.tryExec('ip', 'link', 'del', dev);
    },
  };
}

/**
 * Makes every node in `nodes` a kernel flannel node (node i gets vtepMacFor(i), i.e.
 * 02:f1:00:00:00:<i+1>) and adds every other node as its peer. Returns the handles in
 * node order.
 */
export function connectKernelMesh(nodes: readonly LabNode[], opts: { vni?: number; port?: number } = {}): KernelFlannel[] {
  const kf = nodes.map((n) => kernelFlannel(n, { ...opts, mac: vtepMacFor(n.index) }));
  for (const a of kf) for (const b of kf) if (a !== b) a.addPeer(b.self);
  return kf;
}
