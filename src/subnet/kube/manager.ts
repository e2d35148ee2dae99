// SPDX-License-Identifier: Apache-2.0
/**
 * KubeSubnetManager: flanneld's --kube-subnet-mgr. Subnets are not allocated here: each
 * Node's spec.podCIDR (set by kube-controller-manager --allocate-node-cidrs) is its lease,
 * and the rest of the lease travels in flannel's node annotations (annotations.ts).
 *
 * acquireLease, as flanneld's AcquireLease + CompleteLease:
 *   1. list+watch all Nodes; wait (≤ nodeWaitMs, 30 s by default, logging) for ours;
 *   2. subnet = our IPv4 podCIDR: "node <name> pod cidr not assigned" when empty, a
 *      ConfigError when outside Network;
 *   3. public IP = `node-public-ip` annotation if set (flanneld uses it as --public-ip),
 *      else the interface address; advertised = `public-ip-overwrite` if set, else that;
 *   4. VtepMAC = the one in our `backend-data` annotation when valid (a restart keeps
 *      it), else req.newMac();
 *   5. one strategic-merge PATCH of nodes/<name>/status carrying only the annotations
 *      that differ (backend-type, backend-data, public-ip, kube-subnet-manager);
 *   6. with setNodeNetworkUnavailable, PATCH condition NetworkUnavailable=False
 *      (FlannelIsUp); a failure there is logged, not fatal (as flanneld).
 * Our own lease's publicIp is the advertised address (what peers see).
 *
 * watchLeases delivers [our lease, every other flannel node's lease] now and whenever
 * that set changes. Nodes without `kube-subnet-manager: "true"` are not flannel nodes
 * and are skipped; flannel nodes that cannot be used are logged once per distinct
 * problem, with the node name and annotation, and left out. Our Node being deleted (or
 * missing from a re-list) runs the onLeaseLost callbacks once.
 */
import { readFileSync } from 'node:fs';
import { formatCidr, formatIpv4 } from '../../config/cidr.js';
import { ConfigError } from '../../config/errors.js';
import type { Lease } from '../../config/lease.js';
import { parseNetConfRaw, type NetConfig, type RawNetConfig } from '../../config/netconf.js';
import { UsageError } from '../../cli/errors.js';
import type { Logger } from '../../daemon/log.js';
import type { LeaseRequest, SubnetManager } from '../manager.js';
import { backendDataValue, storedVtepMac, type AnnotationKeys } from './annotations.js';
import type { NodeApi } from './client.js';
import { NodeCache, type NodeCacheOptions } from './node-cache.js';
import { checkInNetwork, ipv4PodCidr, leasesFingerprint, nodeToLease, parsePublicIp, subnetKeyOf, type KubeNode } from './node-lease.js';
import { annotationPatch, networkUnavailablePatch } from './patches.js';

export interface KubeManagerOptions {
  api: NodeApi;
  nodeName: string;
  keys: AnnotationKeys;
  netConfigPath: string;
  setNodeNetworkUnavailable: boolean;
  log: Logger;
  /** How long acquireLease waits for our Node (default 30 000 ms, flanneld's wait). */
  nodeWaitMs?: number;
  cache?: NodeCacheOptions;
}

/**
 * kubeNetConfig completes a raw config for the SubnetManager interface. flanneld never
 * applies SubnetLen/SubnetMin/SubnetMax in kube mode (the controller-manager allocates), so
 * these are informational: the values flannel would default to, never validated here.
 */
export function kubeNetConfig(raw: RawNetConfig): NetConfig {
  const len = raw.subnetLen ?? (raw.network.prefixLen <= 22 ? 24 : Math.min(raw.network.prefixLen + 2, 32));
  const size = 2 ** (32 - len);
  const end = raw.network.network + 2 ** (32 - raw.network.prefixLen);
  return { ...raw, subnetLen: len, subnetMin: raw.subnetMin ?? raw.network.network + size, subnetMax: raw.subnetMax ?? end - size };
}

export class KubeSubnetManager implements SubnetManager {
  readonly kind = 'kube' as const;
  readonly #o: KubeManagerOptions;
  readonly #cache: NodeCache;
  #netconf: NetConfig | undefined;
  #own: Lease | undefined;
  #lostCbs: Array<(reason: string) => void> = [];
  #lost = false;
  #unsubscribe: Array<() => void> = [];
  readonly #problems = new Map<string, string>();
  #holders = new Set<string>();

