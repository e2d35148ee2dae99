// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun demo`: the seed's cluster (master, worker1, worker2; cni0 and two pods each; a
 * kuard-like service) built on this machine in network namespaces, with vxtun as every
 * node's VXLAN dataplane, and a walk through what the seed shows: routes, subnet.env,
 * pods, an HTTP request across nodes, and one encapsulated packet captured with
 * `vxtun capture` and decoded with vxtun's codecs (saved as a pcap for Wireshark).
 *
 * Order, as on a real cluster: nodes (underlay, cni0) → leases → vxtun (subnet.env) →
 * pods (the CNI plugin reads subnet.env) → services. It stays up until Ctrl-C (or ends
 * at once with --once) and then removes everything it made (processes, namespaces, etcd,
 * temp files), on errors too. Only the host's flannel.1 is looked at, read-only.
 */
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { createCluster, type LabCluster } from '../lab/cluster.js';
import { LabFiles, VXTUN_BIN, type LabVxtun } from '../lab/vxtun.js';
import { peerOf, vtepMacFor } from '../lab/kernel-flannel.js';
import { httpGet } from '../lab/probe.js';
import { stopChild, waitForOutput } from '../lab/proc.js';
import { readPcapFile } from '../pcap/reader.js';
import { UsageError } from '../cli/errors.js';
import { fetchStatus, formatStatus } from '../cli/status.js';
import { preflight } from './preflight.js';
import { Progress, indent } from './progress.js';
import { decodeOuterFrame } from './decode.js';
import { nodeRoutes, nodeSubnetEnv, podsTable, routesNote, shellLine } from './show.js';
import { cniPluginPath, cniPodMaker, labPodMaker, startKuard, type DemoPod, type PodMaker } from './pods.js';
import { etcdLabAvailable, etcdStore, staticStore, type DemoStore } from './store.js';

export interface DemoFlags {
  once?: boolean;
  etcd?: boolean;
  keepGoing?: boolean;
  /** Where the captured packet is saved (default <tmpdir>/vxtun-demo.pcap). */
  pcap?: string;
}

const KUARD_PORT = 8080;
const PODS_PER_NODE = 2;

