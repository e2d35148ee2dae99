// SPDX-License-Identifier: Apache-2.0
/**
 * Step-by-step progress for the bench: "[3/24] vxtun txoff tcp4 rep 1 … 4.10 Gbit/s".
 * On a TTY a spinner with the elapsed seconds (and an optional sub-status, e.g. the UDP
 * trial in progress) redraws the current line while a step runs; elsewhere only the
 * finished lines are printed, so logs stay clean.
 */

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Where progress goes: process.stdout by default. */
export interface ProgressSink {
  write(s: string): unknown;
  readonly isTTY?: boolean;
}

/** Formats the line of a finished step. */
export function stepLine(index: number, total: number, label: string, outcome: string): string {
  return `[${index}/${total}] ${label} … ${outcome}`;
}

export class Progress {
  readonly total: number;
  #done = 0;
  readonly #out: ProgressSink;
  readonly #tty: boolean;

  constructor(total: number, out: ProgressSink = process.stdout) {
    this.total = total;
    this.#out = out;
    this.#tty = out.isTTY === true;
  }

  /** Steps finished so far (failed ones included). */
  get done(): number {
    return this.#done;
  }

  /** Prints an informational line (clearing a spinner line first). */
  note(msg: string): void {
    this.#out.write(`${this.#tty ? '\r\x1b[2K' : ''}${msg}\n`);
  }

  /**
   * Runs one counted step. `fn` may report a sub-status through its argument (shown on a
   * TTY). On success the line ends with `describe(value)`; on failure with "failed: reason"
   * and the error is rethrown. The step counts as done either way.
   */
  async step<T>(label: string, fn: (status: (s: string) => void) => Promise<T>, describe: (v: T) => string): Promise<T> {
    const index = this.#done + 1;
    const started = Date.now();
    let sub = '';
    let frame = 0;
    const draw = (): void => {
      const secs = Math.floor((Date.now() - started) / 1000);
      this.#out.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} [${index}/${this.total}] ${label} … ${secs} s${sub ? ` (${sub})` : ''}`);
    };
    const timer = this.#tty ? setInterval(draw, 120) : undefined;
    if (this.#tty) draw();
    const finish = (outcome: string): void => {
      if (timer) clearInterval(timer);
      this.#done++;
      this.#out.write(`${this.#tty ? '\r\x1b[2K' : ''}${stepLine(index, this.total, label, outcome)}\n`);
    };
    try {
      const v = await fn((s) => { sub = s; });
      finish(describe(v));
      return v;
    } catch (err) {
      finish(`failed: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  }

  /** Counts a step that could not run, printing "[i/N] label … skipped: reason". */
  skip(label: string, reason: string): void {
    this.#done++;
    this.note(stepLine(this.#done, this.total, label, `skipped: ${reason}`));
  }

  /** A spinner (TTY only) while `fn` runs, for uncounted waits such as building a bed. */
  async wait<T>(label: string, fn: () => Promise<T>): Promise<T> {
    if (!this.#tty) return fn();
    const started = Date.now();
    let frame = 0;
    const timer = setInterval(() => {
      this.#out.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${label} … ${Math.floor((Date.now() - started) / 1000)} s`);
    }, 120);
    try {
      return await fn();
    } finally {
      clearInterval(timer);
      this.#out.write('\r\x1b[2K');
    }
  }
}
