// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun bench` (also `npm run bench`): the namespace benchmark, kernel VXLAN vs vxtun vs
 * the mixed pair, with a naive C forwarder as the userspace anchor, in one run (src/bench/run.ts). Needs root, iperf3, ethtool, ping and cc;
 * exits 2 naming what is missing. The implementation is imported only when it runs.
 */
import type { Command } from 'commander';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('namespace benchmark: kernel VXLAN vs vxtun vs mixed, with a naive C forwarder as the anchor (RTT, TCP, small-UDP pps, CPU), side by side;\n' +
      'writes <out>/<date>.json, .md and .svg (needs root, iperf3, ethtool, ping, cc, taskset)')
    .option('--quick', 'one rep, txoff only, kernel, vxtun and mixed, short tests, no UDP search or steady state (< 2 min); files get -quick')
    .option('--reps <n>', 'interleaved repetitions (default 3; 1 with --quick)')
    .option('--only <configs>', 'comma list of kernel, vxtun, mixed, naive (the C anchor: one syscall per packet) (default all)')
    .option('--modes <modes>', 'comma list of txoff, default (default both; txoff with --quick)')
    .option('--out <dir>', 'output directory (default bench/results of the package)')
    .option('--udp-payload <bytes>', 'small-UDP payload size (default 18: a 60-byte inner frame)')
    .option('--steady <seconds>', 'steady-state run length, 0 to skip (default 60; 0 with --quick)')
    .action(async (opts: Record<string, unknown>) => {
      const { runBench } = await import('../bench/run.js');
      await runBench({
        quick: opts.quick === true,
        ...(typeof opts.reps === 'string' ? { reps: opts.reps } : {}),
        ...(typeof opts.only === 'string' ? { only: opts.only } : {}),
        ...(typeof opts.modes === 'string' ? { modes: opts.modes } : {}),
        ...(typeof opts.out === 'string' ? { out: opts.out } : {}),
        ...(typeof opts.udpPayload === 'string' ? { udpPayload: opts.udpPayload } : {}),
        ...(typeof opts.steady === 'string' ? { steady: opts.steady } : {}),
      });
    });
}