/** Runs the demo; resolves after cleanup. Preflight problems are UsageErrors (exit 2). */
export async function runDemo(flags: DemoFlags, out: Writable & { isTTY?: boolean } = process.stdout): Promise<void> {
  if (flags.etcd && !etcdLabAvailable()) throw new UsageError('--etcd is not available yet (the lab has no etcd support); run the demo without it');
  const cniPath = cniPluginPath();
  const p = new Progress(out, flags.etcd ? 10 : 9);
  const pcapPath = path.resolve(flags.pcap ?? path.join(tmpdir(), 'vxtun-demo.pcap'));
  const failures: string[] = [];
  const interrupted = new AbortController();
  const onSignal = (): void => interrupted.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  out.on('error', onSignal); // the reader went away (`vxtun demo | head`): stop and clean up like Ctrl-C (kept: late writes fail too)
  let cluster: LabCluster | undefined;
  let files: LabFiles | undefined;
  let store: DemoStore | undefined;
  let maker: PodMaker | undefined;
  const runs: LabVxtun[] = [];
  const servers: Array<() => Promise<void>> = [];
  /** A step whose failure ends the demo unless --keep-going. */
  const optional = async (title: string, fn: () => Promise<string>): Promise<void> => {
    try {
      p.print(await p.step(title, fn));
    } catch (err) {
      if (!flags.keepGoing || interrupted.signal.aborted) throw err;
      failures.push(title);
    }
  };
  try {
    p.print('vxtun demo: the cluster from notes-on-kubernetes-networking (master, worker1, worker2, pods, kuard),\n'
      + 'built in network namespaces on this machine, with vxtun as the VXLAN dataplane of every node.\n');
    await p.step('preflight: root, /dev/net/tun, no flannel.1 on this host, tools', () => preflight({ say: (l) => p.print(`  ${l}`) }));

    const c = await p.step('build the nodes: master, worker1, worker2 on underlay 192.168.50.0/24, each with cni0', () =>
      createCluster({ name: 'vxdemo', txOffloadOff: true, podsPerNode: 0 }));
    cluster = c;
    p.print(`  lab ${c.prefix}: namespaces ${c.nodes.map((n) => n.ns.name).join(', ')}`);
    const f = new LabFiles();
    files = f;
    const peers = c.nodes.map((n, i) => peerOf(n, vtepMacFor(i)));
    const s = flags.etcd ? etcdStore(c, f, peers) : staticStore(c, f, peers);
    store = s;
    if (s.titles.store !== undefined) await p.step(s.titles.store, () => s.prepare());
    else await s.prepare();
    runs.push(...await p.step(s.titles.vxtun, () => s.start()));
    p.print(await s.describe());
    const sock = (name: string): string => f.controlSocket(c.node(name));

    await optional('each node\'s routes', async () => `${c.nodes.map(nodeRoutes).join('\n')}\n${routesNote(c.network)}`);
    await optional('each node\'s subnet.env (written by vxtun, read by the flannel CNI plugin)', async () =>
      c.nodes.map((n) => nodeSubnetEnv(n, f.subnetFile(n))).join('\n'));

    const m = cniPath !== null ? cniPodMaker({ prefix: c.prefix, files: f, cniPath }) : labPodMaker();
    maker = m;
    const pods: DemoPod[] = [];
    const startedAt = Date.now();
    await p.step(`create ${PODS_PER_NODE} pods per node`, async () => {
      for (const node of c.nodes) for (let k = 1; k <= PODS_PER_NODE; k++) pods.push(await m.create(node, `${node.name}-pod${k}`));
    });
    p.print(`  (${m.how})`);
    const pod = (name: string): DemoPod => pods.find((x) => x.name === name) ?? (() => { throw new Error(`no pod ${name}`); })();
    const kuard = [pod('worker1-pod1'), pod('worker2-pod1'), pod('worker2-pod2')];
    const client = pod('worker2-pod1');
    const target = pod('worker1-pod1');
    const worker2 = c.node('worker2');
    await optional(`kuard on ${kuard.map((x) => x.name).join(', ')} (:${KUARD_PORT}); the pods`, async () => {
      servers.push(...await Promise.all(kuard.map((x) => startKuard(x, KUARD_PORT))));
      return podsTable(pods, startedAt, new Set(kuard.map((x) => x.name)));
    });

    rmSync(pcapPath, { force: true });
    const capArgv = [process.execPath, VXTUN_BIN, 'capture', '--outer', '--count', '1', '--filter', `${target.ip}/32`, '-w', pcapPath, '--socket', sock('worker2')];
    await optional(`GET http://${target.ip}:${KUARD_PORT}/ from ${client.name} (${client.ip}), with \`vxtun capture\` on worker2`, async () => {
      const cap = worker2.spawn(capArgv, { stdio: ['ignore', 'ignore', 'pipe'] });
      try {
        await waitForOutput(cap, cap.stderr, /capturing/, 10_000);
        const body = await httpGet(client, `http://${target.ip}:${KUARD_PORT}/`);
        const exited = cap.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => cap.once('exit', () => r()));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 10_000); })]);
        clearTimeout(timer);
        return `  $ ${shellLine(['vxtun', ...capArgv.slice(2)])}   (on worker2, in the background)\n`
          + `  $ curl http://${target.ip}:${KUARD_PORT}/   (in ${client.name})\n${indent(body.trim())}`;
      } finally {
        await stopChild(cap);
      }
    });

    await optional('the captured packet, decoded with vxtun\'s codecs', async () => {
      const rec = readPcapFile(pcapPath).records[0];
      if (!rec) throw new Error(`no packet in ${pcapPath}`);
      return `${indent(decodeOuterFrame(rec.data).lines.join('\n'))}\n  saved: ${pcapPath}\n`
        + `  open it: wireshark -d udp.port==8472,vxlan ${pcapPath}   (or: tshark -r ${pcapPath} -d udp.port==8472,vxlan -V)`;
    });

    try {
      p.print(`\n  $ vxtun status --socket ${sock('worker2')}\n${indent(formatStatus(await fetchStatus(sock('worker2'))), 2)}`);
    } catch (err) {
      p.print(`  (vxtun status on worker2 failed: ${(err as Error).message})`);
    }

    if (failures.length > 0) p.print(`\n${failures.length} step(s) failed (--keep-going): ${failures.join('; ')}`);
    if (!flags.once && !interrupted.signal.aborted) {
      p.print('\nThe cluster stays up. Try (as root):\n'
        + `  ip netns exec ${client.ns.name} node -e "require('http').get('http://${target.ip}:${KUARD_PORT}/',r=>r.pipe(process.stdout))"\n`
        + `  node ${VXTUN_BIN} status --socket ${sock('master')}\n`
        + `  node ${VXTUN_BIN} capture --socket ${sock('worker1')} -w - | tshark -r - -d udp.port==8472,vxlan\n`
        + `  ip netns exec ${c.node('worker1').ns.name} ip route\n`
        + 'Press Ctrl-C to remove everything.');
      await new Promise<void>((resolve) => interrupted.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    if (failures.length > 0) process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const stop of servers) await stop().catch(() => {});
    maker?.cleanup();
    await Promise.all(runs.map((r) => r.stop().catch(() => null)));
    store?.destroy();
    cluster?.destroy();
    files?.remove();
    if (cluster) p.print(`\nremoved lab ${cluster.prefix} (processes, namespaces, temp files)${existsSync(pcapPath) ? `; kept ${pcapPath}` : ''}`);
  }
}
