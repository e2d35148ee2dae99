// SPDX-License-Identifier: Apache-2.0
/**
 * Etcd3Registry: the EtcdRegistry over the `etcd3` client (gRPC, etcd v3 API), writing
 * exactly flannel's keys: `<prefix>/config` and `<prefix>/subnets/<ip>-<len>`.
 *
 * Design notes:
 * - TLS when --etcd-cafile/--etcd-certfile/--etcd-keyfile are given (or an https://
 *   endpoint: system roots); username/password auth. Unary calls carry a deadline so an
 *   unreachable member fails fast and the client moves to another endpoint.
 * - Connectivity failures (UNAVAILABLE, deadline, open circuit breaker) become
 *   StoreUnavailableError; authentication/permission errors are passed through with the
 *   endpoints named, since retrying cannot fix them.
 * - The watch resumes itself, but not through etcd3's own reconnect: etcd3 moves a
 *   watcher's resume revision to the *current* revision when a stream is (re)created, so
 *   events could be skipped if the stream broke again before catching up. On a
 *   disconnect the watcher is cancelled and a new one is created from the revision after
 *   the last batch we delivered, with capped exponential backoff.
 * - A cancelled watch (etcd cancels it when the requested revision was compacted) is
 *   checked with a range read at that revision: "compacted" → onCompacted, else onError.
 */
import { readFileSync } from 'node:fs';
import {
  Etcd3, EtcdAuthenticationFailedError, EtcdInvalidAuthTokenError, EtcdPermissionDeniedError, GRPCInvalidArgumentError,
  GRPCUnauthenticatedError, type IOptions, type IKeyValue, type IWatchResponse, type Watcher,
} from 'etcd3';
import { StoreUnavailableError, type EtcdRegistry, type SubnetListing, type UpdateResult, type WatchHandlers } from './registry.js';

export interface Etcd3RegistryOptions {
  endpoints: readonly string[];
  /** --etcd-prefix, e.g. `/coreos.com/network` (a trailing slash is ignored). */
  prefix: string;
  cafile?: string;
  certfile?: string;
  keyfile?: string;
  username?: string;
  password?: string;
  /** Deadline of each unary call (default 5000 ms). */
  callTimeoutMs?: number;
}

const FATAL = [EtcdAuthenticationFailedError, EtcdInvalidAuthTokenError, EtcdPermissionDeniedError, GRPCInvalidArgumentError, GRPCUnauthenticatedError];

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${flag} ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/** Builds the etcd3 client options (TLS and auth) from the flags. Throws naming a flag whose file cannot be read. */
export function etcd3ClientOptions(o: Etcd3RegistryOptions): IOptions {
  const timeout = o.callTimeoutMs ?? 5000;
  const opts: IOptions = {
    hosts: [...o.endpoints],
    dialTimeout: timeout,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
  };
  if (o.cafile || o.certfile || o.keyfile) {
    if ((o.certfile === undefined) !== (o.keyfile === undefined)) throw new Error('--etcd-certfile and --etcd-keyfile must be given together');
    opts.credentials = {
      rootCertificate: o.cafile ? readPem(o.cafile, '--etcd-cafile') : (undefined as unknown as Buffer),
      ...(o.keyfile ? { privateKey: readPem(o.keyfile, '--etcd-keyfile') } : {}),
      ...(o.certfile ? { certChain: readPem(o.certfile, '--etcd-certfile') } : {}),
    };
  }
  if (o.username !== undefined && o.username !== '') opts.auth = { username: o.username, password: o.password ?? '' };
  return opts;
}

export class Etcd3Registry implements EtcdRegistry {
  readonly endpoints: string;
  readonly configKey: string;
  readonly #subnets: string;
  readonly #client: Etcd3;
  #closed = false;

  constructor(o: Etcd3RegistryOptions) {
    const prefix = o.prefix.replace(/\/+$/, '');
    this.endpoints = o.endpoints.join(',');
    this.configKey = `${prefix}/config`;
    this.#subnets = `${prefix}/subnets/`;
    this.#client = new Etcd3(etcd3ClientOptions(o));
  }

  fullKey(key: string): string {
    return this.#subnets + key;
  }

