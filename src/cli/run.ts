// SPDX-License-Identifier: Apache-2.0
/** `vxtun run`: start a node, stay up until SIGTERM/SIGINT, then remove what it added. */
import { createLogger, type LogLevel } from '../daemon/log.js';
import { startVtep } from '../daemon/vtep.js';
import { createSubnetManager } from '../subnet/create.js';
import { UsageError } from './errors.js';

export interface RunFlags {
  iface: string[];
  ifaceRegex: string[];
  publicIp?: string;
  netConfigPath: string;
  subnetMgr: 'static';
  leases?: string;
  subnetFile: string;
  tunName?: string;
  validateSource: boolean;
  udpChecksum: boolean;
  logLevel: LogLevel;
}

export async function runCommand(flags: RunFlags): Promise<void> {
  if (flags.leases === undefined) throw new UsageError('--subnet-mgr static needs --leases <path> (a JSON file of flannel subnet keys → lease values)');
  const log = createLogger(flags.logLevel);
  const subnets = await createSubnetManager({ kind: 'static', netConfigPath: flags.netConfigPath, leasesPath: flags.leases }, log);
  const vtep = await startVtep({
    subnets,
    subnetFile: flags.subnetFile,
    ifaces: flags.iface,
    ifaceRegexes: flags.ifaceRegex,
    ...(flags.publicIp !== undefined ? { publicIp: flags.publicIp } : {}),
    ...(flags.tunName !== undefined ? { tunName: flags.tunName } : {}),
    ipMasq: false,
    validateSource: flags.validateSource,
    udpChecksum: flags.udpChecksum,
    log,
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'shutting down');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      vtep.stop().then(resolve, (err) => {
        log.error({ err: (err as Error).message }, 'teardown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    vtep.onLeaseLost((reason) => {
      log.error({ reason }, 'Lease has been revoked. Shutting down daemon.');
      process.exitCode = 1;
      stop('SIGTERM');
    });
  });
}
