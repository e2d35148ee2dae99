// SPDX-License-Identifier: Apache-2.0
/**
 * flannel's lease value model (pkg/lease/lease.go LeaseAttrs + the vxlan BackendData) and
 * its exact JSON spelling, shared by the static leases file, etcd and kube managers.
 *
 * Design notes: stock flanneld nodes read what we publish, so serialization copies Go's
 * encoding/json output byte for byte: struct field order (PublicIP, PublicIPv6,
 * BackendType, BackendData), PublicIPv6 written as null (a nil pointer without omitempty),
 * BackendType/BackendData omitted when empty, VtepMAC in net.HardwareAddr.String() form
 * (lowercase, colon-separated), and the VNI cut to 16 bits: flanneld's vxlanLeaseAttrs
 * declares `VNI uint16` and publishes uint16(cfg.VNI), so a stock node fails to decode a
 * lease whose VNI exceeds 65535 and ignores that node (the lease VNI is informational; the
 * wire uses each node's configured VNI). Parsing is stricter than flanneld (which would accept a
 * missing PublicIP as 0.0.0.0 or a multicast VtepMAC): a bad lease programs a route or FDB
 * entry that silently blackholes traffic, so we refuse it and say why.
 */
import { formatIpv4, parseIpv4, type Cidr } from './cidr.js';
import { ConfigError, describeValue } from './errors.js';
import { isJsonObject, JsonFields, parseJsonText } from './json.js';
import { MAX_VNI } from './netconf.js';
import { canonicalKeyProblem, isSubnetKeyError, parseSubnetKey } from './subnet-key.js';

/** The vxlan backend's BackendData: `{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}`. */
export interface VxlanBackendData {
  readonly VNI: number;
  readonly VtepMAC: string;
}

/** flannel's LeaseAttrs, with the JSON field names. */
export interface LeaseAttrs {
  readonly PublicIP: string;
  readonly PublicIPv6: string | null;
  readonly BackendType?: string;
  readonly BackendData?: VxlanBackendData;
}

/** One vxlan lease: a node's subnet and how to reach its VTEP. */
export interface Lease {
  readonly subnet: Cidr;
  /** The subnet key as found (`10.244.1.0-24`). */
  readonly key: string;
  /** The node's underlay address (uint32). */
  readonly publicIp: number;
  readonly vni: number;
  /** Canonical lowercase `aa:bb:cc:dd:ee:ff`. */
  readonly vtepMac: string;
  readonly backendType: 'vxlan';
}

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

/**
 * macProblem returns why `s` is not a usable VTEP MAC (six colon-separated hex bytes,
 * unicast, not all zero), or null when it is fine.
 */
export function macProblem(s: string): string | null {
  if (!MAC.test(s)) return 'is not a MAC address (six colon-separated hex bytes, e.g. 02:aa:00:00:00:01)';
  if (parseInt(s.slice(0, 2), 16) & 1) return 'is a multicast MAC: a VTEP MAC must be unicast (bit 0 of the first byte clear)';
  if (/^(00:){5}00$/.test(s)) return 'is the all-zero MAC';
  return null;
}

/** canonicalMac lowercases a MAC that passed macProblem. */
export function canonicalMac(s: string): string {
  return s.toLowerCase();
}

/** unicastIpv4Problem returns why ip cannot be a node address (unspecified, multicast, broadcast), or null. */
export function unicastIpv4Problem(ip: number): string | null {
  if (ip === 0) return 'is the unspecified address';
  if (ip >>> 28 === 0xe) return 'is a multicast address';
  if (ip === 0xffffffff) return 'is the broadcast address';
  return null;
}

/**
 * leaseAttrs builds flannel's LeaseAttrs for a lease exactly as a vxlan flanneld
 * publishes it, including the VNI truncated to 16 bits (see the design notes).
 */
export function leaseAttrs(lease: Lease): LeaseAttrs {
  return {
    PublicIP: formatIpv4(lease.publicIp),
    PublicIPv6: null,
    BackendType: lease.backendType,
    BackendData: { VNI: lease.vni & 0xffff, VtepMAC: canonicalMac(lease.vtepMac) },
  };
}

