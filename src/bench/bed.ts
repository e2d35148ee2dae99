// SPDX-License-Identifier: Apache-2.0
/**
 * The bench bed: a fresh two-node lab cluster per measured cell, so no state (neighbour
 * caches, socket buffers, a half-stopped daemon) leaks from one config into the next.
 *
 *   pod1 10.244.1.2 ── cni0 [node1] ul0 192.168.50.1 ══ wire ══ 192.168.50.2 ul0 [node2] cni0 ── pod2 10.244.2.2
 *
 * Dataplanes: kernel = flannel.1 on both nodes (connectKernelMesh); vxtun = `vxtun run` on
 * both; mixed = vxtun on node1, flannel.1 on node2; naive = bench/tools/naivefwd.c on both
 * (naive.ts, the userspace anchor). Offload mode txoff runs
 * `ethtool -K ul0 tx off` on both nodes (real ≤1514-byte frames); default keeps the veth
 * defaults. Traffic always flows pod1 → pod2.
 */
import type { LabCluster } from '../lab/cluster.js';
import { createCluster } from '../lab/cluster.js';
import { connectKernelMesh, kernelFlannel, peerOf, vtepMacFor } from '../lab/kernel-flannel.js';
import type { LabNode } from '../lab/node.js';
import type { LabPod } from '../lab/pod.js';
import { ping } from '../lab/probe.js';
import { registerCleanup, sleep } from '../lab/proc.js';
import { LabFiles, startVxtun } from '../lab/vxtun.js';
import { startNaive } from './naive.js';
import type { DataplaneConfig, OffloadMode } from './plan.js';

/** A forwarding process in the bed (vxtun or naivefwd): its node, PID and how to stop it. */
export interface BedDaemon {
  node: string;
  pid: number;
  /** SIGTERM by PID (SIGKILL after a grace period); resolves once it has exited. Never rejects. */
  stop(): Promise<unknown>;
}

/** One built bed; teardown() stops the daemons by PID and removes every namespace. */
export interface BenchBed {
  readonly config: DataplaneConfig;
  readonly mode: OffloadMode;
  readonly cluster: LabCluster;
  readonly node1: LabNode;
  readonly node2: LabNode;
  /** The sender pod (on node1) and the receiver pod (on node2). */
  readonly client: LabPod;
  readonly server: LabPod;
  /**
   * The userspace forwarders, whose CPU the bench reports and which the pinned RTT test
   * pins: vxtun processes (none for kernel, node1 for mixed, both for vxtun) or naivefwd
   * (both for naive).
   */
  readonly daemons: readonly BedDaemon[];
  /** The lab files the daemons were started with (net-conf, leases, per-node sockets). */
  readonly files: LabFiles;
  /** Idempotent; never throws. */
  teardown(): Promise<void>;
}

/**
 * Builds the bed for `config` in `mode` and checks pod1 → pod2 answers pings (up to ~5 s).
 * On any failure it tears down what it built and rethrows.
 */
export async function buildBed(
  config: DataplaneConfig, mode: OffloadMode, o: { vxtunEnv?: Readonly<Record<string, string>>; naivefwd?: string } = {},
): Promise<BenchBed> {
  const cluster = createCluster({
    name: 'vxbench',
    nodes: [{ name: 'node1', pods: ['pod1'] }, { name: 'node2', pods: ['pod2'] }],
    txOffloadOff: mode === 'txoff',
  });
  const files = new LabFiles();
  const unregister = registerCleanup(() => files.remove()); // the cluster registers its own
  const daemons: BedDaemon[] = [];
  let torn = false;
  const teardown = async (): Promise<void> => {
    if (torn) return;
    torn = true;
    await Promise.all(daemons.map((d) => d.stop().catch(() => null)));
    cluster.destroy();
    files.remove();
    unregister();
  };
  try {
    const [node1, node2] = cluster.nodes as [LabNode, LabNode];
    const peers = [peerOf(node1, vtepMacFor(0)), peerOf(node2, vtepMacFor(1))] as const;
    files.writeLeases([...peers]);
    const startOn = async (node: LabNode): Promise<void> => {
      const run = await startVxtun(node, { files, timeoutMs: 20_000, ...(o.vxtunEnv !== undefined ? { env: o.vxtunEnv } : {}) });
      if (run.child.pid === undefined) throw new Error(`vxtun on ${node.name} has no PID`);
      daemons.push({ node: node.name, pid: run.child.pid, stop: () => run.stop() });
    };
    if (config === 'kernel') {
      connectKernelMesh([node1, node2]);
    } else if (config === 'vxtun') {
      await startOn(node1);
      await startOn(node2);
    } else if (config === 'mixed') {
      kernelFlannel(node2, { mac: vtepMacFor(1) }).addPeer(peers[0]);
      await startOn(node1);
    } else {
      if (o.naivefwd === undefined) throw new Error('the naive config needs the naivefwd binary (bench tools)');
      daemons.push(await startNaive(node1, peers[0], peers[1], o.naivefwd));
      daemons.push(await startNaive(node2, peers[1], peers[0], o.naivefwd));
    }
    const client = node1.pod('pod1');
    const server = node2.pod('pod2');
    let ok = false;
    for (let i = 0; i < 10 && !ok; i++) {
      ok = (await ping(client, server.ip, { count: 1, timeoutSec: 1 })).received === 1;
      if (!ok) await sleep(300);
    }
    if (!ok) throw new Error(`${config}/${mode}: pod1 cannot ping pod2 (${server.ip})`);
    return { config, mode, cluster, node1, node2, client, server, daemons, files, teardown };
  } catch (err) {
    await teardown();
    throw err;
  }
}