  /** Maps a client error to StoreUnavailableError unless retrying cannot help. */
  #fail(what: string, err: unknown): never {
    if (FATAL.some((c) => err instanceof c)) {
      throw new Error(`etcd at ${this.endpoints}: ${what}: ${(err as Error).message}`, { cause: err });
    }
    throw new StoreUnavailableError(this.endpoints, `${what}: ${(err as Error).message ?? String(err)}`, { cause: err });
  }

  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.#fail(what, err);
    }
  }

  getNetworkConfig(): Promise<string | null> {
    return this.#call(`get ${this.configKey}`, () => this.#client.get(this.configKey).string());
  }

  async listSubnets(): Promise<SubnetListing> {
    const res = await this.#call(`list ${this.#subnets}`, () => this.#client.getAll().prefix(this.#subnets).exec());
    const entries = res.kvs.map((kv) => this.#entry(kv));
    return { entries, revision: Number(res.header.revision) };
  }

  #entry(kv: IKeyValue): { key: string; value: string; leaseId: string | null } {
    const lease = String(kv.lease ?? '0');
    return { key: kv.key.toString().slice(this.#subnets.length), value: kv.value.toString(), leaseId: lease === '0' ? null : lease };
  }

  async #grant(key: string, ttlSec: number): Promise<string | null> {
    if (ttlSec <= 0) return null;
    const res = await this.#call(`grant a ${ttlSec}s lease for ${this.fullKey(key)}`, () => this.#client.leaseClient.leaseGrant({ TTL: ttlSec }));
    return String(res.ID);
  }

  #put(full: string, value: string, lease: string | null) {
    const p = this.#client.put(full).value(value);
    return lease === null ? p : p.lease(lease);
  }

  async #revoke(lease: string | null): Promise<void> {
    if (lease !== null) await this.#client.leaseClient.leaseRevoke({ ID: lease }).catch(() => undefined);
  }

  async createSubnet(key: string, value: string, ttlSec: number): Promise<'created' | 'exists'> {
    const full = this.fullKey(key);
    const lease = await this.#grant(key, ttlSec);
    const res = await this.#call(`create ${full}`, () => this.#client.if(full, 'Version', '==', 0).then(this.#put(full, value, lease)).commit());
    if (!res.succeeded) await this.#revoke(lease);
    return res.succeeded ? 'created' : 'exists';
  }

  async updateSubnet(key: string, value: string, ttlSec: number, prev: string): Promise<UpdateResult> {
    const full = this.fullKey(key);
    const lease = await this.#grant(key, ttlSec);
    const res = await this.#call(`update ${full}`, () => this.#client.if(full, 'Value', '==', prev)
      .then(this.#put(full, value, lease)).else(this.#client.get(full)).commit());
    if (res.succeeded) return { result: 'updated' };
    await this.#revoke(lease);
    const kv = res.responses[0]?.response_range?.kvs[0];
    return kv === undefined ? { result: 'missing' } : { result: 'changed', current: kv.value.toString() };
  }

  async deleteSubnet(key: string): Promise<void> {
    const full = this.fullKey(key);
    await this.#call(`delete ${full}`, () => this.#client.delete().key(full).exec());
  }

  watchSubnets(fromRevision: number, h: WatchHandlers): () => void {
    let next = fromRevision;
    let stopped = false;
    let watcher: Watcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    let delay = 250;
    /** Forgets the current watcher; `cancel` also detaches it (not needed once etcd cancelled it). */
    const drop = (cancel: boolean): void => {
      const w = watcher;
      watcher = undefined;
      w?.removeAllListeners();
      w?.on('error', () => undefined);
      if (cancel) void w?.cancel().catch(() => undefined);
    };
    const start = (): void => {
      if (stopped) return;
      const w = this.#client.watch().prefix(this.#subnets).startRevision(String(next)).watcher();
      watcher = w;
      w.on('connected', () => { delay = 250; if (!stopped) h.onConnected?.(); });
      w.on('data', (res: IWatchResponse) => {
        if (stopped || watcher !== w) return;
        const rev = Number(res.header.revision);
        const events = res.events.map((ev) => (ev.type === 'Put'
          ? { type: 'put' as const, ...this.#entry(ev.kv) }
          : { type: 'delete' as const, key: ev.kv.key.toString().slice(this.#subnets.length) }));
        next = Math.max(next, rev + 1);
        if (events.length > 0) h.onEvents(events, rev);
      });
      w.on('disconnected', (err: Error) => {
        if (stopped || watcher !== w) return;
        drop(true);
        h.onDisconnected?.(new StoreUnavailableError(this.endpoints, `watch ${this.#subnets}: ${err.message}`, { cause: err }));
        timer = setTimeout(start, delay);
        delay = Math.min(delay * 2, 10_000);
      });
      w.on('error', (err: Error) => {
        if (stopped || watcher !== w) return;
        drop(false);
        void this.#compactedAt(next).then((compactRev) => {
          if (stopped) return;
          stopped = true;
          if (compactRev !== null) h.onCompacted(compactRev);
          else h.onError(new Error(`etcd at ${this.endpoints}: watch ${this.#subnets} from revision ${next} ended: ${err.message}`, { cause: err }));
        });
      });
    };
    start();
    return () => {
      stopped = true;
      clearTimeout(timer);
      drop(true);
    };
  }

  /** The compact revision if `rev` was compacted away, else null (also when the store cannot say). */
  async #compactedAt(rev: number): Promise<number | null> {
    try {
      await this.#client.get(this.configKey).revision(rev).exec();
      return null;
    } catch (err) {
      return /compacted/.test((err as Error).message) ? rev : null;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
  }
}
