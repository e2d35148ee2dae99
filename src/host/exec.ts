// SPDX-License-Identifier: Apache-2.0
/**
 * The Exec seam: every change vxtun makes to host state (addresses, routes, links) is an
 * argv array handed to an Exec. Production uses RealExec (execFile, never a shell);
 * unit tests use RecordingExec and assert the exact commands; privileged tests use a
 * RealExec whose prefix runs each command inside a throwaway network namespace.
 */
import { execFile } from 'node:child_process';

/** The outcome of one command. `code` is the exit status (non-zero is not an exception). */
export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Runs one command given as argv (argv[0] is the program, looked up in PATH). */
export interface Exec {
  /**
   * run resolves with the command's output and exit status, including non-zero exits.
   * It rejects only when the program cannot be started at all (e.g. not installed).
   */
  run(argv: readonly string[]): Promise<ExecResult>;
}

/** Formats argv for messages: `ip route replace 10.244.0.0/16 dev flannel.1`. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** A command that failed; the message names the command, exit status and stderr. */
export class ExecError extends Error {
  override readonly name = 'ExecError';
  constructor(readonly argv: readonly string[], readonly code: number, readonly stderr: string) {
    super(`\`${formatArgv(argv)}\` failed (exit ${code}): ${stderr.trim() || '(no error output)'}`);
  }
}

/**
 * RealExec runs commands with child_process.execFile (no shell). `prefix` is prepended
 * to every argv, e.g. `['ip', 'netns', 'exec', 'ns1']` to run inside a namespace.
 */
export class RealExec implements Exec {
  constructor(readonly prefix: readonly string[] = [], readonly timeoutMs = 30_000) {}

  run(argv: readonly string[]): Promise<ExecResult> {
    const full = [...this.prefix, ...argv];
    const [cmd, ...args] = full;
    if (cmd === undefined) return Promise.reject(new Error('exec: empty argv'));
    return new Promise((resolve, reject) => {
      execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: this.timeoutMs }, (err, stdout, stderr) => {
        if (err === null) return resolve({ stdout, stderr, code: 0 });
        const e = err as NodeJS.ErrnoException & { code?: unknown; signal?: string | null };
        if (typeof e.code === 'number') return resolve({ stdout, stderr, code: e.code });
        if (e.signal) return resolve({ stdout, stderr: `${stderr}killed by ${e.signal}`, code: 128 });
        reject(new Error(`\`${formatArgv(full)}\` could not be started: ${e.message}`));
      });
    });
  }
}

/** A scripted answer: a result, or a function of argv returning one (undefined = next rule). */
export type ScriptedResult = Partial<ExecResult> | ((argv: readonly string[]) => Partial<ExecResult> | undefined);

/**
 * RecordingExec is the test double: it records every argv in `calls` and answers from
 * rules added with `on(command, result)`, where `command` is the argv joined by spaces
 * and matches exactly or as a prefix ending at a word boundary. The last matching rule
 * wins; with no match the answer is `{code: 0, stdout: '', stderr: ''}`.
 */
export class RecordingExec implements Exec {
  readonly calls: string[][] = [];
  readonly #rules: { match: string; result: ScriptedResult }[] = [];

  /** Adds a rule; returns this for chaining. */
  on(command: string, result: ScriptedResult): this {
    this.#rules.push({ match: command, result });
    return this;
  }

  /** The recorded commands as strings (argv joined by spaces). */
  commands(): string[] {
    return this.calls.map((c) => c.join(' '));
  }

  run(argv: readonly string[]): Promise<ExecResult> {
    this.calls.push([...argv]);
    const line = argv.join(' ');
    for (let i = this.#rules.length - 1; i >= 0; i--) {
      const rule = this.#rules[i]!;
      if (line !== rule.match && !line.startsWith(`${rule.match} `)) continue;
      const r = typeof rule.result === 'function' ? rule.result(argv) : rule.result;
      if (r === undefined) continue;
      return Promise.resolve({ stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.code ?? 0 });
    }
    return Promise.resolve({ stdout: '', stderr: '', code: 0 });
  }
}

/**
 * runChecked runs argv and returns stdout; a non-zero exit throws ExecError, unless its
 * stderr matches `ignore` (e.g. /No such process/ when deleting a route that is gone), in
 * which case it returns null.
 */
export async function runChecked(exec: Exec, argv: readonly string[], ignore?: RegExp): Promise<string | null> {
  const r = await exec.run(argv);
  if (r.code === 0) return r.stdout;
  if (ignore?.test(r.stderr)) return null;
  throw new ExecError(argv, r.code, r.stderr);
}
