// SPDX-License-Identifier: Apache-2.0
/**
 * EtcdRegistry: the few store verbs the etcd subnet manager needs, in flannel's v3 layout
 * (pkg/subnet/etcd/registry.go, narrowed). Keys handed in and out are subnet keys relative
 * to `<prefix>/subnets/` (`10.244.1.0-24`); the implementation owns the prefix.
 * Implementations: Etcd3Registry (the `etcd3` client) and MemoryRegistry (unit tests).
 *
 * Contract:
 * - A store that cannot be reached rejects with StoreUnavailableError (the manager retries
 *   those); any other rejection is a real answer (bad credentials, permission denied).
 * - createSubnet is flannel's txn `If(Version(key) == 0) Then(Put(key, value, lease))`.
 * - updateSubnet renews as flannel does (a new Grant of ttlSec, then Put), but as a txn
 *   guarded by `Value(key) == prev`, so a renewal never overwrites a subnet another node
 *   took after our key expired (flannel's plain Put would). ttlSec 0 writes without a
 *   lease (a reservation: never expires, never renewed).
 * - watchSubnets delivers every change after `fromRevision - 1` in revision order, one
 *   call per etcd watch response. Transient disconnects are retried inside the registry
 *   (reported through onDisconnected/onReconnected, resuming after the last revision
 *   seen); onCompacted and onError mean the watch has ended and the caller must re-list.
 */

/** One key under `<prefix>/subnets/`. */
export interface SubnetEntry {
  /** The key relative to `<prefix>/subnets/`, e.g. `10.244.1.0-24`. */
  readonly key: string;
  readonly value: string;
  /** The etcd lease the key is attached to (decimal string); null for a key without one. */
  readonly leaseId: string | null;
}

/** listSubnets' result: the entries in key order and the store revision they were read at. */
export interface SubnetListing {
  readonly entries: readonly SubnetEntry[];
  readonly revision: number;
}

/** One watch event. */
export type SubnetEvent =
  | { readonly type: 'put'; readonly key: string; readonly value: string; readonly leaseId: string | null }
  | { readonly type: 'delete'; readonly key: string };

/** updateSubnet's outcome: done, or the key was gone / held another value (`current`). */
export type UpdateResult =
  | { readonly result: 'updated' }
  | { readonly result: 'missing' }
  | { readonly result: 'changed'; readonly current: string };

/** Callbacks of watchSubnets; none of them is ever called after stop(). */
export interface WatchHandlers {
  /** A batch of events, all at or below `revision`. */
  onEvents(events: readonly SubnetEvent[], revision: number): void;
  /** The history from the requested revision was compacted: the watch ended, re-list. */
  onCompacted(compactRevision: number): void;
  /** The watch ended for another reason: re-list (after a pause) and watch again. */
  onError(err: Error): void;
  /** The connection dropped; the registry reconnects by itself. May repeat. */
  onDisconnected?(err: Error): void;
  /** The watch is (again) established. */
  onConnected?(): void;
}

export interface EtcdRegistry {
  /** Where the store is, for messages (`http://10.0.0.1:2379,http://10.0.0.2:2379`). */
  readonly endpoints: string;
  /** Full etcd key of the network config, `<prefix>/config`. */
  readonly configKey: string;
  /** Full etcd key of a subnet key, `<prefix>/subnets/<key>`. */
  fullKey(key: string): string;
  /** The text of `<prefix>/config`, or null when there is no such key. */
  getNetworkConfig(): Promise<string | null>;
  listSubnets(): Promise<SubnetListing>;
  createSubnet(key: string, value: string, ttlSec: number): Promise<'created' | 'exists'>;
  updateSubnet(key: string, value: string, ttlSec: number, prev: string): Promise<UpdateResult>;
  deleteSubnet(key: string): Promise<void>;
  watchSubnets(fromRevision: number, handlers: WatchHandlers): () => void;
  close(): Promise<void>;
}

/** The store could not be reached (or did not answer in time); worth retrying. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly endpoints: string;

  constructor(endpoints: string, what: string, options?: { cause?: unknown }) {
    super(`etcd at ${endpoints} unreachable (${what})`, options);
    this.endpoints = endpoints;
  }
}

/** True for StoreUnavailableError (also across module copies). */
export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError || (err instanceof Error && err.name === 'StoreUnavailableError');
}
