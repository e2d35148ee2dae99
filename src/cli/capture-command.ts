// SPDX-License-Identifier: Apache-2.0
/** `vxtun capture`: flags and action (the implementation loads only when it runs). */
import { InvalidArgumentError, type Command } from 'commander';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('want a positive integer');
  return n;
}

export function registerCapture(program: Command): void {
  program
    .command('capture')
    .description('write what the running daemon encapsulates and decapsulates as pcap (e.g. `vxtun capture -w - | wireshark -k -i -`)')
    .option('--outer', 'outer packets: Ethernet + IPv4 + UDP + VXLAN + inner frame (LINKTYPE_ETHERNET; the default)')
    .option('--inner', 'inner IPv4 packets only (LINKTYPE_RAW)')
    .option('--count <n>', 'stop after n packets', positiveInt)
    .option('--filter <subnet>', 'keep packets whose inner source or destination is in this IPv4 subnet (or address)')
    .option('-w, --write <file>', 'pcap file to write, or - for stdout')
    .option('--socket <path>', 'control socket of the daemon (default /run/vxtun/<tun-name>.sock; in a network namespace other than the host\'s, /run/vxtun/netns-<inode>/<tun-name>.sock)')
    .option('--tun-name <name>', 'TUN device name of the daemon, for the default socket path', 'flannel.1')
    .action(async (opts) => {
      const { captureCommand } = await import('./capture.js');
      await captureCommand(opts);
    });
}
