// SPDX-License-Identifier: Apache-2.0
/**
 * KubeApiDouble: a TEST DOUBLE of the small subset of the Kubernetes API that flannel's
 * kube subnet manager uses: list/watch/get/patch of Nodes and get of a Pod. It is NOT an
 * API server: no auth, no admission, no validation beyond JSON, no other resources, no
 * field/label selectors. It speaks the real wire format (same paths, JSON objects, list
 * resourceVersion, chunked watch stream of `{"type":...,"object":...}` lines, Status
 * objects for errors), so @kubernetes/client-node and the manager run unmodified.
 *
 *   GET   /api/v1/nodes                                 NodeList with metadata.resourceVersion
 *   GET   /api/v1/nodes?watch=true|1&resourceVersion=N  events after N ("" or "0": ADDED for
 *         [&timeoutSeconds=T]                           every node first); N older than the
 *                                                       last compact(): ERROR 410 Expired
 *   GET   /api/v1/nodes/<name>
 *   PATCH /api/v1/nodes/<name>[/status]                 strategic-merge (conditions/addresses
 *                                                       merge by `type`), merge-patch, json-patch;
 *                                                       /status keeps spec, the main resource keeps status
 *   GET   /api/v1/namespaces/<ns>/pods/<name>
 *
 * Tests change the store with addNode/updateNode/deleteNode (each bumps the resourceVersion
 * and emits a watch event, as writes by other clients would) and read `requests`, every
 * request received with its Content-Type and body. Listen only on loopback or inside a
 * test namespace (kube-api-double-ns.ts runs it in a lab node).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { applyPatch, type Json, type JsonObj } from './kube-api-double-patch.js';

/** A request the double received (`url`: path and query, as sent). */
export interface RecordedRequest { method: string; url: string; contentType: string | undefined; body: string }

/** What addNode needs; the rest of a realistic v1.Node is filled in. */
export interface NodeInit {
  name: string;
  podCIDR?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

type Event = { rv: number; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: JsonObj };
type Watch = { res: ServerResponse; timer?: NodeJS.Timeout };

/**
 * Writes a kubeconfig (JSON, which is YAML) for the double at `url` to `path`: one
 * cluster, one context, a user without credentials (plain http, nothing to verify).
 */
export function writeKubeconfig(path: string, url: string): void {
  writeFileSync(path, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'double',
    clusters: [{ name: 'double', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'double', user: {} }],
    contexts: [{ name: 'double', context: { cluster: 'double', user: 'double' } }],
  }, null, 2));
}

const clone = <T>(v: T): T => structuredClone(v);

