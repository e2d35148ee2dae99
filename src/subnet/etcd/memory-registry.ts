// SPDX-License-Identifier: Apache-2.0
/**
 * MemoryRegistry: an in-process EtcdRegistry with etcd's semantics where the manager
 * depends on them (revisions, txn guards, leases with TTL expiry on an injectable clock,
 * watch replay from a revision, compaction, a store that becomes unreachable and comes
 * back), for unit tests of the manager. The test drives "other nodes" and the operator
 * with put/remove/setConfig, which work even while the store is unreachable to us.
 */
import type { Clock } from './clock.js';
import { StoreUnavailableError, type EtcdRegistry, type SubnetEntry, type SubnetEvent, type SubnetListing, type UpdateResult, type WatchHandlers } from './registry.js';

interface Kv { value: string; leaseId: string | null }
interface Watch { next: number; h: WatchHandlers; stopped: boolean; connected: boolean }

export class MemoryRegistry implements EtcdRegistry {
  readonly endpoints = 'memory://etcd';
  readonly configKey = '/coreos.com/network/config';
  /** Every store verb the manager called, in order (`list`, `create 10.244.1.0-24`, …). */
  readonly calls: string[] = [];
  /** Runs before a create/update txn is evaluated (tests inject races here). */
  beforeTxn: ((key: string) => void) | undefined;
  readonly #clock: Clock;
  readonly #kvs = new Map<string, Kv>();
  readonly #leases = new Map<string, { expiresAt: number }>();
  readonly #history: Array<{ rev: number; events: SubnetEvent[] }> = [];
  readonly #watches = new Set<Watch>();
  #config: string | null = null;
  #rev = 1;
  #compactRev = 0;
  #nextLease = 1000;
  #reachable = true;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  fullKey(key: string): string {
    return `/coreos.com/network/subnets/${key}`;
  }

  // ---- test controls -------------------------------------------------------------------

  /** The current revision. */
  get revision(): number {
    return this.#rev;
  }

  setConfig(text: string | null): void {
    this.#config = text;
  }

  /** Writes a key as another client would (ttlSec > 0: attached to a new lease). */
  put(key: string, value: string, opts: { ttlSec?: number } = {}): void {
    const leaseId = opts.ttlSec ? this.#grant(opts.ttlSec) : null;
    this.#kvs.set(key, { value, leaseId });
    this.#commit([{ type: 'put', key, value, leaseId }]);
  }

  /** Deletes a key as another client (or the operator) would. */
  remove(key: string): void {
    if (this.#kvs.delete(key)) this.#commit([{ type: 'delete', key }]);
  }

  /** The stored value and lease of a key. */
  get(key: string): (Kv & { expiresAt: number | null }) | undefined {
    const kv = this.#kvs.get(key);
    if (kv === undefined) return undefined;
    return { ...kv, expiresAt: kv.leaseId === null ? null : (this.#leases.get(kv.leaseId)?.expiresAt ?? null) };
  }

  /** Discards the history up to the current revision. */
  compact(): number {
    this.#compactRev = this.#rev;
    while ((this.#history[0]?.rev ?? Infinity) < this.#compactRev) this.#history.shift();
    return this.#compactRev;
  }

  /** Makes the store unreachable to the manager (false) or reachable again (true). */
  setReachable(reachable: boolean): void {
    if (reachable === this.#reachable) return;
    this.#reachable = reachable;
    for (const w of this.#watches) {
      if (!reachable) {
        w.connected = false;
        this.#later(w, () => w.h.onDisconnected?.(new StoreUnavailableError(this.endpoints, 'connection refused')));
      } else {
        this.#resume(w);
      }
    }
  }

  /** Ends every watch with onError(err). */
  failWatches(err: Error): void {
    for (const w of this.#watches) this.#end(w, () => w.h.onError(err));
  }

  /** Number of live watches. */
  get watchCount(): number {
    return this.#watches.size;
  }

  // ---- EtcdRegistry ----------------------------------------------------------------------

  async getNetworkConfig(): Promise<string | null> {
    this.#op('config');
    return this.#config;
  }

  async listSubnets(): Promise<SubnetListing> {
    this.#op('list');
    const entries: SubnetEntry[] = [...this.#kvs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, kv]) => ({ key, value: kv.value, leaseId: kv.leaseId }));
    return { entries, revision: this.#rev };
  }

  async createSubnet(key: string, value: string, ttlSec: number): Promise<'created' | 'exists'> {
    this.#op(`create ${key}`);
    this.beforeTxn?.(key);
    if (this.#kvs.has(key)) return 'exists';
    const leaseId = ttlSec > 0 ? this.#grant(ttlSec) : null;
    this.#kvs.set(key, { value, leaseId });
    this.#commit([{ type: 'put', key, value, leaseId }]);
    return 'created';
  }

  async updateSubnet(key: string, value: string, ttlSec: number, prev: string): Promise<UpdateResult> {
    this.#op(`update ${key}`);
    this.beforeTxn?.(key);
    const leaseId = ttlSec > 0 ? this.#grant(ttlSec) : null;
    const cur = this.#kvs.get(key);
    if (cur === undefined) return { result: 'missing' };
    if (cur.value !== prev) return { result: 'changed', current: cur.value };
    this.#kvs.set(key, { value, leaseId });
    this.#commit([{ type: 'put', key, value, leaseId }]);
    return { result: 'updated' };
  }

  async deleteSubnet(key: string): Promise<void> {
    this.#op(`delete ${key}`);
    this.remove(key);
  }

  watchSubnets(fromRevision: number, h: WatchHandlers): () => void {
    const w: Watch = { next: fromRevision, h, stopped: false, connected: false };
    this.#watches.add(w);
    if (this.#reachable) this.#resume(w);
    else this.#later(w, () => h.onDisconnected?.(new StoreUnavailableError(this.endpoints, 'connection refused')));
    return () => { w.stopped = true; this.#watches.delete(w); };
  }

  async close(): Promise<void> {
    for (const w of this.#watches) w.stopped = true;
    this.#watches.clear();
  }

  // ---- internals -------------------------------------------------------------------------

  #op(name: string): void {
    this.calls.push(name);
    if (!this.#reachable) throw new StoreUnavailableError(this.endpoints, `${name}: connection refused`);
  }

  #grant(ttlSec: number): string {
    const id = String(this.#nextLease++);
    const expiresAt = this.#clock.now() + ttlSec * 1000;
    this.#leases.set(id, { expiresAt });
    this.#clock.setTimeout(() => this.#expire(id), ttlSec * 1000, 'lease-expiry');
    return id;
  }

  /** A lease ran out: its keys go, in one revision (as etcd's lease revoke txn). */
  #expire(id: string): void {
    this.#leases.delete(id);
    const events: SubnetEvent[] = [];
    for (const [key, kv] of this.#kvs) if (kv.leaseId === id) { this.#kvs.delete(key); events.push({ type: 'delete', key }); }
    if (events.length > 0) this.#commit(events);
  }

  #commit(events: SubnetEvent[]): void {
    const rev = ++this.#rev;
    this.#history.push({ rev, events });
    for (const w of this.#watches) if (w.connected) this.#deliver(w);
  }

  /** Delivers, asynchronously and in order, every batch the watch has not seen yet. */
  #deliver(w: Watch): void {
    this.#later(w, () => {
      if (!w.connected) return;
      for (const b of this.#history) {
        if (b.rev < w.next) continue;
        w.next = b.rev + 1;
        w.h.onEvents(b.events, b.rev);
        if (w.stopped) return;
      }
    });
  }

  #resume(w: Watch): void {
    if (w.next < this.#compactRev) {
      const rev = this.#compactRev;
      this.#end(w, () => w.h.onCompacted(rev));
      return;
    }
    w.connected = true;
    this.#later(w, () => w.h.onConnected?.());
    this.#deliver(w);
  }

  #end(w: Watch, fn: () => void): void {
    this.#watches.delete(w);
    w.connected = false;
    setImmediate(() => {
      if (w.stopped) return;
      w.stopped = true;
      fn();
    });
  }

  #later(w: Watch, fn: () => void): void {
    setImmediate(() => { if (!w.stopped) fn(); });
  }
}
