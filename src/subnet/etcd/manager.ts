// SPDX-License-Identifier: Apache-2.0
/**
 * EtcdSubnetManager: flanneld's etcd subnet manager (pkg/subnet/etcd, v3 API) behind the
 * SubnetManager contract (see ../manager.ts). Store access goes through an EtcdRegistry.
 *
 * - getNetworkConfig: `<prefix>/config`, parsed as flanneld does in etcd mode (SubnetLen/
 *   Min/Max defaults and checks). Missing → ConfigError with flannel's message.
 * - acquireLease: flannel's tryAcquireLease (acquire.ts), ≤10 rounds lost to races, each
 *   lease written with serializeLease and a 24 h etcd lease. A reused lease keeps its
 *   VtepMAC (flanneld draws a new one on every start, so peers must relearn it).
 * - Renewal at expiration − renew margin (a new Grant + Put, guarded by our value); on
 *   failure every minute, logged. If our key expired meanwhile (the store was unreachable
 *   longer than the TTL), the same subnet is created again if still free; if another node
 *   holds it, the lease is lost.
 * - watchLeases: see lease-watch.ts. Our key deleted before it could have expired
 *   (confirmed by reading the store) → onLeaseLost("Lease has been revoked ...").
 * - An unreachable store at startup is waited for (capped backoff, each attempt logged).
 */
import { formatCidr, formatIpv4, type Cidr } from '../../config/cidr.js';
import { ConfigError, MISSING } from '../../config/errors.js';
import { serializeLease, type Lease } from '../../config/lease.js';
import { parseNetConf, type NetConfig } from '../../config/netconf.js';
import { previousSubnet, readSubnetEnv } from '../../config/subnet-env.js';
import { formatSubnetKey } from '../../config/subnet-key.js';
import type { Logger } from '../../daemon/log.js';
import type { LeaseRequest, SubnetManager } from '../manager.js';
import { allocateSubnet, findOwnEntry, fitsConfig, keySubnet, looseValue, occupiedSubnets, previousProblem, RACE_RETRIES } from './acquire.js';
import { systemClock, type Clock } from './clock.js';
import { LeaseWatch } from './lease-watch.js';
import type { EtcdRegistry, SubnetListing } from './registry.js';
import { DEFAULT_BACKOFF, ManagerClosedError, Sleeper, untilReachable, type Backoff } from './retry.js';
import { Renewer, type OwnLease } from './renew.js';

/** flannel's subnetTTL. */
export const SUBNET_TTL_SEC = 24 * 60 * 60;

export interface EtcdManagerOptions {
  registry: EtcdRegistry;
  log: Logger;
  /** subnet.env: its FLANNEL_SUBNET is tried first when we hold no lease. */
  subnetFile: string;
  /** --subnet-lease-renew-margin in seconds (flanneld: minutes × 60). */
  renewMarginSec: number;
  /** Lease TTL (default 24 h). */
  ttlSec?: number;
  /** Pause after a failed renewal (default 60 s). */
  renewRetrySec?: number;
  clock?: Clock;
  /** 0 ≤ r < 1, for the random pick among free subnets (default Math.random). */
  random?: () => number;
  backoff?: Backoff;
}

export class EtcdSubnetManager implements SubnetManager {
  readonly kind = 'etcd' as const;
  readonly #o: EtcdManagerOptions;
  readonly #reg: EtcdRegistry;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #sleeper: Sleeper;
  readonly #backoff: Backoff;
  readonly #ttl: number;
  readonly #lostCbs: Array<(reason: string) => void> = [];
  readonly #watches = new Set<LeaseWatch>();
  #netconf: NetConfig | undefined;
  #own: OwnLease | undefined;
  #listing: SubnetListing | undefined;
  #renewer: Renewer | undefined;
  #lost = false;
  #closed = false;

  constructor(o: EtcdManagerOptions) {
    this.#o = o;
    this.#reg = o.registry;
    this.#log = o.log;
    this.#clock = o.clock ?? systemClock;
    this.#sleeper = new Sleeper(this.#clock);
    this.#backoff = o.backoff ?? DEFAULT_BACKOFF;
    this.#ttl = o.ttlSec ?? SUBNET_TTL_SEC;
  }

