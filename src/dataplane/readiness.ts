// SPDX-License-Identifier: Apache-2.0
/**
 * Readiness for the in-memory seams (MemoryTun, MemoryBind): emulates a level-triggered
 * poll. notify() schedules one callback on setImmediate (coalesced); the seam calls it
 * whenever data is queued and again after a read that left data behind.
 */
export class Readiness {
  #cb: (() => void) | undefined;
  #scheduled = false;
  #closed = false;

  /** Sets the callback; `pending` says whether data is already waiting. */
  set(cb: () => void, pending: boolean): void {
    this.#cb = cb;
    if (pending) this.notify();
  }

  /** Schedules the callback unless one is already scheduled (or none is set, or closed). */
  notify(): void {
    if (this.#scheduled || this.#closed || this.#cb === undefined) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#closed) this.#cb?.();
    });
  }

  /** No callback runs after close(). */
  close(): void {
    this.#closed = true;
    this.#cb = undefined;
  }
}
