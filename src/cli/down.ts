// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun down`: remove what a run added, for when a run could not clean up after itself
 * (SIGKILL, power loss). Safe to run on a clean host. The TUN device itself vanishes
 * with the process that held it; this removes anything left: the Network route, the
 * overlay address, and a device of that name.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { parseNetConfRaw } from '../config/netconf.js';
import { RealExec } from '../host/exec.js';
import { tearDown } from '../host/overlay.js';

export interface DownFlags {
  netConfigPath: string;
  tunName?: string;
}

export async function downCommand(flags: DownFlags): Promise<void> {
  let text: string;
  try {
    text = readFileSync(flags.netConfigPath, 'utf8');
  } catch (err) {
    throw new ConfigError(flags.netConfigPath, '(file)', flags.netConfigPath, `cannot be read: ${(err as Error).message}`);
  }
  const netconf = parseNetConfRaw(flags.netConfigPath, text);
  const dev = flags.tunName ?? `flannel.${netconf.backend.vni}`;
  await tearDown(new RealExec(), { dev, network: netconf.network });
  process.stdout.write(`removed vxtun host state for ${dev}\n`);
}
