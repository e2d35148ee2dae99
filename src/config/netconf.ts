// SPDX-License-Identifier: Apache-2.0
/**
 * flannel's network config (net-conf.json, or the etcd `<prefix>/config` value), parsed
 * exactly as flanneld's pkg/subnet/config.go and the vxlan backend read it, then narrowed
 * to what vxtun implements.
 *
 * Design notes:
 * - Same file, same meaning: keys match case-insensitively, unknown keys are ignored (and
 *   returned as warnings), Port 0 means the default, SubnetMin/SubnetMax "0.0.0.0" mean
 *   unset, a Network with host bits is accepted and canonicalised (Go's ParseCIDR).
 * - Where flanneld would silently do something vxtun cannot (a missing Backend means the
 *   "udp" backend in flanneld; IPv6; nftables; GBP; learning; DirectRouting) we refuse by
 *   name instead of running with different behaviour than the rest of the cluster.
 * - flanneld fills SubnetLen/SubnetMin/SubnetMax defaults and checks them only in etcd
 *   mode (CheckNetworkConfig). parseNetConfRaw + checkNetworkConfig keep that split so the
 *   kube manager can skip the check; parseNetConf does both (static and etcd modes).
 */
import { isIPv6 } from 'node:net';
import { canonicalCidr, cidrSize, contains, formatCidr, formatIpv4, makeCidr, parseCidr, parseIpv4, parseIpv6Cidr, prefixMask, type Cidr } from './cidr.js';
import { ConfigError, describeValue } from './errors.js';
import { isJsonObject, JsonFields, parseJsonText } from './json.js';

/** Default --net-config-path of flanneld in kube mode. */
export const DEFAULT_NET_CONF_PATH = '/etc/kube-flannel/net-conf.json';
/** Default Backend.VNI (flannel defaultVNI on Linux). */
export const DEFAULT_VNI = 1;
/** Default Backend.Port: the Linux vxlan module default, used when Port is 0 or absent. */
export const DEFAULT_VXLAN_PORT = 8472;
/** Largest VNI (24 bits). */
export const MAX_VNI = 0xffffff;
/** Bytes VXLAN adds to an inner IPv4 packet: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;
/** Smallest Backend.MTU accepted: IPv4's minimum MTU (68) plus the encapsulation. */
export const MIN_BACKEND_MTU = 68 + VXLAN_OVERHEAD;

const TOP_KEYS = ['Network', 'IPv6Network', 'EnableIPv4', 'EnableIPv6', 'EnableNFTables', 'SubnetLen', 'SubnetMin', 'SubnetMax',
  'IPv6SubnetLen', 'IPv6SubnetMin', 'IPv6SubnetMax', 'Backend'] as const;
const VXLAN_KEYS = ['Type', 'VNI', 'Port', 'MTU', 'GBP', 'Learning', 'DirectRouting'] as const;

/** The vxlan backend settings vxtun implements. `mtu` is the underlay MTU override. */
export interface VxlanBackendConfig {
  readonly type: 'vxlan';
  readonly vni: number;
  readonly port: number;
  readonly mtu?: number;
}

/** A parsed config before flannel's subnet defaults: unset SubnetLen/Min/Max are undefined. */
export interface RawNetConfig {
  /** Network, host bits cleared. */
  readonly network: Cidr;
  readonly subnetLen?: number;
  readonly subnetMin?: number;
  readonly subnetMax?: number;
  readonly backend: VxlanBackendConfig;
  /** Ignored keys, one message each (`<file>: <key>: unknown key, ignored ...`). */
  readonly warnings: readonly string[];
}

/** A checked config: SubnetLen/Min/Max defaulted and validated as flannel's CheckNetworkConfig does. */
export interface NetConfig extends RawNetConfig {
  readonly subnetLen: number;
  readonly subnetMin: number;
  readonly subnetMax: number;
}

/** parseNetConf parses and checks `text`, the content of `file`. Throws ConfigError. */
export function parseNetConf(file: string, text: string): NetConfig {
  return checkNetworkConfig(file, parseNetConfRaw(file, text));
}

