// SPDX-License-Identifier: Apache-2.0
/** `vxtun run`: its flags (flanneld's names, defaults and meaning) and its action. */
import { Command, Option } from 'commander';
import { LOG_LEVELS } from '../daemon/log.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the VXLAN dataplane and its control plane on this node (flanneld replacement)')
    .option('--iface <name-or-ip>', 'interface (name or IPv4) for inter-host traffic; repeatable, first match wins', collect, [])
    .option('--iface-regex <regex>', 'regex on interface IPv4 or name; repeatable, tried after --iface', collect, [])
    .option('--public-ip <ip>', 'IPv4 address advertised in our lease (default: the interface address)')
    .option('--net-config-path <path>', "flannel's network config file", '/etc/kube-flannel/net-conf.json')
    .addOption(new Option('--subnet-mgr <kind>', 'where leases live').choices(['static']).default('static'))
    .option('--leases <path>', 'static leases file: flannel subnet keys → lease values (watched)')
    .option('--subnet-file <path>', 'subnet.env written for the CNI plugin', '/run/flannel/subnet.env')
    .option('--tun-name <name>', 'TUN device name (default flannel.<VNI>)')
    .option('--no-validate-source', 'accept VXLAN from any sender and any inner source (the kernel does not check)')
    .option('--no-udp-checksum', 'send outer UDP checksums as zero (default: computed, as current kernels do)')
    .addOption(new Option('--log-level <level>', 'log level').choices([...LOG_LEVELS]).default('info'))
    .action(async (opts) => {
      const { runCommand } = await import('./run.js');
      await runCommand(opts);
    });
}
