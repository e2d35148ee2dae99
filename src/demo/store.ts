// SPDX-License-Identifier: Apache-2.0
/**
 * Where the demo's leases live and how vxtun is started against them: a static leases
 * file (default), or etcd on the three nodes (--etcd) holding flannel's config and one
 * lease per node, which each vxtun finds by its PublicIP and reuses, as flanneld would.
 * Either way every node's lease is the subnet the lab gave its cni0.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabCluster } from '../lab/cluster.js';
import type { LabPeer } from '../lab/kernel-flannel.js';
import { startVxtun, type LabFiles, type LabVxtun } from '../lab/vxtun.js';
import type { EtcdCluster } from '../lab/etcd.js';
import { indent } from './progress.js';
import { leasesTable } from './show.js';

export const ETCD_PREFIX = '/coreos.com/network';
/** As kube-flannel.yml runs flanneld: masquerade leaving traffic, so pods keep their IPs between nodes (FLANNEL_IPMASQ=true). */
export const RUN_ARGS = ['--ip-masq'] as const;

/** True when the lab's etcd support is built (dist/src/lab/etcd.js). */
export function etcdLabAvailable(): boolean {
  return existsSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'lab', 'etcd.js'));
}

export interface DemoStore {
  /** Step titles: the store, then vxtun. */
  readonly titles: { store?: string; vxtun: string };
  /** Sets the store up (etcd only). */
  prepare(): Promise<void>;
  /** Starts vxtun on every node (each with its own control socket). */
  start(): Promise<LabVxtun[]>;
  /** What the store holds, for display. */
  describe(): Promise<string>;
  destroy(): void;
}

export function staticStore(c: LabCluster, files: LabFiles, peers: readonly LabPeer[]): DemoStore {
  return {
    titles: { vxtun: 'start `vxtun run --ip-masq --subnet-mgr static` on every node (the leases below are the store)' },
    async prepare() { files.writeLeases(peers); },
    start: () => Promise.all(c.nodes.map((n) => startVxtun(n, { files, args: [...RUN_ARGS] }))),
    describe: async () => leasesTable(peers, c),
    destroy() {},
  };
}

export function etcdStore(c: LabCluster, files: LabFiles, peers: readonly LabPeer[]): DemoStore {
  let etcd: EtcdCluster | undefined;
  return {
    titles: {
      store: 'start etcd on the three nodes with flannel\'s config and one lease per node',
      vxtun: 'start `vxtun run --ip-masq --etcd-endpoints …` on every node (each reuses the lease holding its PublicIP)',
    },
    async prepare() {
      const { EtcdCluster } = await import('../lab/etcd.js');
      etcd = await EtcdCluster.start({ nodes: c.nodes });
      await etcd.put(`${ETCD_PREFIX}/config`, JSON.stringify({ Network: c.network, Backend: { Type: 'vxlan' } }));
      for (const p of peers) {
        const value = { PublicIP: p.publicIp, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: p.vtepMac } };
        await etcd.put(`${ETCD_PREFIX}/subnets/${p.subnet.replace('/', '-')}`, JSON.stringify(value), { ttlSec: 86400 });
      }
    },
    async start() {
      const { startVxtunOnEtcd } = await import('../lab/etcd.js');
      const store = etcd;
      if (store === undefined) throw new Error('etcd is not running');
      return Promise.all(c.nodes.map((n) => startVxtunOnEtcd(n, { etcd: store, files, args: ['--control-socket', files.controlSocket(n), ...RUN_ARGS] })));
    },
    async describe() {
      const kvs = etcd ? await etcd.list(`${ETCD_PREFIX}/subnets`) : [];
      return `  $ etcdctl get --prefix ${ETCD_PREFIX}/subnets\n${indent(kvs.map((kv) => `${kv.key}\n${kv.value}`).join('\n'))}`;
    },
    destroy() { etcd?.destroy(); },
  };
}
