// SPDX-License-Identifier: Apache-2.0
/**
 * Keeping our lease: flanneld's renewal loop (MonitorLease) plus the checks flanneld does
 * not make. Renewal runs at expiration − renew margin as a new Grant + Put guarded by our
 * value; a failure is logged and retried after `retrySec` (flanneld: 1 min).
 *
 * When our key is gone or holds another value (found by a renewal, or by checkOwnKey()
 * after the watch saw a delete), the store is read and judged:
 * - key present with our value: the delete event was stale (we re-created it since);
 * - key missing, our expiration passed: the etcd lease expired while the store was
 *   unreachable (etcd3's `lost`): grant a new lease and create the key again, if still free;
 * - key missing before our expiration (or a reservation): revoked by an operator → lost;
 * - key held with another PublicIP: another node has our subnet → lost;
 *   with our PublicIP but another value: rewritten behind our back → restore ours.
 * Every step runs one at a time (a single promise chain).
 */
import { formatIpv4 } from '../../config/cidr.js';
import type { Lease } from '../../config/lease.js';
import type { Logger } from '../../daemon/log.js';
import { looseValue } from './acquire.js';
import type { Clock, TimerHandle } from './clock.js';
import type { EtcdRegistry, UpdateResult } from './registry.js';
import { controlPlaneMetrics } from '../metrics.js';

/** Our lease: what we wrote and when it expires in etcd (null: a reservation, no TTL). */
export interface OwnLease {
  readonly lease: Lease;
  readonly value: string;
  readonly expiresAt: number | null;
}

export interface RenewerOptions {
  registry: EtcdRegistry;
  log: Logger;
  clock: Clock;
  ttlSec: number;
  renewMarginSec: number;
  retrySec: number;
  get(): OwnLease;
  set(own: OwnLease): void;
  lose(reason: string): void;
}

export class Renewer {
  readonly #o: RenewerOptions;
  #timer: TimerHandle | undefined;
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(o: RenewerOptions) {
    this.#o = o;
  }

  /** Milliseconds until the next renewal is due (0 if overdue); null for a reservation. */
  dueInMs(): number | null {
    const exp = this.#o.get().expiresAt;
    return exp === null ? null : Math.max(0, exp - this.#o.renewMarginSec * 1000 - this.#o.clock.now());
  }

  /** Sets the renewal timer: after `delayMs`, or when due. */
  schedule(delayMs?: number): void {
    if (this.#stopped) return;
    this.#o.clock.clearTimeout(this.#timer);
    const ms = delayMs ?? this.dueInMs();
    if (ms === null) return;
    if (delayMs === undefined) this.#o.log.info({ key: this.#key(), inSec: Math.round(ms / 1000) }, `Waiting for ${Math.round(ms / 1000)}s to renew lease`);
    this.#timer = this.#o.clock.setTimeout(() => this.#enqueue(() => this.#renew()), ms, 'renew');
  }

  /** Reads the store and judges our key (see the file comment). */
  checkOwnKey(): void {
    this.#enqueue(() => this.#check());
  }

  stop(): void {
    this.#stopped = true;
    this.#o.clock.clearTimeout(this.#timer);
  }

  #key(): string {
    return this.#o.registry.fullKey(this.#o.get().lease.key);
  }

  #enqueue(step: () => Promise<void>): void {
    this.#chain = this.#chain.then(() => (this.#stopped ? undefined : step())).catch((err: unknown) => {
      if (this.#stopped) return;
      this.#o.log.error({ key: this.#key(), err: (err as Error).message, retryInSec: this.#o.retrySec }, `Error checking our lease (trying again in ${this.#o.retrySec}s)`);
      this.schedule(this.#o.retrySec * 1000);
    });
  }

  async #renew(): Promise<void> {
    const own = this.#o.get();
    if (own.expiresAt === null) return;
    const t0 = this.#o.clock.now();
    let r: UpdateResult;
    try {
      r = await this.#o.registry.updateSubnet(own.lease.key, own.value, this.#o.ttlSec, own.value);
    } catch (err) {
      if (this.#stopped) return; // closed meanwhile: nothing to report
      this.#o.log.error({ key: this.#key(), err: (err as Error).message }, `Error renewing lease (trying again in ${this.#o.retrySec}s)`);
      this.schedule(this.#o.retrySec * 1000);
      return;
    }
    if (r.result === 'updated') {
      this.#renewed(t0, 'Lease renewed');
      return;
    }
    await this.#judge(r.result === 'missing' ? null : r.current);
  }

  async #check(): Promise<void> {
    const own = this.#o.get();
    const listing = await this.#o.registry.listSubnets();
    const e = listing.entries.find((x) => x.key === own.lease.key);
    if (e !== undefined && e.value === own.value) return; // a stale delete: the key is ours again
    await this.#judge(e === undefined ? null : e.value);
  }

  /** Our key is missing (current null) or holds `current` instead of our value. */
  async #judge(current: string | null): Promise<void> {
    const own = this.#o.get();
    const { registry: reg, clock, ttlSec, log } = this.#o;
    const key = own.lease.key;
    if (current === null) {
      if (own.expiresAt === null || clock.now() < own.expiresAt) {
        this.#o.lose(`our lease ${this.#key()} was deleted from etcd before it expired`);
        return;
      }
      const t0 = clock.now();
      if (await reg.createSubnet(key, own.value, ttlSec) === 'created') {
        log.warn({ key: this.#key() }, 'our lease had expired in etcd (unreachable for longer than its TTL); granted a new one and wrote it again');
        this.#renewed(t0, 'Lease re-created');
        return;
      }
      await this.#judge((await reg.listSubnets()).entries.find((x) => x.key === key)?.value ?? null);
      return;
    }
    const ip = looseValue(current).publicIp;
    if (ip !== own.lease.publicIp) {
      this.#o.lose(`our subnet ${this.#key()} is now held by PublicIP ${ip === null ? '(unreadable)' : formatIpv4(ip)}`);
      return;
    }
    log.warn({ key: this.#key(), found: current }, 'our lease was rewritten by someone else; writing ours again');
    const t0 = clock.now();
    const r = await reg.updateSubnet(key, own.value, own.expiresAt === null ? 0 : ttlSec, current);
    if (r.result === 'updated') this.#renewed(t0, 'Lease restored');
    else await this.#judge(r.result === 'missing' ? null : r.current);
  }

  #renewed(t0: number, what: string): void {
    controlPlaneMetrics.leaseRenewed();
    const own = this.#o.get();
    const expiresAt = own.expiresAt === null ? null : t0 + this.#o.ttlSec * 1000;
    this.#o.set({ ...own, expiresAt });
    const iso = expiresAt === null ? 'never' : new Date(expiresAt).toISOString();
    this.#o.log.info({ key: this.#key(), expiration: iso }, `${what}, new expiration: ${iso}`);
    this.schedule();
  }
}
