// SPDX-License-Identifier: Apache-2.0
/**
 * Process bookkeeping for the lab: an async argv runner (probes must not block the event
 * loop, since a vxtun dataplane may run in the same process), a tracker that kills only the
 * children it started (by PID, via ChildProcess.kill), and the process-wide cleanup hooks
 * run from 'exit' / SIGINT / SIGTERM / SIGALRM / SIGHUP.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import type { RunResult } from './netns.js';

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs argv asynchronously and never rejects: returns stdout, stderr and the exit status
 * (status 124 when `timeoutMs` elapsed and the child was killed).
 */
export function execAsync(argv: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  const [cmd, ...args] = argv;
  return new Promise((resolve) => {
    execFile(cmd ?? 'false', args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr, status: 0 });
      const e = err as { code?: unknown; killed?: boolean; signal?: string | null };
      const status = e.killed ? 124 : typeof e.code === 'number' ? e.code : 1;
      // Keep the reason short: err.message would repeat the whole argv (scripts included).
      const why = e.killed ? `timed out after ${timeoutMs} ms` : typeof e.code === 'string' ? `${e.code}: ${cmd ?? ''}` : `exit ${e.code ?? e.signal}`;
      resolve({ stdout, stderr: stderr || why, status });
    });
  });
}

/**
 * Collects a spawned child's stdout/stderr until it exits and resolves with them and its
 * status (never rejects). After `timeoutMs` the child is SIGKILLed and status is 124.
 */
export function collect(child: ChildProcess, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); resolve({ stdout, stderr: stderr || err.message, status: 127 }); });
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      const status = timedOut ? 124 : code ?? 128;
      resolve({ stdout, stderr: stderr || (status === 0 ? '' : timedOut ? `timed out after ${timeoutMs} ms` : `exit ${code ?? sig}`), status });
    });
  });
}

/** True while the child has neither exited nor been killed by a signal. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Stops a child we started: `signal` (default SIGTERM), then SIGKILL if it has not exited
 * after `graceMs`. Resolves once it has exited; a child already gone resolves at once.
 */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => { if (isRunning(child)) child.kill('SIGKILL'); }, graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Waits until `stream` has printed text matching `re` (accumulated across chunks) and
 * resolves with that text; rejects on timeout or when `child` exits first.
 */
export function waitForOutput(child: ChildProcess, stream: NodeJS.ReadableStream | null, re: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!stream) return reject(new Error('waitForOutput: stream is not piped'));
    let buf = '';
    const done = (fn: () => void): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      child.off('exit', onExit);
      fn();
    };
    const onData = (d: Buffer | string): void => {
      buf += d.toString();
      if (re.test(buf)) done(() => resolve(buf));
    };
    const onExit = (code: number | null, sig: string | null): void =>
      done(() => reject(new Error(`process exited (${code ?? sig}) before printing ${re}: ${buf.trim()}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re}: ${buf.trim()}`))), timeoutMs);
    stream.on('data', onData);
    child.once('exit', onExit);
  });
}

/** The children a lab started; killAll() SIGKILLs those still running, by PID. */
export class ProcessTracker {
  readonly #children = new Set<ChildProcess>();

  /** Tracks `child` until it exits; returns it. */
  add(child: ChildProcess): ChildProcess {
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    child.once('error', () => this.#children.delete(child));
    return child;
  }

  /** Children still tracked (started and not yet seen to exit). */
  get size(): number {
    return this.#children.size;
  }

  /** Synchronously SIGKILLs every tracked child that is still running (safe in 'exit'). */
  killAll(): void {
    for (const c of this.#children) if (isRunning(c)) c.kill('SIGKILL');
    this.#children.clear();
  }
}

const cleanups = new Set<() => void>();
// SIGALRM is how tap's runner ends a test file that ran past its timeout; SIGHUP a closed
// terminal. Without a handler either would end the process without 'exit' and leave
// namespaces and processes behind.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGALRM', 'SIGHUP'] as const;

function runCleanups(): void {
  for (const fn of [...cleanups]) {
    try { fn(); } catch { /* keep going: the remaining cleanups must run too */ }
  }
  cleanups.clear();
  uninstall();
}

function onExit(): void {
  runCleanups();
}

function onSignal(sig: NodeJS.Signals): void {
  runCleanups();
  // With no other handler left, re-raise so the default action (terminate) happens.
  // Other handlers still run after us (we are prepended): they decide. signal-exit (used
  // by tap and others) re-raises itself once it sees it is the only listener left.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

function install(): void {
  process.on('exit', onExit);
  for (const s of SIGNALS) process.prependListener(s, onSignal);
}

function uninstall(): void {
  process.off('exit', onExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/**
 * Registers a synchronous cleanup run on process 'exit', SIGINT, SIGTERM, SIGALRM and SIGHUP. The handlers
 * are installed while at least one cleanup is registered. Returns the unregister function
 * (call it from an explicit destroy(); once nothing is registered the handlers are removed).
 */
export function registerCleanup(fn: () => void): () => void {
  if (cleanups.size === 0) install();
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
    if (cleanups.size === 0) uninstall();
  };
}
