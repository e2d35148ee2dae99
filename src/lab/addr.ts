// SPDX-License-Identifier: Apache-2.0
/**
 * Tiny IPv4 / MAC arithmetic for the lab (address plans, subnet carving). Pure functions,
 * no I/O. Throws on malformed input so a bad spec fails before anything is created.
 */

/** A parsed IPv4 CIDR: network address as an unsigned 32-bit integer plus prefix length. */
export interface Cidr4 { base: number; prefix: number }

/** Parses dotted-quad IPv4 into an unsigned 32-bit integer; throws on anything else. */
export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`not an IPv4 address: ${ip}`);
    v = v * 256 + Number(p);
  }
  return v;
}

/** Formats an unsigned 32-bit integer as dotted-quad IPv4. */
export function intToIp(v: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}

/** Parses 'a.b.c.d/n' and returns the network (host bits cleared); throws when malformed. */
export function parseCidr(cidr: string): Cidr4 {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m || Number(m[2]) > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const base = Math.floor(ipToInt(m[1] ?? '') / size) * size;
  return { base, prefix };
}

/** Formats a Cidr4 as 'a.b.c.d/n'. */
export function formatCidr(c: Cidr4): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

/** The network address of a CIDR (e.g. '10.244.2.0' for '10.244.2.0/24'). */
export function networkAddr(cidr: string): string {
  return intToIp(parseCidr(cidr).base);
}

/**
 * Host `n` of a CIDR ('10.244.2.0/24', 3 → '10.244.2.3'). Throws when n is outside the
 * block (n = 0 gives the network address, which flannel uses for flannel.1).
 */
export function hostAddr(cidr: string, n: number): string {
  const c = parseCidr(cidr);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** (32 - c.prefix)) throw new Error(`host ${n} outside ${cidr}`);
  return intToIp(c.base + n);
}

/**
 * The `index`-th subnet of length `subnetLen` inside `network` ('10.244.0.0/16', 24, 2 →
 * '10.244.2.0/24'). Throws when the network has no such subnet.
 */
export function nthSubnet(network: string, subnetLen: number, index: number): string {
  const c = parseCidr(network);
  if (subnetLen < c.prefix || subnetLen > 32) throw new Error(`subnet length /${subnetLen} does not fit ${network}`);
  const count = 2 ** (subnetLen - c.prefix);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new Error(`subnet #${index} outside ${network}`);
  return formatCidr({ base: c.base + index * 2 ** (32 - subnetLen), prefix: subnetLen });
}

/** True for a colon-separated 6-byte MAC ('02:f1:00:00:00:01'). */
export function isMac(mac: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac);
}
