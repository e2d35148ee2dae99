// SPDX-License-Identifier: Apache-2.0
/**
 * The static subnet manager: leases come from a JSON file in flannel's etcd layout (subnet
 * key → lease value), so no etcd is needed. The file is watched: every change is parsed,
 * bad entries are reported and skipped, and the remaining remote leases replace the
 * dataplane table in one step (traffic to unchanged peers is never interrupted).
 *
 * Design note. Our own lease is fixed at start: changing our subnet or VtepMAC under a
 * running node would strand the pods and peers that already use them, so such an edit is
 * reported and ignored until the next start. A deleted or unreadable file keeps the last
 * good table, as flanneld keeps forwarding when its store is unreachable.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { ownLease, parseLeasesFile } from '../config/leases-file.js';
import type { Lease } from '../config/lease.js';
import type { NetConfig } from '../config/netconf.js';
import { watchFile } from '../config/file-watch.js';
import type { SubnetTable } from '../dataplane/table.js';
import { remotePeers } from './peer-lease.js';
import type { Logger } from './log.js';

export interface StaticLeases {
  readonly own: Lease;
  /** Remote leases currently in the table. */
  readonly remote: readonly Lease[];
}

/** Reads the file at start; any problem is fatal here (exit 2, naming file, key and value). */
export function loadStaticLeases(path: string, netconf: NetConfig, publicIp: number): { own: Lease; leases: Lease[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, '(file)', path, `cannot be read: ${(err as Error).message}`);
  }
  const { leases, problems } = parseLeasesFile(path, text, netconf);
  if (problems.length > 0) throw problems[0]!.error;
  return { own: ownLease(leases, publicIp, path), leases };
}

export interface WatchStaticLeasesOptions {
  path: string;
  netconf: NetConfig;
  own: Lease;
  table: SubnetTable;
  log: Logger;
  /** Called after each applied change with the new remote leases. */
  onApplied?: (remote: readonly Lease[]) => void;
  intervalMs?: number;
}

/** Keeps `table` in step with the file; returns stop(). */
export function watchStaticLeases(o: WatchStaticLeasesOptions): () => void {
  let current = new Map<string, string>();
  const apply = (text: string | null): void => {
    if (text === null) {
      o.log.warn({ file: o.path }, 'leases file is gone; keeping the last known leases');
      return;
    }
    let parsed;
    try {
      parsed = parseLeasesFile(o.path, text, o.netconf);
    } catch (err) {
      o.log.error({ file: o.path, err: (err as Error).message }, 'leases file unreadable; keeping the last known leases');
      return;
    }
    for (const p of parsed.problems) o.log.error({ file: o.path, key: p.key }, `ignoring lease: ${p.message}`);
    const mine = parsed.leases.find((l) => l.key === o.own.key);
    if (mine === undefined || mine.publicIp !== o.own.publicIp || mine.vtepMac !== o.own.vtepMac) {
      o.log.error({ file: o.path, key: o.own.key }, 'our own lease was removed or changed in the file; keeping the one we started with until restart');
    }
    const remote = parsed.leases.filter((l) => l.key !== o.own.key && l.publicIp !== o.own.publicIp);
    const next = new Map(remote.map((l) => [l.key, `${l.publicIp}/${l.vtepMac}`]));
    const added = [...next.keys()].filter((k) => !current.has(k));
    const removed = [...current.keys()].filter((k) => !next.has(k));
    const changed = [...next.keys()].filter((k) => current.has(k) && current.get(k) !== next.get(k));
    o.table.replace(remotePeers(remote, o.own));
    current = next;
    if (added.length + removed.length + changed.length > 0) {
      o.log.info({ file: o.path, added, removed, changed, peers: remote.length }, 'leases updated');
    }
    o.onApplied?.(remote);
  };
  // The first read applies the table; later reads apply changes.
  let initial: string | null = null;
  try {
    initial = readFileSync(o.path, 'utf8');
  } catch {
    initial = null;
  }
  apply(initial);
  return watchFile(o.path, apply, {
    initial,
    intervalMs: o.intervalMs ?? 250,
    onError: (err) => o.log.error({ file: o.path, err: err.message }, 'watching the leases file failed'),
  });
}