  constructor(o: KubeManagerOptions) {
    this.#o = o;
    this.#cache = new NodeCache(o.api, o.log, o.cache);
  }

  /** The node this manager acts for. */
  get nodeName(): string {
    return this.#o.nodeName;
  }

  async getNetworkConfig(): Promise<NetConfig> {
    if (this.#netconf === undefined) {
      const path = this.#o.netConfigPath;
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        throw new ConfigError(path, '(file)', path, `cannot be read (net-conf.json): ${(err as Error).message}`);
      }
      this.#netconf = kubeNetConfig(parseNetConfRaw(path, text));
    }
    return this.#netconf;
  }

  /** On failure the node watch is stopped again, so a daemon that gives up can exit. */
  async acquireLease(req: LeaseRequest): Promise<Lease> {
    try {
      return await this.#acquire(req);
    } catch (err) {
      this.#cache.stop();
      throw err;
    }
  }

  async #acquire(req: LeaseRequest): Promise<Lease> {
    const netconf = await this.getNetworkConfig();
    const { keys, log, nodeName: name } = this.#o;
    const node = await this.#waitForNode();
    const subnet = ipv4PodCidr(node);
    if (subnet === null) {
      throw new ConfigError(`node ${name}`, 'spec.podCIDR', '(missing)', 'is not assigned',
        `node "${name}" pod cidr not assigned: spec.podCIDR is empty (run kube-controller-manager with --allocate-node-cidrs and --cluster-cidr, e.g. kubeadm --pod-network-cidr)`);
    }
    checkInNetwork(name, subnet, netconf.network, this.#o.netConfigPath);

    const a = node.annotations;
    let publicIp = req.publicIp;
    const nodePublic = a[keys.nodePublicIp];
    if (nodePublic) {
      publicIp = parsePublicIp(name, keys.nodePublicIp, nodePublic);
      log.info({ node: name, annotation: keys.nodePublicIp, publicIp: nodePublic }, 'using the public IP from the node annotation');
    }
    let advertised = publicIp;
    const overwrite = a[keys.publicIpOverwrite];
    if (overwrite) {
      advertised = parsePublicIp(name, keys.publicIpOverwrite, overwrite);
      log.info({ node: name, annotation: keys.publicIpOverwrite, publicIp: overwrite }, 'overriding the advertised public IP from the node annotation');
    }
    const stored = storedVtepMac(name, keys.backendData, a[keys.backendData]);
    const vtepMac = stored ?? req.newMac();
    log.info({ node: name, vtepMac, reused: stored !== null }, stored !== null ? 'reusing the VtepMAC stored in our node annotation' : 'no stored VtepMAC; using a new one');

    const want: Record<string, string> = {
      [keys.backendData]: backendDataValue(netconf.backend.vni, vtepMac),
      [keys.backendType]: 'vxlan',
      [keys.kubeSubnetManager]: 'true',
      [keys.publicIp]: formatIpv4(advertised),
    };
    const patch = annotationPatch(a, want);
    if (patch !== null) {
      await this.#o.api.patchNodeStatus(name, patch);
      log.info({ node: name, annotations: patch.metadata.annotations }, 'published our lease in the node annotations');
    }
    if (this.#o.setNodeNetworkUnavailable) {
      try {
        await this.#o.api.patchNodeStatus(name, networkUnavailablePatch(new Date()));
        log.info({ node: name }, 'set node condition NetworkUnavailable=False (FlannelIsUp)');
      } catch (err) {
        log.error({ node: name, err: (err as Error).message }, 'setting the NetworkUnavailable condition failed');
      }
    }
    const own: Lease = { subnet, key: subnetKeyOf(subnet), publicIp: advertised, vni: netconf.backend.vni, vtepMac, backendType: 'vxlan' };
    this.#own = own;
    log.info({ node: name, subnet: formatCidr(subnet), publicIp: formatIpv4(advertised), vtepMac }, 'lease acquired from the node podCIDR');
    this.#unsubscribe.push(this.#cache.onChange((c) => {
      const gone = c.type === 'DELETED' ? c.node.name === name : c.type === 'RELIST' && this.#cache.get(name) === undefined;
      if (gone) this.#leaseLost(`node ${name} was deleted from the Kubernetes API`);
    }));
    return own;
  }

  watchLeases(onLeases: (leases: readonly Lease[]) => void): () => void {
    if (this.#own === undefined) throw new Error('watchLeases before acquireLease');
    let last: string | undefined;
    const deliver = (): void => {
      const leases = this.#snapshot();
      const fp = leasesFingerprint(leases);
      if (fp === last) return;
      last = fp;
      onLeases(leases);
    };
    deliver();
    const off = this.#cache.onChange(() => deliver());
    this.#unsubscribe.push(off);
    return off;
  }

  onLeaseLost(cb: (reason: string) => void): void {
    this.#lostCbs.push(cb);
  }

  async close(): Promise<void> {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    this.#cache.stop();
  }

  #leaseLost(reason: string): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#o.log.error({ node: this.#o.nodeName, reason }, 'our lease is gone');
    for (const cb of this.#lostCbs) cb(reason);
  }

  /** Our lease first, then every usable flannel node but ours; problems logged once per change. */
  #snapshot(): Lease[] {
    const own = this.#own!;
    const netconf = this.#netconf!;
    const { keys, log, nodeName } = this.#o;
    const leases: Lease[] = [own];
    const byKey = new Map<string, string>([[own.key, nodeName]]);
    const seen = new Set<string>();
    // Two nodes claiming one podCIDR: the one already holding it keeps it, else the first by name.
    const rank = (n: KubeNode): string => `${this.#holders.has(n.name) ? 0 : 1}${n.name}`;
    const nodes = this.#cache.list().filter((n) => n.name !== nodeName).sort((x, y) => (rank(x) < rank(y) ? -1 : 1));
    for (const n of nodes) {
      seen.add(n.name);
      const r = nodeToLease(n, keys, netconf.network, this.#o.netConfigPath);
      let problem: string | undefined;
      if (r.kind === 'problem') problem = r.problem.message;
      else if (r.kind === 'lease') {
        const holder = byKey.get(r.lease.key);
        if (holder !== undefined) problem = `node ${n.name}: spec.podCIDR: ${formatCidr(r.lease.subnet)} is also node ${holder}'s`;
        else {
          byKey.set(r.lease.key, n.name);
          leases.push(r.lease);
        }
      }
      if (problem === undefined) this.#problems.delete(n.name);
      else if (this.#problems.get(n.name) !== problem) {
        this.#problems.set(n.name, problem);
        log.warn({ node: n.name, problem }, `ignoring a flannel node: ${problem}`);
      }
    }
    for (const name of this.#problems.keys()) if (!seen.has(name)) this.#problems.delete(name);
    this.#holders = new Set(byKey.values());
    return leases;
  }

  /** Starts the node cache and waits (bounded, logging) until our Node is in it. */
  async #waitForNode(): Promise<KubeNode> {
    const { log, nodeName: name, api } = this.#o;
    const waitMs = this.#o.nodeWaitMs ?? 30_000;
    this.#cache.start();
    const found = this.#cache.get(name);
    if (found !== undefined) return found;
    const start = Date.now();
    let nextLog = start + 5000;
    let announced = false;
    return new Promise<KubeNode>((resolve, reject) => {
      const finish = (fn: () => void): void => {
        clearInterval(timer);
        off();
        fn();
      };
      const check = (): void => {
        const n = this.#cache.get(name);
        if (n !== undefined) return finish(() => resolve(n));
        if (this.#cache.synced && !announced) {
          announced = true;
          log.info({ node: name, server: api.server, waitMs }, 'our node is not in the Kubernetes API yet; waiting for it');
        }
        const now = Date.now();
        if (now - start >= waitMs) {
          return finish(() => reject(this.#cache.synced
            ? new UsageError(`node "${name}" is not registered in the Kubernetes API at ${api.server} (waited ${waitMs / 1000} s): check NODE_NAME / the node name`)
            : new Error(`cannot list nodes from the Kubernetes API within ${waitMs / 1000} s: ${this.#cache.lastError ?? 'no answer'}`)));
        }
        if (now >= nextLog) {
          nextLog = now + 5000;
          log.warn({ node: name, waitedMs: now - start, synced: this.#cache.synced, err: this.#cache.lastError }, 'still waiting for our node in the Kubernetes API');
        }
      };
      const timer = setInterval(check, 200);
      const off = this.#cache.onChange(check);
    });
  }
}
