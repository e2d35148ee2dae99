// SPDX-License-Identifier: Apache-2.0
/**
 * From the keys under `<prefix>/subnets/` to the leases the dataplane may use. The same
 * checks as the static leases file (parseLeasesFile: lease value format, inside Network,
 * SubnetLen, VNI, and conflicts: overlapping subnets, a shared PublicIP or VtepMAC), plus
 * JSON that does not parse. Entries are first checked one by one, so an entry refused for
 * itself never knocks out the entries it overlaps; conflicts are judged among the rest.
 * One rule on top: our own lease is authoritative. It is
 * always in the result as we acquired it, and whatever conflicts with it (another key
 * with our PublicIP, a subnet overlapping ours, our key rewritten with another PublicIP)
 * is left out and reported.
 */
import { formatIpv4 } from '../../config/cidr.js';
import { leaseAttrs, type Lease } from '../../config/lease.js';
import { parseLeasesFile } from '../../config/leases-file.js';
import type { NetConfig } from '../../config/netconf.js';
import { looseValue } from './acquire.js';
import type { SubnetEntry } from './registry.js';

/** One entry left out: its subnet key and why. */
export interface EntryProblem {
  readonly key: string;
  readonly message: string;
}

export interface Snapshot {
  /** Our lease first, then the valid others in key order. */
  readonly leases: Lease[];
  readonly problems: EntryProblem[];
}

/**
 * snapshotLeases validates `entries` against `netconf` and our lease `own` (whose stored
 * value we wrote is `ownValue`). `source` names the store in messages
 * (`etcd /coreos.com/network/subnets/`). Never throws for bad entries.
 */
export function snapshotLeases(entries: Iterable<SubnetEntry>, own: Lease, ownValue: string, netconf: NetConfig, source: string): Snapshot {
  const problems: EntryProblem[] = [];
  const doc: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  doc[own.key] = leaseAttrs(own);
  for (const e of entries) {
    if (e.key === own.key) {
      if (e.value !== ownValue) {
        const ip = looseValue(e.value).publicIp;
        if (ip !== own.publicIp) {
          problems.push({ key: e.key, message: `${source}: ${e.key}: our subnet is claimed by PublicIP ${ip === null ? '(unreadable)' : formatIpv4(ip)}; keeping our lease (PublicIP ${formatIpv4(own.publicIp)})` });
        } else {
          problems.push({ key: e.key, message: `${source}: ${e.key}: our lease was rewritten by someone else (${e.value}); keeping ours until it is renewed` });
        }
      }
      continue;
    }
    try {
      doc[e.key] = JSON.parse(e.value) as unknown;
    } catch (err) {
      problems.push({ key: e.key, message: `${source}: ${e.key}: value is not JSON (${(err as Error).message}): ${e.value.slice(0, 80)}` });
    }
  }
  // Each entry on its own first, so an entry refused for itself (a /16 key, a bad MAC)
  // cannot knock out the entries it would conflict with; then conflicts among the rest.
  for (const key of Object.keys(doc)) {
    if (key === own.key) continue;
    const alone = parseLeasesFile(source, JSON.stringify({ [key]: doc[key] }), netconf);
    const p = alone.problems[0];
    if (p !== undefined) {
      problems.push({ key, message: p.message });
      delete doc[key];
    }
  }
  const parsed = parseLeasesFile(source, JSON.stringify(doc), netconf);
  for (const p of parsed.problems) {
    if (p.key === own.key) continue;
    const msg = p.message.replace(new RegExp(`of entry "${escape(own.key)}"`), `of our own lease ${own.key}`);
    problems.push({ key: p.key, message: msg });
  }
  const others = parsed.leases.filter((l) => l.key !== own.key);
  return { leases: [own, ...others], problems };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Remembers which problems were already logged, so a bad entry is reported when it
 * appears or its problem changes, not on every snapshot.
 */
export class ProblemLog {
  #seen = new Map<string, string>();

  /** The problems not reported yet; forgets entries that are fine now. */
  fresh(problems: readonly EntryProblem[]): EntryProblem[] {
    const next = new Map(problems.map((p) => [p.key, p.message]));
    const out = problems.filter((p) => this.#seen.get(p.key) !== p.message);
    this.#seen = next;
    return out;
  }
}
