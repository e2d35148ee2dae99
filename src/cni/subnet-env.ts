// SPDX-License-Identifier: Apache-2.0
/**
 * What flannel's CNI plugin reads from subnet.env (loadFlannelSubnetEnv). The file is
 * parsed by src/config/subnet-env.ts (readSubnetEnv/parseEnv, the same reader vxtun run
 * uses); this module only interprets the keys the way the plugin does:
 *
 * - FLANNEL_NETWORK / FLANNEL_IPV6_NETWORK: comma-separated CIDRs, each reduced to its
 *   network (net.ParseCIDR), duplicates dropped; one delegate route per entry.
 * - FLANNEL_SUBNET / FLANNEL_IPV6_SUBNET: one CIDR, reduced to its network
 *   (10.244.1.1/24 → 10.244.1.0/24): the host-local range.
 * - FLANNEL_MTU: an unsigned 32-bit decimal.  FLANNEL_IPMASQ: true only for exactly "true".
 * - Required: (FLANNEL_NETWORK or FLANNEL_IPV6_NETWORK) and (FLANNEL_SUBNET or
 *   FLANNEL_IPV6_SUBNET) and FLANNEL_MTU and FLANNEL_IPMASQ, else
 *   "<file> is missing <keys>" with flannel's key list.
 *
 * Contract (error codes): file absent → 11 (try again later: the file appears once
 * the node holds a lease), other read errors → 5, bad or missing values → 6. Every
 * message starts "loadFlannelSubnetEnv failed: " as flannel's does and names the file.
 */
import { readSubnetEnv } from '../config/subnet-env.js';
import { CniCode, CniError } from './errors.js';
import { networkOf, parseIpNet, sameIpNet, type IpNet } from './ipnet.js';

/** The decoded subnet.env. Prefixes are networks (host bits cleared). */
export interface FlannelSubnetEnv {
  readonly networks: readonly IpNet[];
  readonly subnet: IpNet | undefined;
  readonly ip6Networks: readonly IpNet[];
  readonly ip6Subnet: IpNet | undefined;
  readonly mtu: number;
  readonly ipMasq: boolean;
}

const PREFIX = 'loadFlannelSubnetEnv failed: ';

function bad(file: string, key: string, reason: string): CniError {
  return new CniError(CniCode.DecodingFailure, `${PREFIX}${file}: ${key}: ${reason}`);
}

function cidr(file: string, key: string, s: string): IpNet {
  const n = parseIpNet(s);
  if (n === null) throw bad(file, key, `invalid CIDR address: ${s}`);
  return networkOf(n);
}

function cidrList(file: string, key: string, s: string): IpNet[] {
  const out: IpNet[] = [];
  for (const part of s.split(',')) {
    const n = cidr(file, key, part);
    if (!out.some((o) => sameIpNet(o, n))) out.push(n);
  }
  return out;
}

/**
 * decodeSubnetEnv interprets parsed subnet.env entries (`file` is only for messages).
 * Throws CniError 6 for a malformed value or missing keys.
 */
export function decodeSubnetEnv(file: string, env: ReadonlyMap<string, string>): FlannelSubnetEnv {
  const get = (k: string): string | undefined => env.get(k);
  const nw = get('FLANNEL_NETWORK');
  const sn = get('FLANNEL_SUBNET');
  const nw6 = get('FLANNEL_IPV6_NETWORK');
  const sn6 = get('FLANNEL_IPV6_SUBNET');
  const mtuText = get('FLANNEL_MTU');
  const masqText = get('FLANNEL_IPMASQ');

  const networks = nw === undefined ? [] : cidrList(file, 'FLANNEL_NETWORK', nw);
  const subnet = sn === undefined ? undefined : cidr(file, 'FLANNEL_SUBNET', sn);
  const ip6Networks = nw6 === undefined ? [] : cidrList(file, 'FLANNEL_IPV6_NETWORK', nw6);
  const ip6Subnet = sn6 === undefined ? undefined : cidr(file, 'FLANNEL_IPV6_SUBNET', sn6);
  let mtu: number | undefined;
  if (mtuText !== undefined) {
    if (!/^\d+$/.test(mtuText) || Number(mtuText) > 0xffffffff) {
      throw bad(file, 'FLANNEL_MTU', `${JSON.stringify(mtuText)} is not an unsigned 32-bit decimal integer`);
    }
    mtu = Number(mtuText);
  }

  const missing: string[] = [];
  if (networks.length === 0 && ip6Networks.length === 0) missing.push('FLANNEL_NETWORK', 'FLANNEL_IPV6_NETWORK');
  if (subnet === undefined && ip6Subnet === undefined) missing.push('FLANNEL_SUBNET', 'FLANNEL_IPV6_SUBNET');
  if (mtu === undefined) missing.push('FLANNEL_MTU');
  if (masqText === undefined) missing.push('FLANNEL_IPMASQ');
  if (missing.length > 0 || mtu === undefined) {
    throw new CniError(CniCode.DecodingFailure, `${PREFIX}${file} is missing ${missing.join(', ')}`);
  }
  return { networks, subnet, ip6Networks, ip6Subnet, mtu, ipMasq: masqText === 'true' };
}

/**
 * loadFlannelSubnetEnv reads and decodes `file`. Absent → CniError 11 with flannel's
 * text ("loadFlannelSubnetEnv failed: open <file>: no such file or directory"); any other
 * read error → CniError 5; content errors as decodeSubnetEnv.
 */
export async function loadFlannelSubnetEnv(file: string): Promise<FlannelSubnetEnv> {
  let env: Map<string, string> | null;
  try {
    env = await readSubnetEnv(file);
  } catch (err) {
    throw new CniError(CniCode.IoFailure, `${PREFIX}read ${file}: ${(err as Error).message}`);
  }
  if (env === null) {
    throw new CniError(CniCode.TryAgainLater, `${PREFIX}open ${file}: no such file or directory`,
      'subnet.env is written by flanneld (or vxtun run) once this node holds a subnet lease');
  }
  return decodeSubnetEnv(file, env);
}
