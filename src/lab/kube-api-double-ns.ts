// SPDX-License-Identifier: Apache-2.0
/**
 * The Kubernetes API test double (kube-api-double.ts) running inside a lab node's network
 * namespace, so vxtun processes on the other lab nodes reach it over the lab underlay and
 * nothing listens in the root namespace.
 *
 * This file is both:
 * - the child script: `node kube-api-double-ns.js --host <ip> --port <n>` starts the
 *   double, prints `{"url":"http://ip:n"}` on stdout, then serves commands read from
 *   stdin, one JSON line each (`{"id":1,"op":"addNode","args":[...]}`), answering
 *   `{"id":1,"ok":true,"result":...}` or `{"id":1,"ok":false,"error":"..."}`; it closes
 *   the server and exits when stdin ends;
 * - NsKubeApiDouble, the controller a test uses: start() spawns the child in a lab node
 *   (tracked by the lab, so destroy() kills it by PID) and exposes the same store
 *   methods, asynchronously.
 */
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { KubeApiDouble, writeKubeconfig, type NodeInit, type RecordedRequest } from './kube-api-double.js';
import type { JsonObj } from './kube-api-double-patch.js';
import type { LabNode } from './node.js';
import { stopChild, waitForOutput } from './proc.js';

const SCRIPT = fileURLToPath(import.meta.url);

/** The commands the child serves (a subset of KubeApiDouble's methods). */
type Op = 'addNode' | 'setAnnotations' | 'deleteNode' | 'node' | 'addPod' | 'requests' | 'closeWatches' | 'setAvailable';

async function childMain(argv: string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const d = await KubeApiDouble.start({ host: arg('--host') ?? '127.0.0.1', port: Number(arg('--port') ?? '0') });
  process.stdout.write(`${JSON.stringify({ url: d.url })}\n`);
  const ops: Record<Op, (...a: never[]) => unknown> = {
    addNode: (init: NodeInit) => d.addNode(init),
    setAnnotations: (name: string, a: Record<string, string | null>) => d.setAnnotations(name, a),
    deleteNode: (name: string) => d.deleteNode(name),
    node: (name: string) => d.node(name) ?? null,
    addPod: (ns: string, name: string, node: string) => d.addPod(ns, name, node),
    requests: () => d.requests,
    closeWatches: () => d.closeWatches(),
    setAvailable: (on: boolean) => d.setAvailable(on),
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    let id: unknown = null;
    try {
      const cmd = JSON.parse(line) as { id: unknown; op: Op; args: never[] };
      id = cmd.id;
      const fn = ops[cmd.op];
      if (fn === undefined) throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
      process.stdout.write(`${JSON.stringify({ id, ok: true, result: fn(...cmd.args) ?? null })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ id, ok: false, error: (err as Error).message })}\n`);
    }
  });
  lines.on('close', () => { void d.close().then(() => process.exit(0)); });
}

/** Controller of a double running in a lab node (see the file comment). */
export class NsKubeApiDouble {
  readonly url: string;
  readonly child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;

  private constructor(child: ChildProcess, url: string) {
    this.child = child;
    this.url = url;
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let msg: { id?: number; ok?: boolean; result?: unknown; error?: string };
      try { msg = JSON.parse(line) as typeof msg; } catch { return; }
      const p = msg.id === undefined ? undefined : this.#pending.get(msg.id);
      if (p === undefined) return;
      this.#pending.delete(msg.id!);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`kube API double: ${msg.error ?? 'failed'}`));
    });
    child.once('exit', () => {
      for (const p of this.#pending.values()) p.reject(new Error('kube API double exited'));
      this.#pending.clear();
    });
  }

  /** Starts the double in `node`'s namespace on host:port (default: the node's underlay IP, 6443). */
  static async start(node: LabNode, o: { host?: string; port?: number; timeoutMs?: number } = {}): Promise<NsKubeApiDouble> {
    const argv = [process.execPath, SCRIPT, '--host', o.host ?? node.underlayIp, '--port', String(o.port ?? 6443)];
    const child = node.spawn(argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      const out = await waitForOutput(child, child.stdout, /\{"url":"[^"]+"\}\n/, o.timeoutMs ?? 15_000);
      const url = (JSON.parse(/\{"url":"[^"]+"\}/.exec(out)![0]) as { url: string }).url;
      return new NsKubeApiDouble(child, url);
    } catch (err) {
      await stopChild(child, 'SIGKILL');
      throw err;
    }
  }

  #call<T>(op: Op, ...args: unknown[]): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  addNode(init: NodeInit): Promise<JsonObj> { return this.#call('addNode', init); }
  /** Merges annotations into a node (null removes a key), as another client's write would. */
  setAnnotations(name: string, a: Record<string, string | null>): Promise<JsonObj> { return this.#call('setAnnotations', name, a); }
  deleteNode(name: string): Promise<void> { return this.#call('deleteNode', name); }
  async node(name: string): Promise<JsonObj | undefined> { return (await this.#call<JsonObj | null>('node', name)) ?? undefined; }
  addPod(namespace: string, name: string, nodeName: string): Promise<void> { return this.#call('addPod', namespace, name, nodeName); }
  requests(): Promise<RecordedRequest[]> { return this.#call('requests'); }
  closeWatches(): Promise<void> { return this.#call('closeWatches'); }
  setAvailable(available: boolean): Promise<void> { return this.#call('setAvailable', available); }

  /** Writes a kubeconfig pointing at this double. */
  writeKubeconfig(path: string): void {
    writeKubeconfig(path, this.url);
  }

  /** Closes its stdin (the child then exits); SIGKILL if it does not exit within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin?.end();
    const timer = setTimeout(() => { void stopChild(this.child, 'SIGKILL'); }, 5000);
    await exited;
    clearTimeout(timer);
  }
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  childMain(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`kube API double: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
