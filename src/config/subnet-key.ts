// SPDX-License-Identifier: Apache-2.0
/**
 * flannel's subnet key codec: a lease's subnet is spelled `10.244.1.0-24` in etcd keys
 * (`/coreos.com/network/subnets/10.244.1.0-24`) and in vxtun's static leases file;
 * dual-stack leases append `&fc00::-64`.
 *
 * Design notes: parseSubnetKey reproduces flannel's ParseSubnetKey (pkg/subnet/subnet.go)
 * so that both sides agree on which keys are leases:
 * - the regex `(\d+\.\d+.\d+.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$` is anchored only at the
 *   end, so a full etcd path parses as well as a bare key (two dots are unescaped there,
 *   but the address must still parse as IPv4 afterwards, so nothing extra gets through);
 * - the prefix is parsed as a 5-bit number (strconv.ParseUint(s, 10, 5)), so `-32` is
 *   NOT a valid key, and an IPv6 prefix as a 7-bit one;
 * - host bits are kept, not cleared (callers that want a canonical key check for that);
 * - an IPv6 part that does not parse invalidates the whole key.
 * vxtun routes IPv4 only: the IPv6 part is returned so callers can refuse it by name.
 */
import { isIPv6 } from 'node:net';
import { formatIpv4, makeCidr, parseIpv4, type Cidr, type Ipv6Prefix } from './cidr.js';

const SUBNET_KEY = /(\d+\.\d+.\d+.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$/;

/** A decoded subnet key. `ipv6` is the dual-stack part, or null. */
export interface SubnetKey {
  readonly subnet: Cidr;
  readonly ipv6: Ipv6Prefix | null;
}

/** Why a key did not decode. */
export interface SubnetKeyError {
  readonly error: string;
}

/** Go strconv.ParseUint(s, 10, bits): decimal digits, value < 2^bits. */
function parseUintBits(s: string, bits: number): number | null {
  if (!/^\d+$/.test(s)) return null;
  const v = Number(s);
  return v < 2 ** bits ? v : null;
}

/**
 * parseSubnetKey decodes a subnet key (or an etcd path ending in one) exactly as flannel
 * does, returning the subnet and optional IPv6 part, or `{error}` saying why not.
 */
export function parseSubnetKey(key: string): SubnetKey | SubnetKeyError {
  const m = SUBNET_KEY.exec(key);
  if (m === null) return { error: 'is not a subnet key of the form <a.b.c.d>-<prefix length>, e.g. 10.244.1.0-24' };
  const [, v4, len4, v6, len6] = m as unknown as [string, string, string, string | undefined, string | undefined];
  const ip = parseIpv4(v4);
  if (ip === null) return { error: `has ${JSON.stringify(v4)}, which is not an IPv4 address` };
  const prefixLen = parseUintBits(len4, 5);
  if (prefixLen === null) return { error: `has prefix length ${len4}, outside flannel's range 0..31` };
  let ipv6: Ipv6Prefix | null = null;
  if (v6 !== undefined && len6 !== undefined) {
    const len = parseUintBits(len6, 7);
    if (!isIPv6(v6) || len === null) return { error: `has an IPv6 part ${JSON.stringify(`${v6}-${len6}`)} that is not an IPv6 prefix` };
    ipv6 = { address: v6, prefixLen: len };
  }
  return { subnet: makeCidr(ip, prefixLen), ipv6 };
}

/** isSubnetKeyError narrows a parseSubnetKey result. */
export function isSubnetKeyError(r: SubnetKey | SubnetKeyError): r is SubnetKeyError {
  return 'error' in r;
}

/** formatSubnetKey spells an IPv4 subnet as flannel's MakeSubnetKey does: `10.244.1.0-24`. */
export function formatSubnetKey(subnet: Cidr): string {
  return `${formatIpv4(subnet.ip)}-${subnet.prefixLen}`;
}

/**
 * canonicalKeyProblem returns why `key` is not the canonical key of an IPv4-only lease
 * (a dual-stack part, host bits set, a path prefix or odd spelling), or null when it is.
 */
export function canonicalKeyProblem(key: string, decoded: SubnetKey): string | null {
  if (decoded.ipv6 !== null) return `has an IPv6 part (${decoded.ipv6.address}-${decoded.ipv6.prefixLen}): IPv6 is not supported yet`;
  if (decoded.subnet.ip !== decoded.subnet.network) {
    return `has host bits set: the subnet key must name the network address (${formatSubnetKey(makeCidr(decoded.subnet.network, decoded.subnet.prefixLen))})`;
  }
  const canonical = formatSubnetKey(decoded.subnet);
  return key === canonical ? null : `is not in canonical form (${canonical})`;
}