  #retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return untilReachable(fn, { what, endpoints: this.#reg.endpoints, log: this.#log, sleeper: this.#sleeper, backoff: this.#backoff });
  }

  async getNetworkConfig(): Promise<NetConfig> {
    if (this.#netconf !== undefined) return this.#netconf;
    const key = this.#reg.configKey;
    const text = await this.#retry(`get ${key}`, () => this.#reg.getNetworkConfig());
    if (text === null) {
      throw new ConfigError(`etcd ${key}`, '(key)', MISSING, 'is missing',
        `flannel config not found in etcd store. Did you create your config using etcdv3 API? (no key ${key} at ${this.#reg.endpoints})`);
    }
    this.#netconf = parseNetConf(`etcd ${key}`, text);
    this.#log.info({ key, backend: this.#netconf.backend.type, network: formatCidr(this.#netconf.network) }, 'Found network config');
    return this.#netconf;
  }

  async acquireLease(req: LeaseRequest): Promise<Lease> {
    const netconf = await this.getNetworkConfig();
    const previous = await this.#previousSubnet();
    for (let round = 0; round < RACE_RETRIES; round++) {
      const listing = await this.#retry('list subnets', () => this.#reg.listSubnets());
      const got = await this.#tryAcquire(netconf, listing, req, previous);
      if (got !== null) {
        const { own, deleted } = got;
        this.#own = own;
        // The watch starts from this listing: patch in what we just wrote and deleted.
        const entries = listing.entries.filter((e) => e.key !== own.lease.key && e.key !== deleted);
        this.#listing = { revision: listing.revision, entries: [...entries, { key: own.lease.key, value: own.value, leaseId: null }] };
        this.#renewer = new Renewer({
          registry: this.#reg, log: this.#log, clock: this.#clock, ttlSec: this.#ttl,
          renewMarginSec: this.#o.renewMarginSec, retrySec: this.#o.renewRetrySec ?? 60,
          get: () => this.#own!, set: (o) => { this.#own = o; }, lose: (reason) => this.#lose(reason),
        });
        this.#renewer.schedule();
        return own.lease;
      }
      this.#log.info({ round: round + 1 }, 'the subnet was taken by another node meanwhile; trying again');
    }
    throw new Error(`etcd at ${this.#reg.endpoints}: Max retries reached trying to acquire a subnet (${RACE_RETRIES} races lost under ${this.#reg.fullKey('')})`);
  }

  async #previousSubnet(): Promise<Cidr | null> {
    try {
      const env = await readSubnetEnv(this.#o.subnetFile);
      return env === null ? null : previousSubnet(env);
    } catch (err) {
      this.#log.warn({ file: this.#o.subnetFile, err: (err as Error).message }, 'cannot read the previous subnet.env; ignoring it');
      return null;
    }
  }

  /** One round of flannel's tryAcquireLease; null when a race was lost. `deleted`: our incompatible old key. */
  async #tryAcquire(netconf: NetConfig, listing: SubnetListing, req: LeaseRequest, previous: Cidr | null): Promise<{ own: OwnLease; deleted?: string } | null> {
    const ip = formatIpv4(req.publicIp);
    const mine = findOwnEntry(listing.entries, req.publicIp);
    let skip: string | undefined;
    if (mine !== undefined) {
      const sn = keySubnet(mine.key)!;
      if (fitsConfig(netconf, sn) && mine.key === formatSubnetKey(sn)) {
        const keptMac = looseValue(mine.value).vtepMac;
        const lease = this.#lease(sn, req.publicIp, netconf, keptMac ?? req.newMac());
        const value = serializeLease(lease);
        const reservation = mine.leaseId === null;
        this.#log.info({ key: this.#reg.fullKey(mine.key), vtepMac: lease.vtepMac, macKept: keptMac !== null, reservation },
          `Found lease (${formatCidr(sn)}) for current IP (${ip}), reusing`);
        const t0 = this.#clock.now();
        const r = await this.#retry(`renew ${mine.key}`, () => this.#reg.updateSubnet(mine.key, value, reservation ? 0 : this.#ttl, mine.value));
        return r.result === 'updated' ? { own: this.#ownLease(lease, value, reservation ? null : t0) } : null;
      }
      this.#log.info({ key: this.#reg.fullKey(mine.key) }, `Found lease (${mine.key}) for current IP (${ip}) but not compatible with current config, deleting`);
      await this.#retry(`delete ${mine.key}`, () => this.#reg.deleteSubnet(mine.key));
      skip = mine.key;
    }
    const occupied = occupiedSubnets(listing.entries, skip);
    let sn: Cidr | null = null;
    if (previous !== null) {
      const problem = previousProblem(netconf, previous, occupied);
      if (problem === null) {
        this.#log.info({ file: this.#o.subnetFile }, `Found previously leased subnet (${formatCidr(previous)}), reusing`);
        sn = previous;
      } else {
        this.#log.warn({ file: this.#o.subnetFile }, `Found previously leased subnet (${formatCidr(previous)}) that ${problem}, ignoring`);
      }
    }
    if (sn === null) {
      this.#log.info(`Picking subnet in range ${formatIpv4(netconf.subnetMin)} ... ${formatIpv4(netconf.subnetMax)}`);
      sn = allocateSubnet(netconf, occupied, this.#o.random ?? Math.random, this.#reg.fullKey(''));
    }
    const lease = this.#lease(sn, req.publicIp, netconf, req.newMac());
    const value = serializeLease(lease);
    const t0 = this.#clock.now();
    const r = await this.#retry(`create ${lease.key}`, () => this.#reg.createSubnet(lease.key, value, this.#ttl));
    if (r === 'exists') return null;
    this.#log.info({ key: this.#reg.fullKey(lease.key), vtepMac: lease.vtepMac }, `Allocated lease (${formatCidr(sn)}) to current node (${ip})`);
    return skip === undefined ? { own: this.#ownLease(lease, value, t0) } : { own: this.#ownLease(lease, value, t0), deleted: skip };
  }

  #lease(sn: Cidr, publicIp: number, netconf: NetConfig, vtepMac: string): Lease {
    return { subnet: sn, key: formatSubnetKey(sn), publicIp, vni: netconf.backend.vni, vtepMac, backendType: 'vxlan' };
  }

  /** Expiration counted from `sentAt`, before the txn was sent, so it is never later than etcd's (null: a reservation). */
  #ownLease(lease: Lease, value: string, sentAt: number | null): OwnLease {
    return { lease, value, expiresAt: sentAt === null ? null : sentAt + this.#ttl * 1000 };
  }

  watchLeases(onLeases: (leases: readonly Lease[]) => void): () => void {
    const netconf = this.#netconf;
    if (this.#own === undefined || netconf === undefined) throw new Error('watchLeases before acquireLease');
    const w = new LeaseWatch({
      registry: this.#reg, log: this.#log, clock: this.#clock, backoff: this.#backoff, netconf,
      own: () => this.#own!, onOwnKeyGone: () => this.#renewer?.checkOwnKey(), deliver: onLeases,
    });
    this.#watches.add(w);
    const listing = this.#listing;
    this.#listing = undefined; // only the first watch may start from the acquire listing
    w.start(listing);
    return () => { w.stop(); this.#watches.delete(w); };
  }

  onLeaseLost(cb: (reason: string) => void): void {
    this.#lostCbs.push(cb);
  }

  #lose(reason: string): void {
    if (this.#lost || this.#closed) return;
    this.#lost = true;
    this.#renewer?.stop();
    this.#log.error({ key: this.#own ? this.#reg.fullKey(this.#own.lease.key) : undefined, reason }, 'Lease has been revoked');
    for (const cb of this.#lostCbs) cb(reason);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sleeper.cancelAll();
    this.#renewer?.stop();
    for (const w of this.#watches) w.stop();
    this.#watches.clear();
    await this.#reg.close();
  }
}

export { ManagerClosedError };
