// SPDX-License-Identifier: Apache-2.0
/**
 * NodeCache: every Node, kept current by list + watch (client-go's reflector, reduced to
 * what the manager needs).
 *
 *   list → replace the cache (synced) → watch from the list's resourceVersion
 *     stream closed by the server (timeoutSeconds, restarts) → watch again from the last
 *                                                             resourceVersion seen (after
 *                                                             minBackoffMs if it ended at
 *                                                             once with nothing new)
 *     ERROR 410 Gone / "too old resource version"           → list again at once
 *     request failed, other ERROR                           → wait (1 s doubling to 30 s),
 *                                                             then list again
 *
 * While the API server is unreachable the cache keeps its last content, so the leases
 * derived from it stay in force (flanneld keeps forwarding too). onChange runs after
 * each applied event or re-list, synchronously, never concurrently.
 */
import type { Logger } from '../../daemon/log.js';
import type { NodeApi, NodeWatchEvent } from './client.js';
import type { KubeNode } from './node-lease.js';
import { controlPlaneMetrics } from '../metrics.js';

export interface NodeCacheOptions {
  /** First retry delay after a failure (default 1000 ms); doubles up to maxBackoffMs. */
  minBackoffMs?: number;
  /** Longest retry delay (default 30 000 ms). */
  maxBackoffMs?: number;
  /** timeoutSeconds asked of each watch, so a silently dead connection is replaced (default 300). */
  watchTimeoutSec?: number;
}

/** What changed: a node event, or a whole re-list. */
export type NodeChange = { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly node: KubeNode } | { readonly type: 'RELIST' };

export class NodeCache {
  readonly #api: NodeApi;
  readonly #log: Logger;
  readonly #o: Required<NodeCacheOptions>;
  readonly #nodes = new Map<string, KubeNode>();
  readonly #listeners = new Set<(c: NodeChange) => void>();
  #synced = false;
  #running = false;
  #stopped = false;
  #lastError: string | undefined;
  #stopWatch: (() => void) | undefined;
  #wake: (() => void) | undefined;

  constructor(api: NodeApi, log: Logger, o: NodeCacheOptions = {}) {
    this.#api = api;
    this.#log = log;
    this.#o = { minBackoffMs: o.minBackoffMs ?? 1000, maxBackoffMs: o.maxBackoffMs ?? 30_000, watchTimeoutSec: o.watchTimeoutSec ?? 300 };
  }

  /** True once the first list succeeded. */
  get synced(): boolean {
    return this.#synced;
  }

  /** The last list/watch failure, until the next successful list. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  get(name: string): KubeNode | undefined {
    return this.#nodes.get(name);
  }

  list(): KubeNode[] {
    return [...this.#nodes.values()];
  }

  /** Registers cb for every change; returns its removal. */
  onChange(cb: (c: NodeChange) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /** Starts the list/watch loop (idempotent). */
  start(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    void this.#loop();
  }

  /** Stops the loop and any open watch; the cache keeps its content. */
  stop(): void {
    this.#stopped = true;
    this.#stopWatch?.();
    this.#wake?.();
  }

  #emit(c: NodeChange): void {
    for (const cb of [...this.#listeners]) cb(c);
  }

  async #loop(): Promise<void> {
    let backoff = this.#o.minBackoffMs;
    while (!this.#stopped) {
      try {
        const { items, resourceVersion } = await this.#api.listNodes();
        if (this.#stopped) return;
        this.#nodes.clear();
        for (const n of items) this.#nodes.set(n.name, n);
        this.#synced = true;
        controlPlaneMetrics.setWatchUp(true);
        this.#lastError = undefined;
        backoff = this.#o.minBackoffMs;
        this.#emit({ type: 'RELIST' });
        let rv = resourceVersion;
        for (;;) {
          const began = Date.now();
          const end = await this.#watchOnce(rv);
          if (this.#stopped) return;
          if (end.expired) {
            this.#log.info({ resourceVersion: rv }, 'node watch expired (410 Gone); listing nodes again');
            break;
          }
          // A server (or proxy) that ends every watch at once must not make us spin.
          if (end.resourceVersion === rv && Date.now() - began < 1000) await this.#sleep(this.#o.minBackoffMs);
          rv = end.resourceVersion;
        }
      } catch (err) {
        if (this.#stopped) return;
        this.#lastError = (err as Error).message;
        controlPlaneMetrics.setWatchUp(false);
        this.#log.warn({ err: this.#lastError, retryInMs: backoff }, 'listing/watching nodes failed; keeping the last known nodes and leases');
        await this.#sleep(backoff);
        backoff = Math.min(backoff * 2, this.#o.maxBackoffMs);
      }
    }
  }

  /** One watch request; resolves when the server ends it, rejects on failure. */
  #watchOnce(fromRv: string): Promise<{ resourceVersion: string; expired: boolean }> {
    return new Promise((resolve, reject) => {
      let rv = fromRv;
      let expired = false;
      let failure: Error | undefined;
      let ended = false;
      const onEvent = (e: NodeWatchEvent): void => {
        if (this.#stopped) return;
        switch (e.type) {
          case 'ADDED':
          case 'MODIFIED':
            this.#nodes.set(e.node.name, e.node);
            rv = e.node.resourceVersion || rv;
            this.#emit({ type: e.type, node: e.node });
            break;
          case 'DELETED':
            this.#nodes.delete(e.node.name);
            rv = e.node.resourceVersion || rv;
            this.#emit({ type: e.type, node: e.node });
            break;
          case 'BOOKMARK':
            rv = e.resourceVersion || rv;
            break;
          case 'ERROR':
            if (e.code === 410) expired = true;
            else failure = new Error(`watch nodes: ERROR event: ${e.message}`);
            break;
        }
      };
      const onDone = (err: Error | null): void => {
        ended = true;
        this.#stopWatch = undefined;
        if (err ?? failure) reject(err ?? failure);
        else resolve({ resourceVersion: rv, expired });
      };
      this.#api.watchNodes(fromRv, this.#o.watchTimeoutSec, onEvent, onDone).then((stop) => {
        if (ended) return;
        this.#stopWatch = stop;
        if (this.#stopped) stop();
      }, reject);
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
