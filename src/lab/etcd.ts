// SPDX-License-Identifier: Apache-2.0
/**
 * etcd for tests and the demo: a 1- or 3-member cluster of the Debian `etcd` binary,
 * started by PID on non-default ports with temporary data directories.
 *
 * - Node mode (`nodes` given): one member per lab node, inside its namespace, listening
 *   on its underlay IP (and 127.0.0.1 there) at port 23791, peers at 23801. vxtun nodes
 *   reach it over the underlay; the test reads and writes it with etcdctl run inside a
 *   member's namespace (`ctl`, `list`, `put`, `del`).
 * - Loopback mode (no nodes): members listen on 127.0.0.1 of the current namespace at
 *   free ports (chosen at start), so the test process can use an etcd3 client directly.
 *
 * Every member is spawned directly (no wrapper shell, so the child PID is etcd's own) and
 * killed by that PID: on member.kill(), destroy(), and process exit. Short heartbeat and
 * election timeouts make leader changes take well under a second. startVxtunOnEtcd()
 * runs `vxtun run` on a lab node with the etcd subnet manager.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LabNode } from './node.js';
import type { RunResult } from './netns.js';
import { execAsync, isRunning, registerCleanup, stopChild, waitForOutput } from './proc.js';
import { launchVxtunRun, type LabFiles, type LabVxtun } from './vxtun.js';

/** A skip message when the etcd binaries are missing; null when they are there. */
export function etcdSkipReason(): string | null {
  for (const bin of ['etcd', 'etcdctl']) {
    if (!process.env.PATH?.split(':').some((d) => existsSync(path.join(d, bin)))) return `needs ${bin} (Debian: apt-get install etcd-server etcd-client)`;
  }
  return null;
}

/** Options of EtcdCluster.start(). */
export interface EtcdClusterOptions {
  /** One member per node, in its namespace on its underlay IP. Omit for loopback mode. */
  nodes?: readonly LabNode[];
  /** Loopback mode: number of members (default 1). */
  members?: number;
  /** Node mode ports (default 23791 client, 23801 peer). */
  clientPort?: number;
  peerPort?: number;
  /** How long to wait until every member serves clients (default 20 s). */
  timeoutMs?: number;
}

/** One key as etcdctl reports it. */
export interface EtcdKv {
  key: string;
  value: string;
  /** etcd lease ID (decimal string), '0' for a key without a lease. */
  lease: string;
}

/** One etcd process. */
export class EtcdMember {
  #argv: string[] = [];
  #child: ChildProcess | undefined;
  #log = '';
  #runStart = 0;

  /** @internal created by EtcdCluster.start(). */
  constructor(readonly name: string, readonly clientUrl: string, readonly peerUrl: string, readonly dataDir: string, readonly node: LabNode | undefined) {}

  /** PID of the running etcd, undefined when it is not running. */
  get pid(): number | undefined {
    return this.#child !== undefined && isRunning(this.#child) ? this.#child.pid : undefined;
  }

  /** stderr of every run of this member so far (zap JSON lines). */
  log(): string {
    return this.#log;
  }

