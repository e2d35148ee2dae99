// SPDX-License-Identifier: Apache-2.0
/**
 * The bookkeeping one lab cluster shares between its parts: every namespace and child
 * process it creates is registered here the moment it exists, so destroy() can remove
 * everything even after a half-finished build.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { Netns } from './netns.js';
import { ProcessTracker } from './proc.js';

/** Names accepted for nodes and pods: short, lowercase, safe in netns and link names. */
export const LAB_NAME_RE = /^[a-z0-9][a-z0-9-]{0,23}$/;

/** Shared state of one cluster; created by createCluster, passed to nodes and pods. */
export class LabContext {
  /** Namespace name prefix, e.g. 'vxlab-1a2b3c' (already unique). */
  readonly prefix: string;
  /** Children started through the lab's spawn hooks. */
  readonly tracker = new ProcessTracker();
  readonly #namespaces: Netns[] = [];
  readonly #podNames = new Set<string>();
  #destroyed = false;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** True once destroy() ran; further creation or spawning throws. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Throws if the lab was destroyed. */
  assertAlive(): void {
    if (this.#destroyed) throw new Error(`lab ${this.prefix} was destroyed`);
  }

  /**
   * Creates and registers namespace `<prefix>-<suffix>` with loopback up and IPv6 disabled
   * (no RS/MLD/DAD noise on captures); `forward` turns on net.ipv4.ip_forward.
   */
  createNs(suffix: string, forward: boolean): Netns {
    this.assertAlive();
    const ns = Netns.create(`${this.prefix}-${suffix}`);
    this.#namespaces.push(ns);
    // Kernels booted with ipv6.disable=1 have no such keys: nothing to disable then.
    ns.tryExec('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    if (forward) ns.sysctl('net.ipv4.ip_forward', '1');
    return ns;
  }

  /** Reserves a cluster-wide unique pod name; throws when invalid or taken. */
  claimPodName(name: string): void {
    if (!LAB_NAME_RE.test(name)) throw new Error(`invalid pod name ${JSON.stringify(name)} (want ${LAB_NAME_RE})`);
    if (this.#podNames.has(name)) throw new Error(`duplicate pod name ${name}`);
    this.#podNames.add(name);
  }

  /** Starts argv in `ns` and tracks the child so destroy() kills it (by PID). */
  spawn(ns: Netns, argv: readonly string[], options?: SpawnOptions): ChildProcess {
    this.assertAlive();
    return this.tracker.add(ns.spawn(argv, options));
  }

  /**
   * Synchronous and idempotent: SIGKILLs tracked children, then deletes every registered
   * namespace, newest first (pods, then nodes, then the wire). Safe after partial builds.
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.tracker.killAll();
    for (const ns of this.#namespaces.reverse()) ns.delete();
    this.#namespaces.length = 0;
  }
}
