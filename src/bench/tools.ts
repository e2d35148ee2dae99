// SPDX-License-Identifier: Apache-2.0
/**
 * The bench's prerequisites and its own tools. requireTools() checks root and the external
 * commands and throws a UsageError (exit 2) naming what is missing and how to install it.
 * buildTools() compiles bench/tools/udpblast.c, udpsink.c, wakeup.c and naivefwd.c with `cc -O2` into a fresh
 * temporary directory, removed by the returned handle (and on exit/Ctrl-C).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../cli/errors.js';
import { registerCleanup } from '../lab/proc.js';

/** The package root (where package.json, bench/ and bin/ live), from src/ or dist/src/. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []));

/** Where the C sources of the bench tools live. */
export const TOOLS_SRC_DIR = path.join(PACKAGE_ROOT, 'bench', 'tools');

/** External commands the namespace bench runs, with the Debian package providing each. */
export const REQUIRED_COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['ip', 'iproute2'], ['iperf3', 'iperf3'], ['ethtool', 'ethtool'], ['ping', 'iputils-ping'], ['cc', 'build-essential'],
  ['taskset', 'util-linux'],
];

/** The absolute path of `cmd` on PATH (plus the sbin directories root normally has), or null. */
export function which(cmd: string, envPath = process.env.PATH ?? ''): string | null {
  const dirs = [...envPath.split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter((d) => d.length > 0);
  for (const d of dirs) {
    const p = path.join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return null;
}

/**
 * The reasons the bench cannot run here (empty when it can): not root, or commands
 * missing, with the apt-get line that installs them. `lookup` is injectable for tests.
 */
export function missingRequirements(isRoot: boolean, lookup: (cmd: string) => string | null = (c) => which(c)): string[] {
  const problems: string[] = [];
  if (!isRoot) problems.push('the namespace bench needs root (it creates network namespaces and veth pairs): run it with sudo');
  const missing = REQUIRED_COMMANDS.filter(([cmd]) => lookup(cmd) === null);
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
    problems.push(`missing ${missing.map(([c]) => c).join(', ')}: install with \`apt-get install iperf3 ethtool iputils-ping build-essential util-linux\` (needed here: ${pkgs.join(' ')})`);
  }
  return problems;
}

/** Throws a UsageError (exit 2) when the bench cannot run on this machine. */
export function requireTools(): void {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const problems = missingRequirements(isRoot);
  if (problems.length > 0) throw new UsageError(`cannot run the bench: ${problems.join('; ')}`);
}

/** Compiled tool binaries; remove() deletes their directory (idempotent). */
export interface BenchTools {
  readonly dir: string;
  readonly udpblast: string;
  readonly udpsink: string;
  readonly wakeup: string;
  readonly naivefwd: string;
  remove(): void;
}

/** Compiles udpblast, udpsink, wakeup and naivefwd with `cc -O2`; throws with the compiler's output on failure. */
export function buildTools(srcDir = TOOLS_SRC_DIR): BenchTools {
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-bench-tools-'));
  let unregister: () => void = () => {};
  const remove = (): void => {
    rmSync(dir, { recursive: true, force: true });
    unregister();
  };
  unregister = registerCleanup(remove);
  try {
    const out: Record<string, string> = {};
    for (const name of ['udpblast', 'udpsink', 'wakeup', 'naivefwd']) {
      const src = path.join(srcDir, `${name}.c`);
      if (!existsSync(src)) throw new Error(`bench tool source ${src} is missing`);
      out[name] = path.join(dir, name);
      try {
        execFileSync('cc', ['-O2', '-Wall', '-o', out[name] as string, src], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      } catch (err) {
        const e = err as { stderr?: string };
        throw new Error(`cc -O2 ${src} failed: ${(e.stderr ?? String(err)).trim()}`);
      }
    }
    return { dir, udpblast: out.udpblast as string, udpsink: out.udpsink as string, wakeup: out.wakeup as string, naivefwd: out.naivefwd as string, remove };
  } catch (err) {
    remove();
    throw err;
  }
}
