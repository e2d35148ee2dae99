// SPDX-License-Identifier: Apache-2.0
/** `vxtun down`: flags and action. */
import type { Command } from 'commander';

export function registerDown(program: Command): void {
  program
    .command('down')
    .description("remove what a vxtun run added to this host (after a crash): flanneld's iptables chains and rules\n(FLANNEL-POSTRTG, FLANNEL-FWD), routes, address, device")
    .option('--net-config-path <path>', "flannel's network config file (for the Network and VNI)", '/etc/kube-flannel/net-conf.json')
    .option('--tun-name <name>', 'TUN device name (default flannel.<VNI>)')
    .action(async (opts) => {
      const { downCommand } = await import('./down.js');
      await downCommand(opts);
    });
}
