// SPDX-License-Identifier: Apache-2.0
/**
 * The daemon's traffic manager: flanneld's iptables mode (flannel.md §5) on top of
 * host/iptables.ts. Installed after the dataplane is up and before subnet.env is written
 * (flanneld's order), kept in place every --iptables-resync seconds, removed on stop.
 *
 *   --ip-masq                 FLANNEL-POSTRTG (nat): the previous Network/subnet's rules
 *                             from subnet.env are deleted first when they differ, the chain
 *                             is created or flushed, the set bootstrapped.
 *   --iptables-forward-rules  FLANNEL-FWD (filter), likewise (on by default).
 *
 * Design notes (where vxtun differs from flanneld, on purpose):
 * - A failure to install at startup is fatal (exit 2, naming the flag); flanneld logs it
 *   and runs without the rules. Failures of the periodic check are logged, as flanneld does.
 * - On stop the rules and chains are removed (flanneld leaves them behind).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalCidr, formatCidr, makeCidr, parseCidr, sameCidr, type Cidr } from '../config/cidr.js';
import { previousSubnet, readSubnetEnv } from '../config/subnet-env.js';
import { UsageError } from '../cli/errors.js';
import type { Exec } from '../host/exec.js';
import { detectIptables, forwardRules, FWD_CHAIN, Iptables, MASQ_CHAIN, masqRules, type IptablesRule, type Table } from '../host/iptables.js';
import type { Logger } from './log.js';

export interface TrafficOptions {
  exec: Exec;
  log: Logger;
  ipMasq: boolean;
  ipMasqFullyRandomDisable: boolean;
  forwardRules: boolean;
  /** --iptables-resync, seconds (≥ 1). */
  resyncSeconds: number;
  /** subnet.env: its FLANNEL_NETWORK/FLANNEL_SUBNET are the previous run's (read before it is rewritten). */
  subnetFile: string;
  /** Where iptables-restore input files go (default os.tmpdir()). */
  tmpDir?: string;
}

export interface Traffic {
  /** The rule sets in force (empty when that set is off). */
  readonly masq: readonly IptablesRule[];
  readonly forward: readonly IptablesRule[];
  /** One resync pass now (what the timer does); resolves true when a set had to be re-created. */
  resync(): Promise<boolean>;
  /** Stops the resync and removes our rules and chains. Idempotent. */
  stop(): Promise<void>;
}

/**
 * checkBrNetfilter returns null when `<procRoot>/sys/net/bridge/bridge-nf-call-iptables`
 * exists, else the sentence flanneld's refusal deserves (it exits without br_netfilter
 * in iptables mode, because bridged pod traffic would bypass iptables).
 */
export async function checkBrNetfilter(procRoot = '/proc'): Promise<string | null> {
  const file = join(procRoot, 'sys/net/bridge/bridge-nf-call-iptables');
  try {
    await access(file);
    return null;
  } catch {
    return `${file} is missing: the br_netfilter kernel module is not loaded, so traffic bridged on cni0 would bypass iptables; ` +
      'flanneld refuses to start without it too. Load it with `modprobe br_netfilter`';
  }
}

/** The previous run's Network and subnet from subnet.env, or null when absent or unreadable. */
export async function previousNetwork(subnetFile: string, log: Logger): Promise<{ network: Cidr; subnet: Cidr } | null> {
  try {
    const env = await readSubnetEnv(subnetFile);
    if (env === null) return null;
    const net = parseCidr(env.get('FLANNEL_NETWORK')?.split(',')[0]?.trim() ?? '');
    const subnet = previousSubnet(env);
    return net !== null && subnet !== null ? { network: canonicalCidr(net), subnet } : null;
  } catch (err) {
    log.error({ file: subnetFile, err: (err as Error).message }, "couldn't read the previous network and subnet from the subnet file");
    return null;
  }
}

/**
 * startTraffic installs the enabled rule sets for Network `network` and node subnet
 * `subnet` and starts the resync. Returns null when both sets are off. Throws UsageError
 * (naming the flag) when iptables is missing or the rules cannot be installed; whatever
 * it had installed is removed first.
 */
