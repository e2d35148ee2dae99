// SPDX-License-Identifier: Apache-2.0
/**
 * SubnetTable: which remote VTEP owns a destination, and which lease a sender holds.
 *
 * Design note. Leases in a flannel cluster all share one prefix length (SubnetLen), so a
 * longest-prefix match is, in practice, a single exact-match hash lookup of `dst & mask`.
 * The table keeps one Map per distinct prefix length, probed longest first: one probe in
 * the common case, at most 33 in the worst. An lru-cache front (exact address → peer) is
 * switched on only when the table holds more than one prefix length, which is where it
 * saves probes; with one length it would only add work (see bench/cases/table.ts and
 * the README's figures). Keys are signed 32-bit integers (`x | 0`) so the hot path never
 * needs `>>> 0`.
 *
 * Updates are copy-on-write: replace() builds new maps and swaps them in, so a lookup in
 * flight never sees a half-built table. Peer objects survive an update when their lease
 * did not change, keeping their counters.
 */
import { LRUCache } from 'lru-cache';
import { Peer, type PeerLease } from './peer.js';

export { Peer, type PeerLease } from './peer.js';

const NO_PEER: Peer | undefined = undefined;

export class SubnetTable {
  #byLength: Map<number, Peer>[] = [];
  #lengths: number[] = [];
  #masks: number[] = [];
  /** The only map and its mask when every lease has one prefix length (the flannel case). */
  #single: Map<number, Peer> | null = null;
  #singleMask = 0;
  #byPublicIp = new Map<number, Peer>();
  #peers: Peer[] = [];
  #front: LRUCache<number, Peer> | null = null;
  readonly #frontSize: number;
  /** Increments on every replace(); lets observers notice changes cheaply. */
  generation = 0;

  /** @param frontSize entries in the lru-cache front used when prefix lengths differ (0 = never). */
  constructor(frontSize = 4096) {
    this.#frontSize = frontSize;
  }

  /** The peer whose subnet holds `dst` (a uint32 or int32 IPv4 address), or undefined. */
  lookup(dst: number): Peer | undefined {
    const single = this.#single;
    if (single !== null) return single.get(dst & this.#singleMask);
    const lengths = this.#byLength;
    const front = this.#front;
    if (front !== null) {
      const hit = front.get(dst | 0);
      if (hit !== undefined) return hit;
    }
    for (let k = 0; k < lengths.length; k++) {
      const peer = lengths[k]!.get(dst & this.#masks[k]!);
      if (peer !== undefined) {
        if (front !== null) front.set(dst | 0, peer);
        return peer;
      }
    }
    return NO_PEER;
  }

  /** The peer whose lease has this PublicIP (uint32), or undefined. */
  byPublicIp(ip: number): Peer | undefined {
    return this.#byPublicIp.get(ip | 0);
  }

  /** Every peer, in lease order. */
  get peers(): readonly Peer[] {
    return this.#peers;
  }

  get size(): number {
    return this.#peers.length;
  }

  /**
   * Replaces the whole table with `leases` (remote leases only; the caller leaves its own
   * lease out). Leases must not overlap; a later duplicate subnet wins.
   */
  replace(leases: readonly PeerLease[]): void {
    const old = new Map<string, Peer>();
    for (const p of this.#peers) old.set(p.key, p);
    const peers: Peer[] = [];
    const byLen = new Map<number, Map<number, Peer>>();
    const byPublicIp = new Map<number, Peer>();
    for (const lease of leases) {
      const prev = old.get(lease.key);
      const peer = prev !== undefined && prev.sameLease(lease) ? prev : new Peer(lease);
      if (prev !== undefined && peer !== prev) peer.inheritCounters(prev);
      peers.push(peer);
      let m = byLen.get(peer.prefixLen);
      if (m === undefined) byLen.set(peer.prefixLen, (m = new Map()));
      m.set(peer.network, peer);
      byPublicIp.set(peer.publicIp | 0, peer);
    }
    const lengths = [...byLen.keys()].sort((a, b) => b - a);
    this.#lengths = lengths;
    this.#masks = lengths.map((l) => maskOf(l));
    this.#byLength = lengths.map((l) => byLen.get(l)!);
    this.#single = lengths.length === 1 ? this.#byLength[0]! : null;
    this.#singleMask = lengths.length === 1 ? this.#masks[0]! : 0;
    this.#byPublicIp = byPublicIp;
    this.#peers = peers;
    this.#front = lengths.length > 1 && this.#frontSize > 0 ? new LRUCache<number, Peer>({ max: this.#frontSize }) : null;
    this.generation++;
  }

  /** Distinct prefix lengths, longest first (for status and tests). */
  get prefixLengths(): readonly number[] {
    return this.#lengths;
  }
}

/** The int32 netmask for a prefix length (0..32). */
export function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) | 0;
}