function refuse(f: JsonFields, key: string, value: unknown, reason: string): never {
  throw f.error(key, value, reason);
}

/**
 * parseNetConfRaw parses `text` without flannel's subnet defaults/checks (kube mode).
 * Throws ConfigError for bad JSON, wrong types, and settings vxtun does not implement.
 */
export function parseNetConfRaw(file: string, text: string): RawNetConfig {
  const doc = parseJsonText(file, text);
  if (!isJsonObject(doc)) throw new ConfigError(file, '(top level)', describeValue(doc), 'is not a JSON object');
  const f = new JsonFields(file, '', doc, TOP_KEYS);

  // Parse the IPv6 keys as flanneld would (a malformed one fails there too), then refuse IPv6.
  const v6net = f.string('IPv6Network');
  if (v6net !== undefined && parseIpv6Cidr(v6net) === null) refuse(f, 'IPv6Network', v6net, 'is not an IPv6 CIDR');
  f.int('IPv6SubnetLen', 0, 128);
  for (const k of ['IPv6SubnetMin', 'IPv6SubnetMax']) {
    const v = f.string(k);
    if (v !== undefined && !isIPv6(v)) refuse(f, k, v, 'is not an IPv6 address');
  }
  if (f.bool('EnableIPv6') === true) {
    refuse(f, 'EnableIPv6', true, 'is not supported: vxtun implements IPv4 only (IPv6 is not supported yet); set EnableIPv6 to false');
  }
  if (f.bool('EnableIPv4') === false) {
    refuse(f, 'EnableIPv4', false, 'is not supported: vxtun needs an IPv4 Network (IPv6-only is not supported); set EnableIPv4 to true');
  }
  if (f.bool('EnableNFTables') === true) {
    refuse(f, 'EnableNFTables', true, 'is not supported: vxtun does not implement the nftables traffic manager; set EnableNFTables to false');
  }

  const netText = f.string('Network');
  if (netText === undefined) refuse(f, 'Network', undefined, 'is required when EnableIPv4 is true (an IPv4 CIDR such as "10.244.0.0/16")');
  const parsed = parseCidr(netText);
  if (parsed === null) refuse(f, 'Network', netText, 'is not an IPv4 CIDR (such as "10.244.0.0/16")');
  const network = canonicalCidr(parsed);

  const subnetLen = f.int('SubnetLen', 0, 32);
  const [subnetMin, subnetMax] = ['SubnetMin', 'SubnetMax'].map((k) => {
    const v = f.string(k);
    if (v === undefined) return undefined;
    const ip = parseIpv4(v);
    if (ip === null) refuse(f, k, v, 'is not an IPv4 address');
    return ip === 0 ? undefined : ip; // flannel: 0.0.0.0 means "not set"
  });

  const be = f.object('Backend');
  if (be === undefined) {
    refuse(f, 'Backend', undefined, 'is required: without it flanneld would use its "udp" backend, but vxtun implements the vxlan backend; set Backend.Type to "vxlan"');
  }
  const b = new JsonFields(file, 'Backend.', be, VXLAN_KEYS);
  const type = b.string('Type');
  if (type?.toLowerCase() !== 'vxlan') {
    refuse(b, 'Type', type, 'is not supported: vxtun implements the vxlan backend; set Backend.Type to "vxlan"');
  }
  const vni = b.int('VNI', 0, MAX_VNI) ?? DEFAULT_VNI;
  const port = b.int('Port', 0, 65535) || DEFAULT_VXLAN_PORT;
  const mtu = b.int('MTU', 0, 65535) || undefined;
  if (mtu !== undefined && mtu < MIN_BACKEND_MTU) {
    refuse(b, 'MTU', mtu, `is below ${MIN_BACKEND_MTU} (IPv4's minimum MTU 68 plus ${VXLAN_OVERHEAD} bytes of VXLAN encapsulation)`);
  }
  if (b.bool('GBP') === true) refuse(b, 'GBP', true, 'is not supported (VXLAN Group Based Policy); set it to false');
  if (b.bool('Learning') === true) {
    refuse(b, 'Learning', true, 'is not supported: vxtun programs peers from leases and never learns them; set it to false');
  }
  if (b.bool('DirectRouting') === true) refuse(b, 'DirectRouting', true, 'is not supported yet; set it to false');

  const warnings = [...f.unknown, ...b.unknown].map((k) => `${file}: ${k}: unknown key, ignored (flanneld ignores it too)`);
  if (parsed.ip !== parsed.network) {
    warnings.push(`${file}: Network: ${JSON.stringify(netText)} has host bits set; using ${formatCidr(network)} (as flanneld does)`);
  }
  const backend: VxlanBackendConfig = mtu === undefined ? { type: 'vxlan', vni, port } : { type: 'vxlan', vni, port, mtu };
  return {
    network,
    ...(subnetLen ? { subnetLen } : {}),
    ...(subnetMin !== undefined ? { subnetMin } : {}),
    ...(subnetMax !== undefined ? { subnetMax } : {}),
    backend,
    warnings,
  };
}