  /** @internal spawns etcd with `argv` (kept for restart()). */
  spawn(argv: string[]): ChildProcess {
    this.#argv = argv;
    this.#runStart = this.#log.length;
    const child = this.node !== undefined
      ? this.node.spawn(argv, { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => { this.#log += d.toString(); });
    this.#child = child;
    return child;
  }

  /** Resolves once this run logged that it serves clients; rejects if it exits first. */
  async ready(timeoutMs: number): Promise<void> {
    const child = this.#child;
    if (child === undefined) throw new Error(`etcd member ${this.name} was never started`);
    if (/serving client traffic/.test(this.#log.slice(this.#runStart))) return;
    await waitForOutput(child, child.stderr, /serving client traffic/, timeoutMs)
      .catch((err: Error) => { throw new Error(`etcd member ${this.name} (${this.clientUrl}): ${err.message.slice(0, 2000)}`); });
  }

  /** Kills this member by PID with `signal` (default SIGKILL) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.#child !== undefined) await stopChild(this.#child, signal, 2000);
  }

  /** Starts this member again on the same data directory (after kill()); resolves once it serves. */
  async restart(timeoutMs = 20_000): Promise<void> {
    if (this.pid !== undefined) throw new Error(`etcd member ${this.name} is still running (pid ${this.pid})`);
    this.spawn(this.#argv.map((a) => (a === 'new' ? 'existing' : a)));
    await this.ready(timeoutMs);
  }

  /** @internal synchronous SIGKILL (cleanup paths). */
  killNow(): void {
    if (this.#child !== undefined && isRunning(this.#child)) this.#child.kill('SIGKILL');
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** A running etcd cluster; destroy() kills every member by PID and removes the data. */
export class EtcdCluster {
  readonly members: readonly EtcdMember[];
  readonly #root: string;
  readonly #unregister: () => void;
  #destroyed = false;

  private constructor(members: EtcdMember[], root: string) {
    this.members = members;
    this.#root = root;
    this.#unregister = registerCleanup(() => this.destroy());
  }

  /** Starts the members and resolves once every one serves clients; on failure destroys them and rethrows. */
  static async start(o: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const root = mkdtempSync(path.join(base, 'vxtun-etcd-'));
    const specs: Array<{ name: string; ip: string; client: number; peer: number; node?: LabNode }> = [];
    if (o.nodes !== undefined) {
      for (const n of o.nodes) specs.push({ name: n.name, ip: n.underlayIp, client: o.clientPort ?? 23791, peer: o.peerPort ?? 23801, node: n });
    } else {
      for (let i = 0; i < (o.members ?? 1); i++) specs.push({ name: `m${i}`, ip: '127.0.0.1', client: await freePort(), peer: await freePort() });
    }
    const members = specs.map((s) => new EtcdMember(s.name, `http://${s.ip}:${s.client}`, `http://${s.ip}:${s.peer}`, path.join(root, s.name), s.node));
    const cluster = new EtcdCluster(members, root);
    try {
      const initial = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
      for (const [i, m] of members.entries()) {
        const s = specs[i]!;
        const clientUrls = s.node ? `${m.clientUrl},http://127.0.0.1:${s.client}` : m.clientUrl;
        m.spawn(['etcd', '--name', m.name, '--data-dir', m.dataDir, '--logger', 'zap', '--log-outputs', 'stderr',
          '--listen-client-urls', clientUrls, '--advertise-client-urls', m.clientUrl,
          '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
          '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', path.basename(root),
          '--heartbeat-interval', '50', '--election-timeout', '500', '--enable-v2=false']);
      }
      await Promise.all(members.map((m) => m.ready(o.timeoutMs ?? 20_000)));
      return cluster;
    } catch (err) {
      cluster.destroy();
      throw err;
    }
  }

  /** Client URLs of all members (for --etcd-endpoints / the etcd3 client). */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** The member called `name`; throws when none. */
  member(name: string): EtcdMember {
    const m = this.members.find((x) => x.name === name);
    if (m === undefined) throw new Error(`no etcd member ${name}`);
    return m;
  }

  /** Runs `etcdctl <args>` (API v3) against the running members, inside a running member's namespace. */
  async ctl(args: readonly string[], timeoutMs = 10_000): Promise<RunResult> {
    const live = this.members.filter((m) => m.pid !== undefined);
    const via = live[0];
    if (via === undefined) throw new Error('etcdctl: no etcd member is running');
    const argv = ['env', 'ETCDCTL_API=3', 'etcdctl', '--endpoints', live.map((m) => m.clientUrl).join(','), '--command-timeout', '3s', ...args];
    return execAsync(via.node !== undefined ? via.node.ns.argv(...argv) : argv, timeoutMs);
  }

  /**
   * ctl, and its stdout when it succeeded. A request caught by a leader change (e.g. right
   * after a member was killed) times out in etcd instead of failing fast: retried twice.
   */
  async #ctlOk(args: readonly string[]): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.ctl(args);
      if (r.status === 0) return r.stdout;
      if (attempt >= 3 || !/deadline exceeded|request timed out|leader changed|no leader|unavailable/i.test(r.stderr)) {
        throw new Error(`etcdctl ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.trim().slice(-1000)}`);
      }
    }
  }

  /** Every key under `prefix` with its value and lease, in key order. */
  async list(prefix: string): Promise<EtcdKv[]> {
    const out = await this.#ctlOk(['get', '--prefix', prefix, '-w', 'json']);
    // Lease IDs are int64: keep them as strings (JSON numbers would lose precision).
    const doc = JSON.parse(out.replace(/"lease":(\d+)/g, '"lease":"$1"')) as { kvs?: Array<{ key: string; value?: string; lease?: string }> };
    const b64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');
    return (doc.kvs ?? []).map((kv) => ({ key: b64(kv.key), value: b64(kv.value), lease: kv.lease ?? '0' }));
  }

  /** Puts `key`; with ttlSec, attached to a newly granted lease of that TTL (as flanneld writes leases). */
  async put(key: string, value: string, opts: { ttlSec?: number } = {}): Promise<void> {
    const lease: string[] = [];
    if (opts.ttlSec !== undefined) {
      const m = /lease ([0-9a-f]+) granted/.exec(await this.#ctlOk(['lease', 'grant', String(opts.ttlSec)]));
      if (m === null) throw new Error('etcdctl lease grant: no lease ID in its output');
      lease.push(`--lease=${m[1]!}`);
    }
    await this.#ctlOk(['put', ...lease, '--', key, value]);
  }

  /** Deletes `key` (or every key under it with prefix: true); resolves with the number deleted. */
  async del(key: string, opts: { prefix?: boolean } = {}): Promise<number> {
    return Number((await this.#ctlOk(['del', ...(opts.prefix ? ['--prefix'] : []), '--', key])).trim());
  }

  /** The member that is the raft leader now (per `etcdctl endpoint status`). */
  async leader(): Promise<EtcdMember> {
    const out = (await this.#ctlOk(['endpoint', 'status', '-w', 'json'])).replace(/"(member_id|leader)":(\d+)/g, '"$1":"$2"');
    const st = JSON.parse(out) as Array<{ Endpoint: string; Status: { header: { member_id: string }; leader: string } }>;
    const url = st.find((x) => x.Status.leader === x.Status.header.member_id)?.Endpoint;
    const m = this.members.find((x) => x.clientUrl === url);
    if (m === undefined) throw new Error(`no etcd leader among ${st.map((x) => x.Endpoint).join(', ')}`);
    return m;
  }

  /** Compacts the history up to the current revision (watchers from older revisions get "compacted"). */
  async compact(): Promise<number> {
    const doc = JSON.parse(await this.#ctlOk(['get', '/', '-w', 'json'])) as { header: { revision: number } };
    await this.#ctlOk(['compaction', String(doc.header.revision)]);
    return doc.header.revision;
  }

  /** Kills every member by PID and removes the data directories. Synchronous and idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const m of this.members) m.killNow();
    rmSync(this.#root, { recursive: true, force: true });
    this.#unregister();
  }
}

/** Options of startVxtunOnEtcd(). */
export interface StartVxtunOnEtcdOptions {
  /** The store: a cluster (all its endpoints) or explicit endpoint URLs. */
  etcd: EtcdCluster | readonly string[];
  /** The lab's scratch files (subnet.env per node). */
  files: LabFiles;
  /** --etcd-prefix (default: vxtun's default, /coreos.com/network). */
  prefix?: string;
  /** Extra `vxtun run` flags. */
  args?: readonly string[];
  /** Extra environment (e.g. test hooks). */
  env?: Readonly<Record<string, string>>;
  /** How long to wait for "forwarding" (default 20 s). */
  timeoutMs?: number;
}

/**
 * Starts `vxtun run --iface ul0 --etcd-endpoints …` (the etcd subnet manager: neither
 * --kube-subnet-mgr nor --subnet-mgr static) in `node`'s namespace and waits until it logs
 * that it is forwarding. Rejects (with its log) if it exits first.
 */
export async function startVxtunOnEtcd(node: LabNode, o: StartVxtunOnEtcdOptions): Promise<LabVxtun> {
  const endpoints = o.etcd instanceof EtcdCluster ? o.etcd.endpoints : o.etcd;
  return launchVxtunRun(node, ['--iface', node.ulDev, '--etcd-endpoints', endpoints.join(','),
    ...(o.prefix !== undefined ? ['--etcd-prefix', o.prefix] : []), '--subnet-file', o.files.subnetFile(node), ...(o.args ?? [])],
  { ...(o.env !== undefined ? { env: o.env } : {}), timeoutMs: o.timeoutMs ?? 20_000 });
}
