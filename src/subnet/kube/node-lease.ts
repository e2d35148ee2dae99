// SPDX-License-Identifier: Apache-2.0
/**
 * Kubernetes Nodes as vxtun sees them, and the one conversion from a Node to a Lease
 * (flanneld's nodeToLease, narrowed to vxlan over IPv4).
 *
 * A node is a peer when it carries `<prefix>/kube-subnet-manager: "true"` (others are
 * not flannel nodes and are skipped silently, as flanneld does), has an IPv4 pod CIDR
 * inside Network, `backend-type: vxlan`, a unicast `public-ip` and a valid
 * `backend-data`. Anything else is a NodeProblem naming the node and the annotation or
 * field, which the manager logs and leaves out (flanneld logs "Error turning node %q to
 * lease" and skips it too).
 */
import { canonicalCidr, containsCidr, formatCidr, formatIpv4, parseCidr, parseIpv4, type Cidr } from '../../config/cidr.js';
import { ConfigError } from '../../config/errors.js';
import { unicastIpv4Problem, type Lease } from '../../config/lease.js';
import { parseBackendData, type AnnotationKeys } from './annotations.js';

/** The parts of a v1.Node the manager reads. */
export interface KubeNode {
  readonly name: string;
  readonly resourceVersion: string;
  readonly annotations: Readonly<Record<string, string>>;
  /** spec.podCIDRs, or [spec.podCIDR] when podCIDRs is empty; [] when neither is set. */
  readonly podCIDRs: readonly string[];
}

/** Why a flannel node could not become a lease. */
export class NodeProblem extends ConfigError {}

/** The subnet key flannel would use for `subnet` (`10.244.1.0-24`). */
export function subnetKeyOf(subnet: Cidr): string {
  return `${formatIpv4(subnet.network)}-${subnet.prefixLen}`;
}

/**
 * ipv4PodCidr picks the node's IPv4 pod CIDR as flanneld does (podCIDRs holds at most one
 * per family; more than two entries is an error), host bits cleared. Returns null when the
 * node has none; throws NodeProblem for a malformed or IPv6-only assignment.
 */
export function ipv4PodCidr(node: KubeNode): Cidr | null {
  const where = `node ${node.name}`;
  if (node.podCIDRs.length === 0) return null;
  if (node.podCIDRs.length > 2) {
    throw new NodeProblem(where, 'spec.podCIDRs', JSON.stringify(node.podCIDRs), 'has more than two entries (IPv4, IPv6 or dual-stack only)');
  }
  for (const text of node.podCIDRs) {
    if (text.includes(':')) continue;
    const c = parseCidr(text);
    if (c === null) throw new NodeProblem(where, 'spec.podCIDR', JSON.stringify(text), 'is not an IPv4 CIDR');
    return canonicalCidr(c);
  }
  throw new NodeProblem(where, 'spec.podCIDR', JSON.stringify(node.podCIDRs), 'has no IPv4 pod CIDR (vxtun implements IPv4 only)');
}

/** checkInNetwork throws NodeProblem unless `subnet` lies inside Network. */
export function checkInNetwork(node: string, subnet: Cidr, network: Cidr, netConfigPath: string): void {
  if (!containsCidr(network, subnet)) {
    throw new NodeProblem(`node ${node}`, 'spec.podCIDR', JSON.stringify(formatCidr(subnet)),
      `is not inside Network ${formatCidr(network)} of ${netConfigPath}`);
  }
}

/** parsePublicIp reads an IPv4 annotation (public-ip, node-public-ip, public-ip-overwrite) of `node`; throws NodeProblem. */
export function parsePublicIp(node: string, key: string, text: string): number {
  const ip = parseIpv4(text);
  if (ip === null) throw new NodeProblem(`node ${node}`, key, JSON.stringify(text), 'is not an IPv4 address');
  const problem = unicastIpv4Problem(ip);
  if (problem !== null) throw new NodeProblem(`node ${node}`, key, JSON.stringify(text), problem);
  return ip;
}

/** The outcome of nodeToLease: a lease, a node that is not a flannel peer, or a problem to report. */
export type NodeLeaseResult =
  | { readonly kind: 'lease'; readonly lease: Lease }
  | { readonly kind: 'not-flannel' }
  | { readonly kind: 'problem'; readonly problem: NodeProblem };

/**
 * nodeToLease turns a Node into a vxlan Lease. `network`/`netConfigPath` bound the pod
 * CIDRs accepted (a peer outside Network is unreachable through our TUN route).
 */
export function nodeToLease(node: KubeNode, keys: AnnotationKeys, network: Cidr, netConfigPath: string): NodeLeaseResult {
  const a = node.annotations;
  if (a[keys.kubeSubnetManager] !== 'true') return { kind: 'not-flannel' };
  const where = `node ${node.name}`;
  try {
    const type = a[keys.backendType];
    if (type !== 'vxlan') {
      throw new NodeProblem(where, keys.backendType, JSON.stringify(type ?? null),
        'is not "vxlan": vxtun reaches only vxlan nodes (flanneld\'s vxlan backend ignores such leases too)');
    }
    const subnet = ipv4PodCidr(node);
    if (subnet === null) throw new NodeProblem(where, 'spec.podCIDR', '(missing)', 'is not assigned');
    checkInNetwork(node.name, subnet, network, netConfigPath);
    const ipText = a[keys.publicIp];
    if (ipText === undefined) throw new NodeProblem(where, keys.publicIp, '(missing)', 'is required');
    const publicIp = parsePublicIp(node.name, keys.publicIp, ipText);
    const dataText = a[keys.backendData];
    if (dataText === undefined) throw new NodeProblem(where, keys.backendData, '(missing)', 'is required for a vxlan node');
    const data = parseBackendData(node.name, keys.backendData, dataText);
    return {
      kind: 'lease',
      lease: { subnet, key: subnetKeyOf(subnet), publicIp, vni: data.vni, vtepMac: data.vtepMac, backendType: 'vxlan' },
    };
  } catch (err) {
    if (err instanceof NodeProblem) return { kind: 'problem', problem: err };
    if (err instanceof ConfigError) return { kind: 'problem', problem: new NodeProblem(err.file, err.key, err.value, err.reason) };
    throw err;
  }
}

/** A stable fingerprint of a lease set (order-independent), to deliver only real changes. */
export function leasesFingerprint(leases: readonly Lease[]): string {
  return leases.map((l) => `${l.key}|${l.publicIp}|${l.vtepMac}|${l.vni}`).sort().join(',');
}
