// SPDX-License-Identifier: Apache-2.0
/**
 * Step-by-step progress for the demo. On a TTY a waiting step shows a spinner on its own
 * line, replaced by ✓/✗ and the time it took; otherwise (pipes, tests, CI) plain lines:
 * "… title" when a step starts and "✓ title (1.2 s)" when it ends. Everything goes to
 * the given stream (stdout by default); nothing is printed per tick off a TTY.
 */
import type { Writable } from 'node:stream';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Progress {
  readonly #out: Writable & { isTTY?: boolean };
  readonly #tty: boolean;
  readonly #total: number;
  #n = 0;

  /** @param total number of steps (shown as [k/total]); `tty` overrides the stream's isTTY. */
  constructor(out: Writable & { isTTY?: boolean }, total: number, tty?: boolean) {
    this.#out = out;
    this.#tty = tty ?? out.isTTY === true;
    this.#total = total;
  }

  /** Writes text as is. */
  print(text: string): void {
    this.#out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /**
   * Runs fn as the next numbered step and returns its result; on failure prints
   * "✗ title: message" and rethrows.
   */
  async step<T>(title: string, fn: () => Promise<T> | T): Promise<T> {
    const label = `[${++this.#n}/${this.#total}] ${title}`;
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    if (this.#tty) {
      let f = 0;
      const draw = (): void => void this.#out.write(`\r\x1b[2K${FRAMES[f++ % FRAMES.length]} ${label}`);
      draw();
      timer = setInterval(draw, 80);
    } else {
      this.#out.write(`… ${label}\n`);
    }
    const took = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const clear = this.#tty ? '\r\x1b[2K' : '';
    try {
      const r = await fn();
      clearInterval(timer);
      this.#out.write(`${clear}✓ ${label} (${took()})\n`);
      return r;
    } catch (err) {
      clearInterval(timer);
      this.#out.write(`${clear}✗ ${label}: ${err instanceof Error ? err.message : String(err)}\n`);
      throw err;
    }
  }
}

/** Indents every line of text by `n` spaces (for command output under a step). */
export function indent(text: string, n = 4): string {
  const pad = ' '.repeat(n);
  return text.replace(/\n$/, '').split('\n').map((l) => (l === '' ? l : pad + l)).join('\n');
}
