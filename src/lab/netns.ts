// SPDX-License-Identifier: Apache-2.0
/**
 * Network-namespace plumbing for tests, the demo and the bench. Everything runs `ip`
 * (iproute2) with an argv array, never a shell string. Nothing here touches the root
 * namespace's addresses or routes: links are created in the root namespace only to be
 * moved at once into a namespace we made.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface RunResult { stdout: string; stderr: string; status: number }

/** Runs argv synchronously; throws with the command and its stderr when it fails. */
export function run(argv: readonly string[], input?: string): string {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('run: empty argv');
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; status?: number };
    throw new Error(`\`${argv.join(' ')}\` failed (exit ${e.status ?? '?'}): ${(e.stderr ?? String(err)).trim()}`);
  }
}

/** Runs argv synchronously and returns its result instead of throwing. */
export function tryRun(argv: readonly string[]): RunResult {
  const [cmd, ...args] = argv;
  try {
    const stdout = execFileSync(cmd ?? 'false', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { stdout, stderr: '', status: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; status?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? String(err), status: e.status ?? 1 };
  }
}

/** True when this process may create namespaces and devices (root). */
export function canUseNetns(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0 && tryRun(['ip', '-V']).status === 0;
}

/** A skip message for tests that need root; null when they can run. */
export function netnsSkipReason(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (network namespaces, TUN, raw sockets): run as root to exercise it';
  if (tryRun(['ip', '-V']).status !== 0) return 'needs iproute2 (`ip`)';
  return null;
}

/** A short unique suffix, so parallel or leftover runs never collide on names. */
export function uniqueSuffix(): string {
  return randomBytes(3).toString('hex');
}

/** A network namespace this process created; delete() removes it and everything in it. */
export class Netns {
  readonly name: string;
  #deleted = false;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates namespace `name` with loopback up. */
  static create(name: string): Netns {
    run(['ip', 'netns', 'add', name]);
    const ns = new Netns(name);
    try {
      ns.ip('link', 'set', 'lo', 'up');
    } catch (err) {
      ns.delete();
      throw err;
    }
    return ns;
  }

  /** argv prefixed so it runs inside this namespace. */
  argv(...argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...argv];
  }

  /** Runs argv in this namespace; throws on failure. */
  exec(...argv: string[]): string {
    return run(this.argv(...argv));
  }

  /** Runs argv in this namespace; returns the result. */
  tryExec(...argv: string[]): RunResult {
    return tryRun(this.argv(...argv));
  }

  /** `ip -n <ns> ...` */
  ip(...args: string[]): string {
    return run(['ip', '-n', this.name, ...args]);
  }

  /** Writes a sysctl inside the namespace (e.g. 'net.ipv4.ip_forward', '1'). */
  sysctl(key: string, value: string): void {
    this.exec('sysctl', '-qw', `${key}=${value}`);
  }

  /** Starts a long-running process inside the namespace. The caller owns (and must stop) it. */
  spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  }

  /** Deletes the namespace (idempotent). Links inside it go with it. */
  delete(): void {
    if (this.#deleted) return;
    this.#deleted = true;
    tryRun(['ip', 'netns', 'del', this.name]);
  }
}

/** Creates a veth pair with one end in each namespace (`a`/`b` may be the same namespace). */
export function vethPair(a: Netns, aName: string, b: Netns, bName: string): void {
  const tmpA = `vxa${uniqueSuffix()}`;
  const tmpB = `vxb${uniqueSuffix()}`;
  run(['ip', 'link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
  try {
    run(['ip', 'link', 'set', tmpA, 'netns', a.name, 'name', aName]);
    run(['ip', 'link', 'set', tmpB, 'netns', b.name, 'name', bName]);
  } catch (err) {
    tryRun(['ip', 'link', 'del', tmpA]);
    tryRun(['ip', 'link', 'del', tmpB]);
    throw err;
  }
}
