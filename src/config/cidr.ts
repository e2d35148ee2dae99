// SPDX-License-Identifier: Apache-2.0
/**
 * IPv4 addresses and CIDR prefixes for the control plane. Addresses are uint32 numbers
 * in host order (10.244.1.0 = 0x0af40100), as flannel's ip.IP4. Every value returned
 * here is unsigned: JavaScript's bitwise operators yield signed int32, so each result is
 * passed through `>>> 0`.
 *
 * Parsing follows Go's net.ParseIP/net.ParseCIDR (what flanneld uses): exactly four
 * decimal octets, no leading zeros ("10.01.0.0" is refused), prefix 0..32 (leading zeros
 * in the prefix are accepted, as Go's dtoi does). parseCidr keeps the address as written;
 * canonicalCidr clears host bits the way flannel does when it decodes Network.
 *
 * These helpers are private to the control plane; src/packet has its own codecs.
 */
import { isIPv6 } from 'node:net';

/** An IPv4 prefix. `ip` is the address as written, `network` = ip & mask. */
export interface Cidr {
  readonly ip: number;
  readonly prefixLen: number;
  readonly mask: number;
  readonly network: number;
}

const OCTET = /^(0|[1-9]\d{0,2})$/;

/** parseIpv4 parses a strict dotted quad into a uint32, or returns null. */
export function parseIpv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let ip = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    ip = ip * 256 + v;
  }
  return ip;
}

/** formatIpv4 renders a uint32 as a dotted quad. */
export function formatIpv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** prefixMask returns the uint32 netmask of a prefix length 0..32. */
export function prefixMask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** makeCidr builds a Cidr from an address and a prefix length (0..32; not checked). */
export function makeCidr(ip: number, prefixLen: number): Cidr {
  const mask = prefixMask(prefixLen);
  return { ip: ip >>> 0, prefixLen, mask, network: (ip & mask) >>> 0 };
}

/** parseCidr parses `a.b.c.d/len` (host bits allowed and kept in `ip`), or returns null. */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIpv4(s.slice(0, slash));
  const len = s.slice(slash + 1);
  if (ip === null || !/^\d{1,3}$/.test(len) || Number(len) > 32) return null;
  return makeCidr(ip, Number(len));
}

/** cidr parses a CIDR that is known to be valid (constants, tests); throws otherwise. */
export function cidr(s: string): Cidr {
  const c = parseCidr(s);
  if (c === null) throw new Error(`${JSON.stringify(s)} is not an IPv4 CIDR`);
  return c;
}

/** canonicalCidr returns the prefix with host bits cleared (ip = network). */
export function canonicalCidr(c: Cidr): Cidr {
  return c.ip === c.network ? c : makeCidr(c.network, c.prefixLen);
}

/** hasHostBits is true when the address has bits set beyond the prefix. */
export function hasHostBits(c: Cidr): boolean {
  return c.ip !== c.network;
}

/** formatCidr renders `ip/len` with the address as stored (round-trips parseCidr). */
export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.ip)}/${c.prefixLen}`;
}

/** cidrSize is the number of addresses in the prefix (2^(32-len)). */
export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefixLen);
}

/** lastAddress is the highest address in the prefix (the broadcast address). */
export function lastAddress(c: Cidr): number {
  return (c.network + cidrSize(c) - 1) >>> 0;
}

/** contains is true when ip lies inside the prefix. */
export function contains(c: Cidr, ip: number): boolean {
  return ((ip & c.mask) >>> 0) === c.network;
}

/** containsCidr is true when `inner` lies entirely inside `outer`. */
export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.prefixLen <= inner.prefixLen && contains(outer, inner.network);
}

/** overlaps is true when the two prefixes share at least one address (flannel Overlaps). */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const mask = a.prefixLen < b.prefixLen ? a.mask : b.mask;
  return ((a.network & mask) >>> 0) === ((b.network & mask) >>> 0);
}

/** sameCidr is true when both prefixes have the same network and length. */
export function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.network === b.network && a.prefixLen === b.prefixLen;
}

/**
 * nextSubnet is the prefix of the same length right after c (flannel IP4Net.Next), or
 * null when that would pass 255.255.255.255.
 */
export function nextSubnet(c: Cidr): Cidr | null {
  const next = c.network + cidrSize(c);
  return next > 0xffffffff ? null : makeCidr(next, c.prefixLen);
}

/**
 * subnetAt is the index-th /subnetLen prefix inside `base` (index 0 = base's network
 * address), or null when subnetLen < base.prefixLen, subnetLen > 32 or index is out of range.
 */
export function subnetAt(base: Cidr, subnetLen: number, index: number): Cidr | null {
  if (subnetLen < base.prefixLen || subnetLen > 32 || !Number.isInteger(index) || index < 0) return null;
  if (index >= 2 ** (subnetLen - base.prefixLen)) return null;
  return makeCidr(base.network + index * 2 ** (32 - subnetLen), subnetLen);
}

/**
 * subnetsInRange yields the /subnetLen prefixes whose network address lies in min..max,
 * walking up from min (flannel's allocation walk). min must be aligned to subnetLen.
 */
export function* subnetsInRange(min: number, max: number, subnetLen: number): Generator<Cidr> {
  for (let sn: Cidr | null = makeCidr(min, subnetLen); sn !== null && sn.network <= max; sn = nextSubnet(sn)) {
    yield sn;
  }
}

/** An IPv6 prefix, validated but not interpreted (vxtun does not route IPv6). */
export interface Ipv6Prefix {
  readonly address: string;
  readonly prefixLen: number;
}

/** parseIpv6Cidr validates `addr/len` (len 0..128) as an IPv6 prefix, or returns null. */
export function parseIpv6Cidr(s: string): Ipv6Prefix | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const address = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!isIPv6(address) || address.includes('%') || !/^\d{1,3}$/.test(len) || Number(len) > 128) return null;
  return { address, prefixLen: Number(len) };
}