function status(code: number, reason: string, message: string): JsonObj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class KubeApiDouble {
  readonly requests: RecordedRequest[] = [];
  readonly #server: Server;
  readonly #nodes = new Map<string, JsonObj>();
  readonly #pods = new Map<string, JsonObj>();
  readonly #history: Event[] = [];
  readonly #watches = new Set<Watch>();
  #rv = 100;
  #available = true;
  #compactedRv = 0;
  #url = '';

  private constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  /** Starts listening on host:port (default 127.0.0.1, an ephemeral port). */
  static async start(o: { host?: string; port?: number } = {}): Promise<KubeApiDouble> {
    const d = new KubeApiDouble();
    const host = o.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      d.#server.once('error', reject);
      d.#server.listen(o.port ?? 0, host, () => resolve());
    });
    const { port } = d.#server.address() as AddressInfo;
    d.#url = `http://${host}:${port}`;
    return d;
  }

  /** `http://host:port`. */
  get url(): string {
    return this.#url;
  }

  /** The current (last written) resourceVersion. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** Open watch streams. */
  get watchCount(): number {
    return this.#watches.size;
  }

  /** Writes a kubeconfig for this server to `path` (see writeKubeconfig). */
  writeKubeconfig(path: string): void {
    writeKubeconfig(path, this.#url);
  }

  /** A copy of node `name`, or undefined. */
  node(name: string): JsonObj | undefined {
    return clone(this.#nodes.get(name));
  }

  /** Adds a Ready node (podCIDR/podCIDRs set when given); throws if it exists. */
  addNode(init: NodeInit): JsonObj {
    if (this.#nodes.has(init.name)) throw new Error(`node ${init.name} already exists`);
    const node: JsonObj = {
      kind: 'Node', apiVersion: 'v1',
      metadata: {
        name: init.name, uid: `uid-${init.name}`, creationTimestamp: '2024-01-01T00:00:00Z',
        labels: { 'kubernetes.io/hostname': init.name, ...init.labels }, annotations: { ...init.annotations },
      },
      spec: init.podCIDR !== undefined ? { podCIDR: init.podCIDR, podCIDRs: [init.podCIDR] } : {},
      status: {
        conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2024-01-01T00:00:00Z', lastTransitionTime: '2024-01-01T00:00:00Z', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
        addresses: [{ type: 'Hostname', address: init.name }],
      },
    };
    return this.#write('ADDED', init.name, node);
  }

  /** Changes node `name` through `mutate` (a copy); emits MODIFIED unless nothing changed. */
  updateNode(name: string, mutate: (node: JsonObj) => void): JsonObj {
    const old = this.#nodes.get(name);
    if (old === undefined) throw new Error(`no node ${name}`);
    const next = clone(old);
    mutate(next);
    return JSON.stringify(next) === JSON.stringify(old) ? clone(old) : this.#write('MODIFIED', name, next);
  }

  /** Merges `annotations` into node `name` (a null value removes the key). */
  setAnnotations(name: string, annotations: Record<string, string | null>): JsonObj {
    return this.updateNode(name, (n) => { n['metadata'] = applyPatch('strategic', n['metadata'] ?? {}, { annotations }) as JsonObj; });
  }

  /** Deletes node `name` (DELETED event carries its last state). */
  deleteNode(name: string): void {
    const old = this.#nodes.get(name);
    if (old === undefined) throw new Error(`no node ${name}`);
    this.#write('DELETED', name, old);
  }

  /** Adds pod `namespace/name` scheduled on `nodeName`. */
  addPod(namespace: string, name: string, nodeName: string): void {
    this.#pods.set(`${namespace}/${name}`, { kind: 'Pod', apiVersion: 'v1', metadata: { name, namespace, resourceVersion: String(++this.#rv) }, spec: { nodeName } });
  }

  /** Ends every open watch stream, as an API server does when a watch times out. */
  closeWatches(): void {
    for (const w of [...this.#watches]) this.#endWatch(w);
  }

  /**
   * available=false makes every request fail with 503 ServiceUnavailable and ends open
   * watches (an API server outage); true serves again, history intact.
   */
  setAvailable(available: boolean): void {
    this.#available = available;
    if (!available) this.closeWatches();
  }

  /** Forgets the event history: a later watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#history.length = 0;
  }

  async close(): Promise<void> {
    this.closeWatches();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #write(type: Event['type'], name: string, node: JsonObj): JsonObj {
    const meta = node['metadata'] as JsonObj;
    meta['resourceVersion'] = String(++this.#rv);
    if (type === 'DELETED') this.#nodes.delete(name);
    else this.#nodes.set(name, node);
    const ev: Event = { rv: this.#rv, type, object: clone(node) };
    this.#history.push(ev);
    for (const w of this.#watches) w.res.write(`${JSON.stringify({ type, object: ev.object })}\n`);
    return clone(node);
  }

  #endWatch(w: Watch): void {
    clearTimeout(w.timer);
    this.#watches.delete(w);
    w.res.end();
  }

  #send(res: ServerResponse, code: number, body: Json): void {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { body += d; });
    req.on('end', () => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body });
      try {
        if (!this.#available) return this.#send(res, 503, status(503, 'ServiceUnavailable', 'the API test double is set unavailable'));
        this.#route(req, res, body);
      } catch (err) {
        this.#send(res, 500, status(500, 'InternalError', (err as Error).message));
      }
    });
  }

  #route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const u = new URL(req.url ?? '/', 'http://double');
    const parts = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const m = req.method ?? 'GET';
    const [a, v, kind, name, sub, ...rest] = parts;
    if (a === 'api' && v === 'v1' && kind === 'nodes' && rest.length === 0) {
      if (name === undefined && m === 'GET') {
        const w = u.searchParams.get('watch');
        return w === 'true' || w === '1' ? this.#watch(u, res) : this.#send(res, 200, {
          kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: String(this.#rv) }, items: [...this.#nodes.values()],
        });
      }
      const node = name === undefined ? undefined : this.#nodes.get(name);
      if (name !== undefined && (sub === undefined || sub === 'status')) {
        if (node === undefined) return this.#send(res, 404, { ...status(404, 'NotFound', `nodes "${name}" not found`), details: { name, kind: 'nodes' } });
        if (m === 'GET') return this.#send(res, 200, node);
        if (m === 'PATCH') return this.#patch(req, res, name, node, sub === 'status', body);
      }
    }
    if (a === 'api' && v === 'v1' && kind === 'namespaces' && sub === 'pods' && m === 'GET' && rest.length === 1) {
      const pod = this.#pods.get(`${name}/${rest[0]}`);
      return pod ? this.#send(res, 200, pod) : this.#send(res, 404, status(404, 'NotFound', `pods "${rest[0]}" not found`));
    }
    this.#send(res, 404, status(404, 'NotFound', `the double does not serve ${m} ${u.pathname}`));
  }

  #patch(req: IncomingMessage, res: ServerResponse, name: string, node: JsonObj, statusSub: boolean, body: string): void {
    const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const kinds: Record<string, 'strategic' | 'merge' | 'json'> = {
      'application/strategic-merge-patch+json': 'strategic', 'application/merge-patch+json': 'merge', 'application/json-patch+json': 'json',
    };
    const kind = kinds[ct];
    if (kind === undefined) return this.#send(res, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${Object.keys(kinds).join(', ')}`));
    let patch: Json;
    try {
      patch = JSON.parse(body) as Json;
    } catch (err) {
      return this.#send(res, 400, status(400, 'BadRequest', `error decoding patch: ${(err as Error).message}`));
    }
    let next: JsonObj;
    try {
      next = applyPatch(kind, clone(node), patch) as JsonObj;
    } catch (err) {
      return this.#send(res, 422, status(422, 'Invalid', (err as Error).message));
    }
    // The status subresource ignores spec changes; the main resource ignores status changes.
    if (statusSub) next['spec'] = clone(node['spec'] ?? {});
    else next['status'] = clone(node['status'] ?? {});
    (next['metadata'] as JsonObj)['name'] = name;
    (next['metadata'] as JsonObj)['resourceVersion'] = (node['metadata'] as JsonObj)['resourceVersion'] ?? '';
    const out = JSON.stringify(next) === JSON.stringify(node) ? node : this.#write('MODIFIED', name, next);
    this.#send(res, 200, out);
  }

  #watch(u: URL, res: ServerResponse): void {
    const from = u.searchParams.get('resourceVersion') ?? '';
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders(); // as the API server does: the client sees the 200 before any event
    const line = (type: string, object: Json): boolean => res.write(`${JSON.stringify({ type, object })}\n`);
    if (from === '' || from === '0') {
      for (const n of this.#nodes.values()) line('ADDED', n);
    } else if (!/^\d+$/.test(from) || Number(from) < this.#compactedRv) {
      line('ERROR', status(410, 'Expired', `too old resource version: ${from} (${this.#compactedRv})`));
      res.end();
      return;
    } else {
      for (const e of this.#history) if (e.rv > Number(from)) line(e.type, e.object);
    }
    const w: Watch = { res };
    const timeout = Number(u.searchParams.get('timeoutSeconds') ?? '0');
    if (timeout > 0) w.timer = setTimeout(() => this.#endWatch(w), timeout * 1000);
    this.#watches.add(w);
    res.on('close', () => { clearTimeout(w.timer); this.#watches.delete(w); });
  }
}
