// SPDX-License-Identifier: Apache-2.0
/** `vxtun status`: flags and action (the implementation loads only when it runs). */
import type { Command } from 'commander';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the running daemon: lease, peers with counters, drops by reason, totals (from its control socket)')
    .option('--json', 'print the status as JSON (for scripts)')
    .option('--gc', 'run a full garbage collection in the daemon first, so the heap figures show what it retains (the daemon must run with NODE_OPTIONS=--expose-gc)')
    .option('--socket <path>', 'control socket of the daemon (default /run/vxtun/<tun-name>.sock; in a network namespace other than the host\'s, /run/vxtun/netns-<inode>/<tun-name>.sock)')
    .option('--tun-name <name>', 'TUN device name of the daemon, for the default socket path', 'flannel.1')
    .action(async (opts) => {
      const { statusCommand } = await import('./status.js');
      await statusCommand(opts);
    });
}