/**
 * checkNetworkConfig fills SubnetLen/SubnetMin/SubnetMax defaults and applies flannel's
 * CheckNetworkConfig rules: SubnetLen = 24 when Network is /22 or bigger, else prefix+2;
 * Network no smaller than /28; SubnetLen ≤ 30 and ≥ prefix+2; SubnetMin defaults to the
 * second subnet (the first is skipped), SubnetMax to the last; both inside Network and
 * aligned to SubnetLen. Throws ConfigError naming the key.
 */
export function checkNetworkConfig(file: string, raw: RawNetConfig): NetConfig {
  const net = raw.network;
  const err = (key: string, value: unknown, reason: string): ConfigError => new ConfigError(file, key, describeValue(value), reason);
  let subnetLen = raw.subnetLen;
  if (subnetLen !== undefined) {
    if (subnetLen > 30) throw err('SubnetLen', subnetLen, 'must be at most 30 (each host subnet needs room for a tunnel and a bridge address)');
    if (subnetLen < net.prefixLen + 2) {
      throw err('SubnetLen', subnetLen, `must be at least ${net.prefixLen + 2}, so that Network ${formatCidr(net)} holds at least four subnets`);
    }
  } else {
    if (net.prefixLen > 28) throw err('Network', formatCidr(net), 'is too small: the smallest usable Network is a /28');
    subnetLen = net.prefixLen <= 22 ? 24 : net.prefixLen + 2;
  }
  const size = 2 ** (32 - subnetLen);
  const mask = prefixMask(subnetLen);
  const pick = (key: 'SubnetMin' | 'SubnetMax', given: number | undefined, dflt: number): number => {
    if (given === undefined) return dflt;
    if (!contains(net, given)) throw err(key, formatIpv4(given), `is not inside Network ${formatCidr(net)}`);
    if (((given & mask) >>> 0) !== given) throw err(key, formatIpv4(given), `is not on a /${subnetLen} boundary (SubnetLen)`);
    return given;
  };
  const subnetMin = pick('SubnetMin', raw.subnetMin, net.network + size);
  const subnetMax = pick('SubnetMax', raw.subnetMax, net.network + cidrSize(net) - size);
  return { ...raw, subnetLen, subnetMin, subnetMax };
}

/** subnetRangeOf returns SubnetMin and SubnetMax as /SubnetLen prefixes (for logs and status). */
export function subnetRangeOf(cfg: NetConfig): { min: Cidr; max: Cidr } {
  return { min: makeCidr(cfg.subnetMin, cfg.subnetLen), max: makeCidr(cfg.subnetMax, cfg.subnetLen) };
}

/**
 * overlayMtu is FLANNEL_MTU and the TUN MTU: Backend.MTU if set, else the external
 * interface MTU, minus the 50 bytes of VXLAN encapsulation (flannel vxlan_network.go).
 */
export function overlayMtu(cfg: RawNetConfig, externalMtu: number): number {
  return (cfg.backend.mtu ?? externalMtu) - VXLAN_OVERHEAD;
}
