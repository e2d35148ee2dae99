// SPDX-License-Identifier: Apache-2.0
/**
 * A Peer is one remote VTEP as the hot path needs it: numbers and bytes only, plus the
 * counters status and metrics read. One object per remote lease; its shape never changes
 * after construction so property access stays monomorphic.
 */

/** What the dataplane needs from a lease. */
export interface PeerLease {
  /** flannel's subnet key, e.g. '10.244.2.0-24' (identity across table updates). */
  key: string;
  /** Subnet network address, uint32. */
  network: number;
  prefixLen: number;
  /** The lease's PublicIP (outer destination), uint32. */
  publicIp: number;
  /** The lease's VtepMAC (inner destination MAC), 6 bytes. */
  vtepMac: Uint8Array;
}

export class Peer {
  readonly key: string;
  /** int32 network address (already masked). */
  readonly network: number;
  readonly prefixLen: number;
  /** int32 netmask. */
  readonly mask: number;
  /** uint32 PublicIP. */
  readonly publicIp: number;
  readonly vtepMac: Uint8Array;
  /** The VtepMAC as bytes 0-3 (int32) and 4-5 (uint16), for word writes on the hot path. */
  readonly macHi: number;
  readonly macLo: number;
  txPackets = 0;
  txBytes = 0;
  rxPackets = 0;
  rxBytes = 0;
  /** Date.now() of the last packet received from this peer (0 = never). */
  lastRx = 0;

  constructor(lease: PeerLease) {
    if (lease.vtepMac.length !== 6) throw new RangeError(`lease ${lease.key}: VtepMAC must be 6 bytes`);
    if (!Number.isInteger(lease.prefixLen) || lease.prefixLen < 0 || lease.prefixLen > 32) throw new RangeError(`lease ${lease.key}: prefix length ${lease.prefixLen}`);
    this.key = lease.key;
    this.prefixLen = lease.prefixLen;
    this.mask = lease.prefixLen === 0 ? 0 : (0xffffffff << (32 - lease.prefixLen)) | 0;
    this.network = lease.network & this.mask;
    this.publicIp = lease.publicIp >>> 0;
    this.vtepMac = Uint8Array.from(lease.vtepMac);
    const m = this.vtepMac;
    this.macHi = (m[0]! << 24) | (m[1]! << 16) | (m[2]! << 8) | m[3]!;
    this.macLo = (m[4]! << 8) | m[5]!;
  }

  /** True when `lease` describes exactly this peer (same subnet, PublicIP and MAC). */
  sameLease(lease: PeerLease): boolean {
    if (lease.key !== this.key || lease.publicIp >>> 0 !== this.publicIp || lease.prefixLen !== this.prefixLen) return false;
    if ((lease.network & this.mask) !== this.network) return false;
    for (let i = 0; i < 6; i++) if (lease.vtepMac[i] !== this.vtepMac[i]) return false;
    return true;
  }

  /** Carries counters over from the peer this one replaces (same subnet, changed lease). */
  inheritCounters(prev: Peer): void {
    this.txPackets = prev.txPackets;
    this.txBytes = prev.txBytes;
    this.rxPackets = prev.rxPackets;
    this.rxBytes = prev.rxBytes;
    this.lastRx = prev.lastRx;
  }
}
