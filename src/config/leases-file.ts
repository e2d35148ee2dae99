// SPDX-License-Identifier: Apache-2.0
/**
 * The static leases file (static-lease mode): one JSON object mapping subnet keys to
 * flannel lease values, i.e. what an etcd `<prefix>/subnets/` listing holds:
 *
 *   {"10.244.1.0-24":{"PublicIP":"192.168.50.1","BackendType":"vxlan",
 *                     "BackendData":{"VNI":1,"VtepMAC":"02:aa:00:00:00:01"}}}
 *
 * parseLeasesFile never throws for a bad entry: it returns the good leases and one
 * problem per bad entry, so the caller can refuse the whole file at startup (exit 2) and,
 * on a later reload, keep the good entries and log the rest.
 *
 * Design notes (decisions):
 * - Conflicts (overlapping subnets, a shared PublicIP or VtepMAC) make *every* entry
 *   involved a problem, even when the other entry is refused for another reason: nothing
 *   in a JSON object says which one is right, and sending a subnet's traffic to the wrong
 *   node is worse than not sending it. Each entry reports its first problem only.
 * - A lease VNI different from net-conf's Backend.VNI is a problem, not a warning: flanneld
 *   ignores the lease VNI, but every node sends with its own configured VNI, so a mismatch
 *   means the peer's kernel drops our packets (and we drop theirs). The 16-bit value
 *   flanneld publishes for a VNI above 65535 (see lease.ts) counts as a match.
 * - SubnetMin/SubnetMax are not enforced: they steer allocation, and a static file is an
 *   explicit assignment (flanneld's reservations are not range-checked either).
 */
import { containsCidr, formatCidr, formatIpv4, lastAddress } from './cidr.js';
import { ConfigError, describeValue } from './errors.js';
import { isJsonObject, parseJsonText } from './json.js';
import { leaseFromValue, type Lease } from './lease.js';
import type { NetConfig } from './netconf.js';

/** One rejected entry: its subnet key and the reason (message names file, key and value). */
export interface LeaseProblem {
  readonly key: string;
  readonly message: string;
  readonly error: ConfigError;
}

/** parseLeasesFile's result: good leases in file order, and the rejected entries. */
export interface LeasesFileResult {
  readonly leases: Lease[];
  readonly problems: LeaseProblem[];
}

/**
 * parseLeasesFile parses the leases file `path` with content `text` against `netconf`.
 * Throws ConfigError only when the text is not a JSON object at all (no entry can be
 * trusted); every per-entry problem is returned in `problems` instead.
 */
export function parseLeasesFile(path: string, text: string, netconf: NetConfig): LeasesFileResult {
  const doc = parseJsonText(path, text);
  if (!isJsonObject(doc)) {
    throw new ConfigError(path, '(top level)', describeValue(doc), 'is not a JSON object mapping subnet keys to lease values');
  }
  const bad = new Map<string, ConfigError>();
  const fail = (key: string, err: ConfigError): void => {
    if (!bad.has(key)) bad.set(key, err);
  };
  const decoded: Lease[] = [];
  for (const [key, value] of Object.entries(doc)) {
    let lease: Lease;
    try {
      lease = leaseFromValue(key, value, path);
    } catch (err) {
      if (err instanceof ConfigError) { fail(key, err); continue; }
      throw err;
    }
    decoded.push(lease);
    const net = netconf.network;
    if (!containsCidr(net, lease.subnet)) {
      fail(key, new ConfigError(path, key, JSON.stringify(key), `is not inside Network ${formatCidr(net)}`));
    } else if (lease.subnet.prefixLen !== netconf.subnetLen) {
      fail(key, new ConfigError(path, key, JSON.stringify(key), `has prefix length /${lease.subnet.prefixLen}, but SubnetLen is ${netconf.subnetLen}`));
    } else if (lease.vni !== netconf.backend.vni && lease.vni !== (netconf.backend.vni & 0xffff)) {
      fail(key, new ConfigError(path, `${key}/BackendData.VNI`, String(lease.vni),
        `differs from Backend.VNI ${netconf.backend.vni} in net-conf: the node's packets would be dropped (the VNI must be the same cluster-wide)`));
    }
  }

  // Conflicts are checked among all decoded entries, even ones already refused for another
  // reason: the file still claims the subnet/address/MAC for two entries.
  const conflict = (a: Lease, b: Lease, field: string, value: (l: Lease) => string, what: string): void => {
    for (const [x, y] of [[a, b], [b, a]] as const) {
      fail(x.key, new ConfigError(path, field ? `${x.key}/${field}` : x.key, value(x), `${what} of entry ${JSON.stringify(y.key)}`));
    }
  };
  const byIp = new Map<number, Lease>();
  const byMac = new Map<string, Lease>();
  for (const l of decoded) {
    const ipOwner = byIp.get(l.publicIp);
    if (ipOwner) conflict(ipOwner, l, 'PublicIP', (x) => JSON.stringify(formatIpv4(x.publicIp)), 'is also the PublicIP');
    else byIp.set(l.publicIp, l);
    const macOwner = byMac.get(l.vtepMac);
    if (macOwner) conflict(macOwner, l, 'BackendData.VtepMAC', (x) => JSON.stringify(x.vtepMac), 'is also the VtepMAC');
    else byMac.set(l.vtepMac, l);
  }
  // Prefixes are nested or disjoint: sorted by address (shorter first), each one overlaps
  // exactly the chain of enclosing prefixes still open on the stack.
  const sorted = [...decoded].sort((a, b) => a.subnet.network - b.subnet.network || a.subnet.prefixLen - b.subnet.prefixLen);
  const open: Lease[] = [];
  for (const l of sorted) {
    while (open.length > 0 && lastAddress(open[open.length - 1]!.subnet) < l.subnet.network) open.pop();
    const outer = open[open.length - 1];
    if (outer) conflict(outer, l, '', (x) => JSON.stringify(x.key), 'overlaps the subnet');
    open.push(l);
  }

  const leases = decoded.filter((l) => !bad.has(l.key));
  const order = new Map(Object.keys(doc).map((k, i) => [k, i]));
  const problems = [...bad]
    .sort(([a], [b]) => (order.get(a) ?? 0) - (order.get(b) ?? 0))
    .map(([key, error]) => ({ key, message: error.message, error }));
  return { leases, problems };
}

/**
 * ownLease returns the lease whose PublicIP is `publicIp` (this node's), or throws a
 * ConfigError `no lease in <file> has PublicIP <ip>`.
 */
export function ownLease(leases: readonly Lease[], publicIp: number, file: string): Lease {
  const own = leases.find((l) => l.publicIp === publicIp);
  if (own !== undefined) return own;
  const ip = formatIpv4(publicIp);
  throw new ConfigError(file, 'PublicIP', ip, 'matches no lease',
    `no lease in ${file} has PublicIP ${ip} (this node's --public-ip or the address of its external interface)`);
}
