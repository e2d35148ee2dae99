// SPDX-License-Identifier: Apache-2.0
/**
 * Time for the etcd manager and the memory registry: the real clock in production, a
 * manual one in unit tests, so renewal timing, backoff and TTL expiry can be tested
 * exactly without waiting and without timing thresholds.
 */

export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs fn after ms (>= 0). `label` names the timer for ManualClock.pending(). */
  setTimeout(fn: () => void, ms: number, label?: string): TimerHandle;
  clearTimeout(h: TimerHandle | undefined): void;
}

/** The real clock. Timers are unref'd: pending renewals alone do not keep a process alive. */
export const systemClock: Clock = (() => {
  const timers = new Map<number, NodeJS.Timeout>();
  let next = 1;
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const id = next++;
      const t = setTimeout(() => { timers.delete(id); fn(); }, Math.max(0, ms));
      t.unref();
      timers.set(id, t);
      return { id };
    },
    clearTimeout(h) {
      if (h === undefined) return;
      clearTimeout(timers.get(h.id));
      timers.delete(h.id);
    },
  };
})();

/** Lets pending promise callbacks (and setImmediate work) run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that only moves when told. Timers due at the same instant run in the order
 * they were set; after each timer, pending promise work is flushed, so an async chain a
 * timer starts (a renewal talking to a MemoryRegistry) completes before the next timer.
 */
export class ManualClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void; label: string | undefined }>();

  constructor(start = Date.UTC(2024, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number, label?: string): TimerHandle {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn, label });
    return { id };
  }

  clearTimeout(h: TimerHandle | undefined): void {
    if (h !== undefined) this.#timers.delete(h.id);
  }

  /** Delays (ms from now) of the pending timers (only those labelled `label`, if given), soonest first. */
  pending(label?: string): number[] {
    return [...this.#timers.values()].filter((t) => label === undefined || t.label === label).map((t) => t.at - this.#now).sort((a, b) => a - b);
  }

  /** Moves time forward by ms, running every timer that falls due (in order), flushing after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await flush();
    for (;;) {
      let due: [number, { at: number; fn: () => void; label: string | undefined }] | undefined;
      for (const e of this.#timers) if (e[1].at <= end && (due === undefined || e[1].at < due[1].at)) due = e;
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
      await flush();
      await flush();
    }
    this.#now = end;
    await flush();
  }
}