/**
 * serializeLeaseValue renders LeaseAttrs exactly as flanneld's json.Marshal does, e.g.
 * `{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}`.
 */
export function serializeLeaseValue(attrs: LeaseAttrs): string {
  let s = `{"PublicIP":${JSON.stringify(attrs.PublicIP)},"PublicIPv6":${JSON.stringify(attrs.PublicIPv6)}`;
  if (attrs.BackendType) s += `,"BackendType":${JSON.stringify(attrs.BackendType)}`;
  if (attrs.BackendData) {
    const d = attrs.BackendData;
    s += `,"BackendData":{"VNI":${JSON.stringify(d.VNI)},"VtepMAC":${JSON.stringify(d.VtepMAC.toLowerCase())}}`;
  }
  return `${s}}`;
}

/** serializeLease is serializeLeaseValue(leaseAttrs(lease)). */
export function serializeLease(lease: Lease): string {
  return serializeLeaseValue(leaseAttrs(lease));
}

/**
 * parseLeaseValue decodes a subnet key and its JSON lease value (an etcd value, one entry
 * of the leases file) into a vxlan Lease. Throws ConfigError with file = `source` and key
 * = `<subnet key>/<field path>` (e.g. `10.244.1.0-24/BackendData.VtepMAC`).
 */
export function parseLeaseValue(key: string, json: string, source = 'lease'): Lease {
  return leaseFromValue(key, parseJsonText(`${source} ${key}`, json), source);
}

/**
 * leaseFromValue is parseLeaseValue for an already parsed JSON value. The key must decode
 * (flannel's codec) and be canonical; IPv6 parts are refused. Unknown fields are ignored
 * as flanneld ignores them.
 */
export function leaseFromValue(key: string, value: unknown, source = 'lease'): Lease {
  const decoded = parseSubnetKey(key);
  if (isSubnetKeyError(decoded)) throw new ConfigError(source, key, JSON.stringify(key), decoded.error);
  const keyProblem = canonicalKeyProblem(key, decoded);
  if (keyProblem !== null) throw new ConfigError(source, key, JSON.stringify(key), keyProblem);
  if (!isJsonObject(value)) throw new ConfigError(source, `${key}/`, describeValue(value), 'is not a JSON object (a lease value)');

  const f = new JsonFields(source, `${key}/`, value, ['PublicIP', 'PublicIPv6', 'BackendType', 'BackendData', 'BackendV6Data']);
  const ipText = f.string('PublicIP');
  if (ipText === undefined) throw f.error('PublicIP', undefined, 'is required');
  const publicIp = parseIpv4(ipText);
  if (publicIp === null) throw f.error('PublicIP', ipText, 'is not an IPv4 address');
  const ipProblem = unicastIpv4Problem(publicIp);
  if (ipProblem !== null) throw f.error('PublicIP', ipText, ipProblem);
  const v6 = f.raw('PublicIPv6');
  if (v6 !== undefined && typeof v6 !== 'string') throw f.error('PublicIPv6', v6, 'is not a string or null');

  const backendType = f.string('BackendType');
  if (backendType !== 'vxlan') {
    throw f.error('BackendType', backendType, 'is not "vxlan": vxtun reaches only vxlan nodes (flanneld ignores such leases too)');
  }
  const data = f.object('BackendData');
  if (data === undefined) throw f.error('BackendData', undefined, 'is required for a vxlan lease ({"VNI":1,"VtepMAC":"..."})');
  const d = new JsonFields(source, `${key}/BackendData.`, data, ['VNI', 'VtepMAC']);
  const vni = d.int('VNI', 0, MAX_VNI);
  if (vni === undefined) throw d.error('VNI', undefined, 'is required');
  const mac = d.string('VtepMAC');
  if (mac === undefined) throw d.error('VtepMAC', undefined, 'is required');
  const macErr = macProblem(mac);
  if (macErr !== null) throw d.error('VtepMAC', mac, macErr);

  return { subnet: decoded.subnet, key, publicIp, vni, vtepMac: canonicalMac(mac), backendType: 'vxlan' };
}
