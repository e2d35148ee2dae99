// SPDX-License-Identifier: Apache-2.0
/**
 * Shared fixtures for the kube subnet manager tests: the API double on 127.0.0.1 (port 0),
 * a scratch directory with its kubeconfig and a net-conf.json, a manager built by the real
 * factory (createKubeSubnetManager, as `vxtun run --kube-subnet-mgr` does), a logger whose
 * lines the test can read, and polling waits bounded by a generous deadline (they wait for
 * asynchronous events; they are not timing assertions).
 */
import type { Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { KubeApiDouble } from '../../../src/lab/kube-api-double.js';
import { createKubeSubnetManager, type KubeManagerTuning } from '../../../src/subnet/kube/index.js';
import type { KubeOptions } from '../../../src/subnet/create.js';
import type { SubnetManager } from '../../../src/subnet/manager.js';
import type { Lease } from '../../../src/config/lease.js';

export const P = 'flannel.alpha.coreos.com';
export const NET_CONF = { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } };

/** A logger keeping every line (parsed) in `lines`. */
export function captureLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** The API double on loopback plus a scratch dir with kubeconfig and net-conf.json; all removed at teardown. */
export async function setup(t: Test, netConf: object = NET_CONF): Promise<{ api: KubeApiDouble; dir: string; kubeconfig: string; netConf: string }> {
  const api = await KubeApiDouble.start({ host: '127.0.0.1', port: 0 });
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-kube-'));
  t.teardown(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const kubeconfig = path.join(dir, 'kubeconfig');
  api.writeKubeconfig(kubeconfig);
  const netConfPath = path.join(dir, 'net-conf.json');
  writeFileSync(netConfPath, JSON.stringify(netConf));
  return { api, dir, kubeconfig, netConf: netConfPath };
}

/** Builds a manager with the factory; closed at teardown. Fast retries so recovery tests are quick. */
export async function manager(t: Test, env: { kubeconfig: string; netConf: string }, o: Partial<KubeOptions> & { log?: Logger; tuning?: KubeManagerTuning } = {}): Promise<SubnetManager> {
  const { log, tuning, ...rest } = o;
  const m = await createKubeSubnetManager({
    kubeconfigFile: env.kubeconfig, annotationPrefix: P, netConfigPath: env.netConf,
    nodeName: 'node1', setNodeNetworkUnavailable: true, ...rest,
  }, log ?? captureLogger().log, { nodeWaitMs: 10_000, cache: { minBackoffMs: 20, maxBackoffMs: 200 }, ...tuning });
  t.teardown(() => m.close());
  return m;
}

/** The annotations a vxlan flanneld writes on its node. */
export function flannelAnnotations(mac: string, publicIp: string, o: { vni?: number; type?: string } = {}): Record<string, string> {
  return {
    [`${P}/kube-subnet-manager`]: 'true',
    [`${P}/backend-type`]: o.type ?? 'vxlan',
    [`${P}/backend-data`]: `{"VNI":${o.vni ?? 1},"VtepMAC":"${mac}"}`,
    [`${P}/public-ip`]: publicIp,
  };
}

/** 192.168.1.1 as uint32. */
export const IP1 = 0xc0a80101;
export const MAC1 = '02:aa:00:00:00:01';

/** A LeaseRequest whose newMac() returns `mac` and counts its calls. */
export function request(publicIp = IP1, mac = MAC1): { publicIp: number; newMac: () => string; calls: number } {
  const r = { publicIp, calls: 0, newMac: () => { r.calls++; return mac; } };
  return r;
}

/** Polls `cond` every 20 ms until it holds; rejects after `ms` (a deadline for an async event, not a timing check). */
export async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Subscribes to watchLeases and keeps every snapshot as sorted `key publicIp mac` strings. */
export function recordLeases(m: SubnetManager): { snapshots: string[][]; last: () => string[]; stop: () => void } {
  const snapshots: string[][] = [];
  const fmt = (l: Lease): string => `${l.key} ${l.publicIp >>> 24}.${(l.publicIp >>> 16) & 255}.${(l.publicIp >>> 8) & 255}.${l.publicIp & 255} ${l.vtepMac}`;
  const stop = m.watchLeases((leases) => snapshots.push(leases.map(fmt).sort()));
  return { snapshots, last: () => snapshots[snapshots.length - 1] ?? [], stop };
}
