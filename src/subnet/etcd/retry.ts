// SPDX-License-Identifier: Apache-2.0
/**
 * Waiting out an unreachable etcd: capped exponential backoff on the manager's clock
 * (cancelled all at once by close()), one log line per attempt at startup, and a
 * rate-limited reporter for failures while running (first failure, then at most one
 * line per interval, then one line when the store answers again).
 */
import type { Logger } from '../../daemon/log.js';
import type { Clock, TimerHandle } from './clock.js';
import { isStoreUnavailable } from './registry.js';

/** Thrown out of waits when the manager was closed. */
export class ManagerClosedError extends Error {
  override readonly name = 'ManagerClosedError';
  constructor() {
    super('the etcd subnet manager was closed');
  }
}

/** Sleeps on a Clock; cancelAll() wakes every sleeper with ManagerClosedError. */
export class Sleeper {
  readonly #clock: Clock;
  readonly #pending = new Map<TimerHandle, (err?: Error) => void>();
  #cancelled = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  sleep(ms: number): Promise<void> {
    if (this.#cancelled) return Promise.reject(new ManagerClosedError());
    return new Promise((resolve, reject) => {
      const h = this.#clock.setTimeout(() => { this.#pending.delete(h); resolve(); }, ms);
      this.#pending.set(h, (err) => (err ? reject(err) : resolve()));
    });
  }

  cancelAll(): void {
    this.#cancelled = true;
    for (const [h, done] of this.#pending) {
      this.#clock.clearTimeout(h);
      done(new ManagerClosedError());
    }
    this.#pending.clear();
  }
}

/** Backoff of the startup retries: 1 s, 2 s, 4 s … capped at 30 s. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 30_000 };

/**
 * Runs fn until it does not fail with StoreUnavailableError, sleeping with capped
 * exponential backoff between attempts and logging each one as
 * `etcd at <endpoints> unreachable, retrying in <n>s`. Other errors are rethrown; a
 * close() during the wait throws ManagerClosedError. Never gives up by itself.
 */
export async function untilReachable<T>(fn: () => Promise<T>, o: { what: string; endpoints: string; log: Logger; sleeper: Sleeper; backoff: Backoff }): Promise<T> {
  let delay = o.backoff.initialMs;
  for (let attempt = 1; ; attempt++) {
    if (o.sleeper.cancelled) throw new ManagerClosedError();
    try {
      const r = await fn();
      if (attempt > 1) o.log.info({ endpoints: o.endpoints, op: o.what, attempts: attempt }, `etcd at ${o.endpoints} answered again`);
      return r;
    } catch (err) {
      if (!isStoreUnavailable(err)) throw err;
      o.log.warn({ endpoints: o.endpoints, op: o.what, attempt, err: err.message },
        `etcd at ${o.endpoints} unreachable, retrying in ${delay / 1000}s`);
      await o.sleeper.sleep(delay);
      delay = Math.min(delay * 2, o.backoff.maxMs);
    }
  }
}

/**
 * A rate-limited log for one recurring condition ("the watch cannot reach etcd"): the
 * first failure is logged, later ones at most once per `intervalMs` (with a count), and
 * recovered() logs once that it is over.
 */
export class FailureReporter {
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #failing = false;
  #count = 0;
  #lastLog = 0;

  constructor(log: Logger, clock: Clock, intervalMs = 60_000) {
    this.#log = log;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  failed(fields: Record<string, unknown>, msg: string): void {
    this.#count++;
    const now = this.#clock.now();
    if (!this.#failing || now - this.#lastLog >= this.#intervalMs) {
      this.#log.warn({ ...fields, failures: this.#count }, msg);
      this.#lastLog = now;
    }
    this.#failing = true;
  }

  recovered(fields: Record<string, unknown>, msg: string): void {
    if (!this.#failing) return;
    this.#log.info({ ...fields, failures: this.#count }, msg);
    this.#failing = false;
    this.#count = 0;
  }
}
