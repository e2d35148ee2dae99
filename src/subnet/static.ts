// SPDX-License-Identifier: Apache-2.0
/**
 * The static subnet manager: leases come from a JSON file in flannel's etcd layout (subnet
 * key → lease value), so no etcd is needed. The file is watched: every change is parsed,
 * bad entries are reported and skipped, and the remaining leases are delivered at once.
 *
 * Design note. Our own lease is read from the file at start (the one whose PublicIP is
 * ours). Changing our subnet or VtepMAC under a running node would strand the pods and
 * peers that use them, so such an edit is reported and ignored until the next start. A
 * deleted or unreadable file keeps the last good leases, as flanneld keeps forwarding when
 * its store is unreachable.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { ownLease, parseLeasesFile } from '../config/leases-file.js';
import type { Lease } from '../config/lease.js';
import { parseNetConf, type NetConfig } from '../config/netconf.js';
import { watchFile } from '../config/file-watch.js';
import type { Logger } from '../daemon/log.js';
import type { LeaseRequest, SubnetManager } from './manager.js';

function readFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, '(file)', path, `cannot be read (${what}): ${(err as Error).message}`);
  }
}

export interface StaticManagerOptions {
  netConfigPath: string;
  leasesPath: string;
  log: Logger;
  /** Poll period of the file watch (default 250 ms: changes apply well within a second). */
  intervalMs?: number;
}

export class StaticSubnetManager implements SubnetManager {
  readonly kind = 'static' as const;
  readonly #o: StaticManagerOptions;
  #netconf: NetConfig | undefined;
  #own: Lease | undefined;
  #stops: Array<() => void> = [];

  constructor(o: StaticManagerOptions) {
    this.#o = o;
  }

  async getNetworkConfig(): Promise<NetConfig> {
    this.#netconf ??= parseNetConf(this.#o.netConfigPath, readFile(this.#o.netConfigPath, 'net-conf.json'));
    return this.#netconf;
  }

  /** At start every problem in the file is fatal (exit 2, naming file, key and value). */
  async acquireLease(req: LeaseRequest): Promise<Lease> {
    const netconf = await this.getNetworkConfig();
    const { leases, problems } = parseLeasesFile(this.#o.leasesPath, readFile(this.#o.leasesPath, 'leases'), netconf);
    if (problems.length > 0) throw problems[0]!.error;
    this.#own = ownLease(leases, req.publicIp, this.#o.leasesPath);
    return this.#own;
  }

  watchLeases(onLeases: (leases: readonly Lease[]) => void): () => void {
    const { leasesPath: path, log } = this.#o;
    const own = this.#own;
    const netconf = this.#netconf;
    if (own === undefined || netconf === undefined) throw new Error('watchLeases before acquireLease');
    const apply = (text: string | null): void => {
      if (text === null) {
        log.warn({ file: path }, 'leases file is gone; keeping the last known leases');
        return;
      }
      let parsed;
      try {
        parsed = parseLeasesFile(path, text, netconf);
      } catch (err) {
        log.error({ file: path, err: (err as Error).message }, 'leases file unreadable; keeping the last known leases');
        return;
      }
      for (const p of parsed.problems) log.error({ file: path, key: p.key }, `ignoring lease: ${p.message}`);
      const mine = parsed.leases.find((l) => l.key === own.key);
      if (mine === undefined || mine.publicIp !== own.publicIp || mine.vtepMac !== own.vtepMac) {
        log.error({ file: path, key: own.key }, 'our own lease was removed or changed in the file; keeping the one we started with until restart');
      }
      const others = parsed.leases.filter((l) => l.key !== own.key && l.publicIp !== own.publicIp);
      onLeases([own, ...others]);
    };
    let initial: string | null;
    try {
      initial = readFileSync(path, 'utf8');
    } catch {
      initial = null;
    }
    apply(initial);
    const stop = watchFile(path, apply, {
      initial,
      intervalMs: this.#o.intervalMs ?? 250,
      onError: (err) => log.error({ file: path, err: err.message }, 'watching the leases file failed'),
    });
    this.#stops.push(stop);
    return stop;
  }

  onLeaseLost(): void {
    // A file never revokes a lease.
  }

  async close(): Promise<void> {
    for (const stop of this.#stops) stop();
    this.#stops = [];
  }
}
