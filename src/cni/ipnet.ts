// SPDX-License-Identifier: Apache-2.0
/**
 * IP addresses and prefixes as Go's net package parses and prints them, for the values
 * flannel's CNI plugin round-trips: FLANNEL_* CIDRs (IPv4 and IPv6) and user routes
 * (`dst`, `gw`). Only what that needs; the control plane's IPv4 helpers live in
 * src/config/cidr.ts (used here for the dotted-quad rules).
 *
 * Go's rules reproduced:
 * - IPv4: four decimal octets, no leading zeros; IPv6: RFC 4291 text, an embedded
 *   dotted quad only at the end, no zone; prefix: decimal, at most the address bits.
 * - net.ParseCIDR returns the address as written AND the network (host bits cleared);
 *   IPNet.String() prints the address it holds (it does NOT clear host bits).
 * - IP.String(): IPv4 and IPv4-mapped IPv6 (::ffff:a.b.c.d) as a dotted quad; other IPv6
 *   as lowercase hex with the longest run (>= 2) of zero groups, the first one on a tie,
 *   written as `::`.
 */
import { formatIpv4, parseIpv4 } from '../config/cidr.js';

/** An address: 4 bytes (parsed as IPv4) or 16 bytes (parsed as IPv6). */
export type IpBytes = Uint8Array;

/** A prefix as Go's net.IPNet: `ip` as stored, `bits` = 32 or 128 (the mask length). */
export interface IpNet {
  readonly ip: IpBytes;
  readonly prefixLen: number;
  readonly bits: 32 | 128;
}

function v4Bytes(n: number): IpBytes {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** parseIp parses an IPv4 or IPv6 address (no zone), or returns null. */
export function parseIp(s: string): IpBytes | null {
  if (!s.includes(':')) {
    const v4 = parseIpv4(s);
    return v4 === null ? null : v4Bytes(v4);
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups: number[][] = [];
  for (let h = 0; h < halves.length; h++) {
    const half = halves[h]!;
    const out: number[] = [];
    const parts = half === '' ? [] : half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.includes('.') && i === parts.length - 1 && h === halves.length - 1) {
        const v4 = parseIpv4(p);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return null;
    }
    groups.push(out);
  }
  const head = groups[0]!;
  const tail = groups[1] ?? [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  const all = [...head, ...new Array<number>(halves.length === 1 ? 0 : fill).fill(0), ...tail];
  const b = new Uint8Array(16);
  all.forEach((g, i) => { b[2 * i] = g >> 8; b[2 * i + 1] = g & 255; });
  return b;
}

/** True for ::ffff:a.b.c.d (Go's To4() succeeds on it). */
function isV4Mapped(b: IpBytes): boolean {
  return b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
}

/** formatIp prints an address as Go's IP.String(). */
export function formatIp(b: IpBytes): string {
  if (b.length === 4) return formatIpv4(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0);
  if (isV4Mapped(b)) return formatIp(b.subarray(12));
  const g = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j === i ? i + 1 : j;
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/** parseIpNet parses `addr/len` like Go's types.ParseCIDR (address kept as written), or null. */
export function parseIpNet(s: string): IpNet | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIp(s.slice(0, slash));
  const len = s.slice(slash + 1);
  if (ip === null || !/^\d{1,4}$/.test(len)) return null;
  const bits = ip.length === 4 ? 32 : 128;
  if (Number(len) > bits) return null;
  return { ip, prefixLen: Number(len), bits };
}

/** networkOf clears the host bits (the IPNet net.ParseCIDR returns). */
export function networkOf(n: IpNet): IpNet {
  const ip = Uint8Array.from(n.ip);
  for (let i = 0; i < ip.length; i++) {
    const keep = Math.max(0, Math.min(8, n.prefixLen - 8 * i));
    ip[i]! &= (0xff00 >> keep) & 0xff;
  }
  return { ip, prefixLen: n.prefixLen, bits: n.bits };
}

/** formatIpNet prints a prefix as Go's IPNet.String() (host bits as stored). */
export function formatIpNet(n: IpNet): string {
  if (n.bits === 128 && isV4Mapped(n.ip)) return `${formatIp(n.ip)}/${Math.max(0, n.prefixLen - 96)}`;
  return `${formatIp(n.ip)}/${n.prefixLen}`;
}

/** sameIpNet: same address bytes and prefix length (flannel's isSubnetAlreadyPresent). */
export function sameIpNet(a: IpNet, b: IpNet): boolean {
  return a.prefixLen === b.prefixLen && a.ip.length === b.ip.length && a.ip.every((x, i) => x === b.ip[i]);
}
