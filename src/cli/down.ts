// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun down`: remove what a run added, for when a run could not clean up after itself
 * (SIGKILL, power loss). Safe to run on a clean host. In order:
 *
 *   1. iptables: every rule jumping to FLANNEL-POSTRTG (nat) or FLANNEL-FWD (filter) is
 *      deleted and both chains are flushed and deleted, whatever Network and subnet they
 *      were built for (so neither net-conf.json nor subnet.env is needed for this step).
 *      Skipped, with a note, when iptables is not installed (then there are no rules).
 *   2. the overlay: the Network route, the overlay address, and a device of that name
 *      (the TUN itself vanishes with the process that held it). Needs net-conf.json for
 *      the Network and the VNI.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { parseNetConfRaw } from '../config/netconf.js';
import { RealExec, type Exec } from '../host/exec.js';
import { capsFromVersion, FWD_CHAIN, Iptables, MASQ_CHAIN } from '../host/iptables.js';
import { tearDown } from '../host/overlay.js';

export interface DownFlags {
  netConfigPath: string;
  tunName?: string;
}

/** Seams for tests. */
export interface DownDeps {
  exec?: Exec;
  /** Where progress lines go (default stdout). */
  out?: (line: string) => void;
}

/**
 * removeIptablesRules removes flanneld's chains and the rules jumping to them (step 1
 * above). Returns the restore lines applied, or null when iptables is not installed.
 * Throws ExecError when iptables is there but fails.
 */
export async function removeIptablesRules(exec: Exec): Promise<string[] | null> {
  let version: string;
  try {
    version = (await exec.run(['iptables', '--version'])).stdout;
  } catch {
    return null; // iptables cannot be started: nothing can have installed rules with it
  }
  const caps = capsFromVersion(version);
  if (caps === null) throw new Error(`cannot tell the iptables version from \`iptables --version\` (${JSON.stringify(version.trim())})`);
  return new Iptables(exec, caps).removeChains([{ table: 'nat', chain: MASQ_CHAIN }, { table: 'filter', chain: FWD_CHAIN }]);
}

export async function downCommand(flags: DownFlags, deps: DownDeps = {}): Promise<void> {
  const exec = deps.exec ?? new RealExec();
  const out = deps.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const removed = await removeIptablesRules(exec);
  if (removed === null) out('iptables is not installed: no iptables rules to remove');
  else out(removed.length === 0 ? `no ${MASQ_CHAIN}/${FWD_CHAIN} iptables rules found` : `removed iptables rules: ${removed.join('; ')}`);

  let text: string;
  try {
    text = readFileSync(flags.netConfigPath, 'utf8');
  } catch (err) {
    throw new ConfigError(flags.netConfigPath, '(file)', flags.netConfigPath, `cannot be read: ${(err as Error).message}`);
  }
  const netconf = parseNetConfRaw(flags.netConfigPath, text);
  const dev = flags.tunName ?? `flannel.${netconf.backend.vni}`;
  await tearDown(exec, { dev, network: netconf.network });
  out(`removed vxtun host state for ${dev}`);
}
