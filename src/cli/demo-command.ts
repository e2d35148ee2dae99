// SPDX-License-Identifier: Apache-2.0
/** `vxtun demo`: flags and action (the implementation loads only when it runs). */
import type { Command } from 'commander';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description("build the seed's three-node flannel cluster in network namespaces with vxtun on every node, and show routes,\n"
      + 'subnet.env, pods, an HTTP request across nodes and one captured VXLAN packet (root; removes everything on exit)')
    .option('--once', 'tear down right after the walk-through instead of waiting for Ctrl-C (scripts, tests)')
    .option('--etcd', 'keep leases in a lab etcd instead of a static leases file (when the lab supports it)')
    .option('--keep-going', 'when a step of the walk-through fails, report it and go on (exit 1 at the end)')
    .option('--pcap <file>', 'where to save the captured packet (default <tmpdir>/vxtun-demo.pcap)')
    .action(async (opts) => {
      const { runDemo } = await import('../demo/demo.js');
      await runDemo(opts);
    });
}
