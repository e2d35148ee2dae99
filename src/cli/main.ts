// SPDX-License-Identifier: Apache-2.0
/**
 * The `vxtun` command line. Subcommands are registered in commands.ts; each one loads
 * its implementation only when it runs, so `vxtun --help` stays fast and never touches
 * the addon.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { exitCodeOf, messageOf } from './errors.js';
import { registerCommands } from './commands.js';

/** The version in package.json. */
export function packageVersion(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(path.join(here, rel), 'utf8')) as { version: string }).version;
    } catch {
      // try the other layout (src/ vs dist/src/)
    }
  }
  return 'unknown';
}

/** The whole command tree (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('vxtun')
    .description("Userspace VXLAN dataplane: a drop-in replacement for flannel's VXLAN backend,\nwire-compatible with kernel VXLAN (flanneld) nodes.")
    .version(packageVersion(), '--version', 'print the version and exit')
    .showHelpAfterError('(run `vxtun --help` for usage)')
    .exitOverride();
  registerCommands(program);
  return program;
}

/** Entry point used by bin/vxtun.js: usage errors exit 2, configuration errors 2, others 1. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`vxtun: ${messageOf(err)}\n`);
    process.exitCode = exitCodeOf(err);
  }
}
