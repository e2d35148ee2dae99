// SPDX-License-Identifier: Apache-2.0
/**
 * The one place leases reach the dataplane: each snapshot from the SubnetManager becomes
 * a SubnetTable.replace() (remote leases only), and the change is logged as added /
 * removed / changed subnet keys.
 */
import type { Lease } from '../config/lease.js';
import type { SubnetTable } from '../dataplane/table.js';
import { remotePeers } from './peer-lease.js';
import type { Logger } from './log.js';

export function leaseSync(table: SubnetTable, own: Lease, log: Logger): (leases: readonly Lease[]) => void {
  let current = new Map<string, string>();
  return (leases) => {
    const remote = leases.filter((l) => l.key !== own.key);
    const next = new Map(remote.map((l) => [l.key, `${l.publicIp}/${l.vtepMac}`]));
    const added = [...next.keys()].filter((k) => !current.has(k));
    const removed = [...current.keys()].filter((k) => !next.has(k));
    const changed = [...next.keys()].filter((k) => current.has(k) && current.get(k) !== next.get(k));
    table.replace(remotePeers(remote, own));
    current = next;
    if (added.length + removed.length + changed.length > 0) log.info({ added, removed, changed, peers: remote.length }, 'leases updated');
  };
}