export async function startTraffic(o: TrafficOptions, network: Cidr, subnet: Cidr): Promise<Traffic | null> {
  const { log } = o;
  if (!o.ipMasq && !o.forwardRules) return null;
  const flags = [o.ipMasq ? '--ip-masq' : '', o.forwardRules ? '--iptables-forward-rules (on by default)' : ''].filter((f) => f !== '').join(' and ');
  let ipt: Iptables;
  try {
    ipt = new Iptables(o.exec, await detectIptables(o.exec), o.tmpDir);
  } catch (err) {
    const off = o.forwardRules ? '; pass --iptables-forward-rules=false' + (o.ipMasq ? ' and drop --ip-masq' : '') + ' to run without rules' : '';
    throw new UsageError(`${flags} need iptables: ${(err as Error).message}${off}`, { cause: err });
  }
  const randomFully = ipt.caps.randomFully && !o.ipMasqFullyRandomDisable;
  const masq = o.ipMasq ? masqRules(network, subnet, randomFully) : [];
  const forward = o.forwardRules ? forwardRules(network) : [];
  const ours: Array<{ table: Table; chain: string }> = [
    ...(o.ipMasq ? [{ table: 'nat' as const, chain: MASQ_CHAIN }] : []),
    ...(o.forwardRules ? [{ table: 'filter' as const, chain: FWD_CHAIN }] : []),
  ];
  let step = '';
  try {
    if (o.ipMasq) {
      step = "--ip-masq: installing flanneld's masquerade rules";
      const prev = await previousNetwork(o.subnetFile, log);
      if (prev !== null && (!sameCidr(prev.network, network) || !sameCidr(prev.subnet, subnet))) {
        log.info({ network: formatCidr(network), subnet: formatCidr(subnet), prevNetwork: formatCidr(prev.network), prevSubnet: formatCidr(prev.subnet) },
          'current network or subnet is not equal to previous one, recycling old iptables rules');
        await ipt.teardown(masqRules(prev.network, prev.subnet, randomFully));
      }
      await ipt.clearChain('nat', MASQ_CHAIN);
      await ipt.bootstrap(masq);
      log.info({ randomFully, iptables: ipt.caps.version }, 'masquerade rules installed');
    }
    if (o.forwardRules) {
      step = "--iptables-forward-rules: installing flanneld's FORWARD accept rules";
      await ipt.clearChain('filter', FWD_CHAIN);
      await ipt.bootstrap(forward);
      log.info({ network: formatCidr(makeCidr(network.network, network.prefixLen)) }, 'forward rules installed');
    }
  } catch (err) {
    await ipt.removeChains(ours).catch(() => undefined);
    throw new UsageError(`${step} failed: ${(err as Error).message}`, { cause: err });
  }

  let stopped = false;
  let running: Promise<boolean> | null = null;
  let timer: NodeJS.Timeout | undefined;
  const pass = async (): Promise<boolean> => {
    let repaired = false;
    for (const [name, rules] of [['masquerade', masq], ['forward', forward]] as const) {
      if (rules.length === 0 || stopped) continue;
      try {
        if (await ipt.ensure(rules)) {
          repaired = true;
          log.info({ set: name }, 'Some iptables rules are missing; deleting and recreating rules');
        }
      } catch (err) {
        log.error({ set: name, err: (err as Error).message }, 'Failed to ensure iptables rules');
      }
    }
    return repaired;
  };
  const resync = (): Promise<boolean> => {
    running ??= pass().finally(() => { running = null; });
    return running;
  };
  const schedule = (): void => {
    timer = setTimeout(() => { void resync().finally(() => { if (!stopped) schedule(); }); }, o.resyncSeconds * 1000);
    timer.unref();
  };
  schedule();
  return {
    masq,
    forward,
    resync,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await running;
      const removed = await ipt.removeChains(ours);
      log.info({ removed: removed.length }, 'iptables rules removed');
    },
  };
}
