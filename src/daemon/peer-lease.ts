// SPDX-License-Identifier: Apache-2.0
/** The one conversion from the control plane's Lease to what the dataplane table holds. */
import type { Lease } from '../config/lease.js';
import type { PeerLease } from '../dataplane/table.js';
import { parseMac } from '../packet/ethernet.js';

export function peerLeaseOf(lease: Lease): PeerLease {
  return {
    key: lease.key,
    network: lease.subnet.ip,
    prefixLen: lease.subnet.prefixLen,
    publicIp: lease.publicIp,
    vtepMac: parseMac(lease.vtepMac),
  };
}

/** Remote leases only: every lease but ours (same subnet key), as table entries. */
export function remotePeers(leases: readonly Lease[], own: Lease): PeerLease[] {
  return leases.filter((l) => l.key !== own.key).map(peerLeaseOf);
}
