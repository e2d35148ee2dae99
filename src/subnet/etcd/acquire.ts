// SPDX-License-Identifier: Apache-2.0
/**
 * The pure half of flannel's tryAcquireLease (pkg/subnet/etcd/local_manager.go): which
 * existing lease is ours, whether a subnet fits the config, and which free subnet to take.
 * The store half (txns, retries) is in manager.ts.
 *
 *   1. a lease whose PublicIP is ours, if it fits the config (SubnetMin..SubnetMax, SubnetLen)
 *      → reuse it (and, unlike flannel, its VtepMAC); if it does not fit → delete it;
 *   2. else the previous subnet (subnet.env FLANNEL_SUBNET) if no lease overlaps it and it fits;
 *   3. else one picked at random among the first ≤100 free subnets from SubnetMin upwards.
 */
import { formatCidr, formatIpv4, makeCidr, overlaps, parseIpv4, subnetsInRange, type Cidr } from '../../config/cidr.js';
import { canonicalMac, macProblem } from '../../config/lease.js';
import type { NetConfig } from '../../config/netconf.js';
import { isSubnetKeyError, parseSubnetKey } from '../../config/subnet-key.js';
import { UsageError } from '../../cli/errors.js';
import type { SubnetEntry } from './registry.js';

/** flannel's raceRetries: create attempts lost to other nodes before giving up. */
export const RACE_RETRIES = 10;
/** flannel's bag size: the random pick is among at most this many free subnets. */
export const FREE_SUBNET_BAG = 100;

/** The subnet a key names (host bits cleared), or null for a key flannel would not decode. */
export function keySubnet(key: string): Cidr | null {
  const d = parseSubnetKey(key);
  return isSubnetKeyError(d) ? null : makeCidr(d.subnet.network, d.subnet.prefixLen);
}

/** The parts of a lease value the acquire step needs, read leniently (reservations may lack BackendData). */
export interface LooseValue {
  publicIp: number | null;
  /** A usable VtepMAC (canonical), or null when absent or unusable. */
  vtepMac: string | null;
}

export function looseValue(value: string): LooseValue {
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    return { publicIp: null, vtepMac: null };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { publicIp: null, vtepMac: null };
  const d = doc as { PublicIP?: unknown; BackendData?: { VtepMAC?: unknown } | null };
  const publicIp = typeof d.PublicIP === 'string' ? parseIpv4(d.PublicIP) : null;
  const mac = d.BackendData?.VtepMAC;
  return { publicIp, vtepMac: typeof mac === 'string' && macProblem(mac) === null ? canonicalMac(mac) : null };
}

/** flannel's findLeaseByIP: the first entry (key order) whose PublicIP is `publicIp` and whose key decodes. */
export function findOwnEntry(entries: readonly SubnetEntry[], publicIp: number): SubnetEntry | undefined {
  return entries.find((e) => keySubnet(e.key) !== null && looseValue(e.value).publicIp === publicIp);
}

/** flannel's isSubnetConfigCompat: inside SubnetMin..SubnetMax with prefix length SubnetLen. */
export function fitsConfig(netconf: NetConfig, sn: Cidr): boolean {
  return sn.network >= netconf.subnetMin && sn.network <= netconf.subnetMax && sn.prefixLen === netconf.subnetLen;
}

/** Subnets of every decodable key in the listing, except `skip`. */
export function occupiedSubnets(entries: readonly SubnetEntry[], skip?: string): Cidr[] {
  const out: Cidr[] = [];
  for (const e of entries) {
    if (e.key === skip) continue;
    const sn = keySubnet(e.key);
    if (sn !== null) out.push(sn);
  }
  return out;
}

/** Why `previous` cannot be reused, or null when it can. */
export function previousProblem(netconf: NetConfig, previous: Cidr, occupied: readonly Cidr[]): string | null {
  if (occupied.some((o) => overlaps(o, previous))) return 'is already leased';
  if (!fitsConfig(netconf, previous)) return 'is not compatible with the network config in etcd';
  return null;
}

/**
 * flannel's allocateSubnet: walk from SubnetMin in SubnetLen steps up to SubnetMax,
 * collect the first ≤100 subnets overlapping no lease, pick one with `random` (0 ≤ r < 1).
 * Throws UsageError "out of subnets" naming the range and the number of leases.
 */
export function allocateSubnet(netconf: NetConfig, occupied: readonly Cidr[], random: () => number, where: string): Cidr {
  const bag: Cidr[] = [];
  for (const sn of subnetsInRange(netconf.subnetMin, netconf.subnetMax, netconf.subnetLen)) {
    if (bag.length >= FREE_SUBNET_BAG) break;
    if (!occupied.some((o) => overlaps(o, sn))) bag.push(sn);
  }
  if (bag.length === 0) {
    throw new UsageError(`out of subnets: every /${netconf.subnetLen} from ${formatIpv4(netconf.subnetMin)} to ${formatIpv4(netconf.subnetMax)} `
      + `in Network ${formatCidr(netconf.network)} is leased (${occupied.length} keys under ${where}); `
      + 'widen Network or SubnetMin/SubnetMax in the config, or delete stale leases');
  }
  return bag[Math.min(bag.length - 1, Math.floor(random() * bag.length))]!;
}
