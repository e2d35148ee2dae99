// SPDX-License-Identifier: Apache-2.0
/**
 * vxtun on lab nodes: the files a run needs (flannel's net-conf.json, a static leases file
 * shared by the whole lab cluster) and `vxtun run` started inside a node namespace, as an
 * operator would start it on a real node. Tests, the demo and the bench build on this.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { LabNode } from './node.js';
import type { LabPeer } from './kernel-flannel.js';
import { stopChild, waitForOutput } from './proc.js';

/** bin/vxtun.js of this package. */
export const VXTUN_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []), 'bin', 'vxtun.js');

/** A scratch directory for one lab's vxtun files; remove() deletes it. */
export class LabFiles {
  readonly dir: string;
  readonly netConf: string;
  readonly leases: string;

  constructor(netConf: object = { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } }) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'vxtun-lab-'));
    this.netConf = path.join(this.dir, 'net-conf.json');
    this.leases = path.join(this.dir, 'leases.json');
    writeFileSync(this.netConf, JSON.stringify(netConf, null, 2));
    this.writeLeases([]);
  }

  /** Replaces the leases file atomically with flannel-format leases for `peers`. */
  writeLeases(peers: readonly LabPeer[], vni = 1): void {
    const doc: Record<string, unknown> = {};
    for (const p of peers) {
      const [net, len] = p.subnet.split('/');
      doc[`${net}-${len}`] = { PublicIP: p.publicIp, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: vni, VtepMAC: p.vtepMac } };
    }
    this.writeLeasesText(JSON.stringify(doc, null, 2));
  }

  /** Replaces the leases file atomically with arbitrary text (tests of bad input). */
  writeLeasesText(text: string): void {
    const tmp = `${this.leases}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.leases);
  }

  /** The control socket path for a node's vxtun (`vxtun status --socket <it>`); one per node, so nodes never share one. */
  controlSocket(node: LabNode): string {
    return path.join(this.dir, `${node.name}.sock`);
  }

  /** The subnet.env path for a node. */
  subnetFile(node: LabNode): string {
    return path.join(this.dir, `${node.name}.subnet.env`);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A `vxtun run` process on a lab node. */
export interface LabVxtun {
  readonly node: LabNode;
  readonly child: ChildProcess;
  /** Everything it logged so far (pino JSON lines on stderr). */
  log(): string;
  /**
   * Resolves with the exit code (null when killed by a signal) once the process has exited
   * and its stdout/stderr are closed, so log() then holds everything it wrote. ('exit' can
   * come before the last output is read; 'close' cannot.)
   */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then the same as `exited`. */
  stop(): Promise<number | null>;
}

export interface StartVxtunOptions {
  files: LabFiles;
  /** Extra `vxtun run` flags. */
  args?: string[];
  /** How long to wait for "forwarding" (default 15 s). */
  timeoutMs?: number;
  /** Extra environment (e.g. NODE_OPTIONS). */
  env?: Readonly<Record<string, string>>;
}

/**
 * Starts `vxtun run --iface ul0` in `node`'s namespace with the lab's files and waits until
 * it logs that it is forwarding. Rejects (with its log) if it exits first.
 */
export async function startVxtun(node: LabNode, o: StartVxtunOptions): Promise<LabVxtun> {
  return launchVxtunRun(node, [
    '--iface', node.ulDev, '--net-config-path', o.files.netConf, '--subnet-mgr', 'static', '--leases', o.files.leases,
    '--subnet-file', o.files.subnetFile(node), '--control-socket', o.files.controlSocket(node), ...(o.args ?? []),
  ], { timeoutMs: o.timeoutMs ?? 15_000, ...(o.env !== undefined ? { env: o.env } : {}) });
}

/**
 * Starts `vxtun run <args>` in `node`'s namespace (extra environment in `env`) and waits
 * until it logs that it is forwarding. Rejects (with its log) if it exits first. The one
 * launcher behind startVxtun and the etcd/kube variants.
 */
export async function launchVxtunRun(
  node: LabNode, args: readonly string[], o: { env?: Readonly<Record<string, string>>; timeoutMs?: number } = {},
): Promise<LabVxtun> {
  const child = node.spawn([process.execPath, VXTUN_BIN, 'run', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], ...(o.env !== undefined ? { env: { ...process.env, ...o.env } } : {}),
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  child.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  await waitForOutput(child, child.stderr, /"msg":"forwarding"/, o.timeoutMs ?? 15_000);
  return {
    node,
    child,
    log: () => log,
    exited,
    stop() {
      void stopChild(child, 'SIGTERM', 5000);
      return exited;
    },
  };
}
