// SPDX-License-Identifier: Apache-2.0
/**
 * The lease watch of the etcd manager (flannel's WatchLeases + LeaseWatcher): a listing,
 * then a watch of `<prefix>/subnets/` from the listing's revision + 1; after every batch of
 * events, the full valid snapshot is delivered. On compaction it re-lists at once; when
 * the watch ends otherwise or the store cannot be listed, it retries with capped backoff,
 * logging rate-limited. While the store is unreachable nothing is delivered: the last
 * snapshot stays in force (an empty table would cut every pod off).
 *
 * Our own key is only reported (onOwnKeyGone), never judged here: a delete event can be
 * stale (the manager may already have re-created the key), so the manager checks the store.
 */
import type { Lease } from '../../config/lease.js';
import type { Logger } from '../../daemon/log.js';
import type { Clock, TimerHandle } from './clock.js';
import type { EtcdRegistry, SubnetEntry, SubnetListing, SubnetEvent } from './registry.js';
import { FailureReporter, type Backoff } from './retry.js';
import { ProblemLog, snapshotLeases } from './snapshot.js';
import type { NetConfig } from '../../config/netconf.js';
import { controlPlaneMetrics } from '../metrics.js';

export interface LeaseWatchOptions {
  registry: EtcdRegistry;
  log: Logger;
  clock: Clock;
  backoff: Backoff;
  netconf: NetConfig;
  /** Our lease and the value we wrote, as of now. */
  own: () => { lease: Lease; value: string };
  /** Our key was deleted (event) or is missing from a listing. */
  onOwnKeyGone: () => void;
  deliver: (leases: readonly Lease[]) => void;
}

export class LeaseWatch {
  readonly #o: LeaseWatchOptions;
  readonly #entries = new Map<string, SubnetEntry>();
  readonly #problems = new ProblemLog();
  readonly #listFailures: FailureReporter;
  readonly #watchFailures: FailureReporter;
  #stopWatch: (() => void) | undefined;
  #timer: TimerHandle | undefined;
  #delay: number;
  #stopped = false;

  constructor(o: LeaseWatchOptions) {
    this.#o = o;
    this.#delay = o.backoff.initialMs;
    this.#listFailures = new FailureReporter(o.log, o.clock);
    this.#watchFailures = new FailureReporter(o.log, o.clock);
  }

  /** Starts from `listing` (delivered synchronously) or, without one, from a fresh listing. */
  start(listing?: SubnetListing): void {
    if (listing !== undefined) this.#fromListing(listing);
    else void this.#relist();
  }

  stop(): void {
    this.#stopped = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#stopWatch?.();
    this.#stopWatch = undefined;
  }

  async #relist(): Promise<void> {
    if (this.#stopped) return;
    let listing: SubnetListing;
    try {
      listing = await this.#o.registry.listSubnets();
    } catch (err) {
      if (this.#stopped) return;
      controlPlaneMetrics.setWatchUp(false);
      this.#listFailures.failed({ endpoints: this.#o.registry.endpoints, err: (err as Error).message, retryInMs: this.#delay },
        `cannot list leases from etcd at ${this.#o.registry.endpoints}; keeping the last known leases`);
      this.#retryLater();
      return;
    }
    if (this.#stopped) return;
    this.#listFailures.recovered({ endpoints: this.#o.registry.endpoints }, 'leases listed from etcd again');
    this.#delay = this.#o.backoff.initialMs;
    this.#fromListing(listing);
  }

  #retryLater(): void {
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => void this.#relist(), this.#delay);
    this.#delay = Math.min(this.#delay * 2, this.#o.backoff.maxMs);
  }

  #fromListing(listing: SubnetListing): void {
    controlPlaneMetrics.setWatchUp(true);
    this.#entries.clear();
    for (const e of listing.entries) this.#entries.set(e.key, e);
    this.#publish();
    if (!this.#entries.has(this.#o.own().lease.key)) this.#o.onOwnKeyGone();
    if (this.#stopped) return;
    this.#stopWatch?.();
    const log = this.#o.log;
    const endpoints = this.#o.registry.endpoints;
    const stop = this.#o.registry.watchSubnets(listing.revision + 1, {
      onEvents: (events) => this.#apply(events),
      onCompacted: (rev) => {
        log.info({ endpoints, compactRevision: rev }, 'etcd history compacted under our watch; re-listing leases');
        this.#stopWatch = undefined;
        void this.#relist();
      },
      onError: (err) => {
        this.#stopWatch = undefined;
        controlPlaneMetrics.setWatchUp(false);
        this.#watchFailures.failed({ endpoints, err: err.message, retryInMs: this.#delay }, 'etcd lease watch ended; re-listing');
        this.#retryLater();
      },
      onDisconnected: (err) => (controlPlaneMetrics.setWatchUp(false), this.#watchFailures.failed({ endpoints, err: err.message },
        `etcd at ${endpoints} unreachable from the lease watch; keeping the last known leases while it reconnects`)),
      onConnected: () => (controlPlaneMetrics.setWatchUp(true), this.#watchFailures.recovered({ endpoints }, 'etcd lease watch re-established')),
    });
    this.#stopWatch = stop;
  }

  #apply(events: readonly SubnetEvent[]): void {
    if (this.#stopped) return;
    const ownKey = this.#o.own().lease.key;
    let ownGone = false;
    for (const ev of events) {
      if (ev.type === 'put') this.#entries.set(ev.key, { key: ev.key, value: ev.value, leaseId: ev.leaseId });
      else this.#entries.delete(ev.key);
      if (ev.key === ownKey) ownGone = ev.type === 'delete';
    }
    this.#publish();
    if (ownGone) this.#o.onOwnKeyGone();
  }

  #publish(): void {
    const { lease, value } = this.#o.own();
    const source = `etcd ${this.#o.registry.fullKey('')}`;
    const snap = snapshotLeases(this.#entries.values(), lease, value, this.#o.netconf, source);
    for (const p of this.#problems.fresh(snap.problems)) {
      this.#o.log.error({ key: this.#o.registry.fullKey(p.key) }, `ignoring lease: ${p.message}`);
    }
    try {
      this.#o.deliver(snap.leases);
    } catch (err) {
      this.#o.log.error({ err: (err as Error).message }, 'applying the lease snapshot failed; keeping the previous table');
    }
  }
}
