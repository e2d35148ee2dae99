// SPDX-License-Identifier: Apache-2.0
/**
 * vxtun with the Kubernetes subnet manager in a lab cluster (root only, everything in
 * namespaces this test creates): the API test double runs inside the master's namespace
 * on its underlay address; the three nodes are registered with podCIDRs = the lab
 * subnets. master and worker1 run `vxtun run --kube-subnet-mgr --kubeconfig-file K
 * --net-config-path F --iface ul0` (NODE_NAME set); worker2 is a "kernel flannel" node:
 * kernel VXLAN as flanneld programs it, its node annotations written as flanneld writes
 * them. Pods reach each other across every pair, both ways; a restarted vxtun keeps its
 * VtepMAC (read back from its annotation), so the kernel node still reaches it; deleting
 * a node from the API makes its vxtun exit (lease lost); a node without podCIDR is refused.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCluster } from '../../src/lab/cluster.js';
import { netnsSkipReason } from '../../src/lab/netns.js';
import type { LabNode } from '../../src/lab/node.js';
import { ping, tcpExchange } from '../../src/lab/probe.js';
import { collect, stopChild, waitForOutput } from '../../src/lab/proc.js';
import { VXTUN_BIN } from '../../src/lab/vxtun.js';
import { kernelFlannel, vtepMacFor } from '../../src/lab/kernel-flannel.js';
import { NsKubeApiDouble } from '../../src/lab/kube-api-double-ns.js';

const P = 'flannel.alpha.coreos.com';
const skip = netnsSkipReason();

interface KubeRun { node: LabNode; log: () => string; stop: () => Promise<number | null>; exited: Promise<number | null> }

type Ann = Record<string, string>;
const annotationsOf = (node: Record<string, unknown> | undefined): Ann => ((node?.['metadata'] as { annotations?: Ann } | undefined)?.annotations ?? {});

t.test('vxtun nodes and a kernel flannel node, leases from the Kubernetes API', { skip: skip ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vxkube', podsPerNode: 1, txOffloadOff: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-kube-e2e-'));
  const runs = new Set<KubeRun>();
  let api: NsKubeApiDouble | undefined;
  t.teardown(async () => {
    for (const r of runs) await r.stop();
    await api?.stop();
    cluster.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const [master, worker1, worker2] = cluster.nodes as [LabNode, LabNode, LabNode];
  const netConf = path.join(dir, 'net-conf.json');
  writeFileSync(netConf, JSON.stringify({ Network: cluster.network, Backend: { Type: 'vxlan' } }));
  const kubeconfig = path.join(dir, 'kubeconfig');
  api = await NsKubeApiDouble.start(master, { port: 6443 });
  api.writeKubeconfig(kubeconfig);
  for (const n of cluster.nodes) await api.addNode({ name: n.name, podCIDR: n.subnet });

  // The kernel node, and its annotations exactly as its flanneld would write them.
  const kernelMac = vtepMacFor(2);
  const kernel = kernelFlannel(worker2, { mac: kernelMac });
  await api.setAnnotations(worker2.name, {
    [`${P}/backend-data`]: `{"VNI":1,"VtepMAC":"${kernelMac}"}`, [`${P}/backend-type`]: 'vxlan',
    [`${P}/kube-subnet-manager`]: 'true', [`${P}/public-ip`]: worker2.underlayIp,
  });

  const start = async (node: LabNode): Promise<KubeRun> => {
    const argv = [process.execPath, VXTUN_BIN, 'run', '--kube-subnet-mgr', '--kubeconfig-file', kubeconfig,
      '--net-config-path', netConf, '--iface', node.ulDev, '--subnet-file', path.join(dir, `${node.name}.subnet.env`)];
    const child = node.spawn(argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NAME: node.name } });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
    child.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const run: KubeRun = { node, log: () => log, exited, stop: async () => { await stopChild(child, 'SIGTERM', 5000); runs.delete(run); return exited; } };
    runs.add(run);
    await waitForOutput(child, child.stderr, /"msg":"forwarding"/, 30_000);
    return run;
  };
  const macOf = async (node: LabNode): Promise<string> =>
    (JSON.parse(annotationsOf(await api!.node(node.name))[`${P}/backend-data`] ?? '{}') as { VtepMAC?: string }).VtepMAC ?? '';
  /** Waits until `run` logged a lease update adding `key` (the watch delivered that node). */
  const waitForLease = async (run: KubeRun, key: string): Promise<void> => {
    const end = Date.now() + 30_000;
    const seen = (): boolean => run.log().split('\n').some((l) => l.includes('"msg":"leases updated"') && l.includes(`"${key}"`));
    while (!seen()) {
      if (Date.now() > end) throw new Error(`${run.node.name} never received the lease ${key}: ${run.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const keyOf = (n: LabNode): string => n.subnet.replace('/', '-');

  const runMaster = await start(master);
  const runWorker1 = await start(worker1);
  await waitForLease(runMaster, keyOf(worker1));
  for (const n of [master, worker1]) kernel.addPeer({ subnet: n.subnet, publicIp: n.underlayIp, vtepMac: await macOf(n) });
  const masterMac = await macOf(master);

  t.test('each vxtun node published flanneld\'s annotations and the NetworkUnavailable condition', async (t) => {
    for (const n of [master, worker1]) {
      const obj = await api!.node(n.name);
      const ann = annotationsOf(obj);
      t.match(ann[`${P}/backend-data`], /^\{"VNI":1,"VtepMAC":"[0-9a-f]{2}(:[0-9a-f]{2}){5}"\}$/, `${n.name}: backend-data`);
      t.equal(ann[`${P}/backend-type`], 'vxlan');
      t.equal(ann[`${P}/kube-subnet-manager`], 'true');
      t.equal(ann[`${P}/public-ip`], n.underlayIp);
      const conds = (obj?.['status'] as { conditions: Array<{ type: string; status: string; reason?: string }> }).conditions;
      t.match(conds.find((c) => c.type === 'NetworkUnavailable'), { status: 'False', reason: 'FlannelIsUp' }, `${n.name}: condition`);
    }
    t.not(await macOf(master), await macOf(worker1), 'distinct VtepMACs');
    const patches = (await api!.requests()).filter((r) => r.method === 'PATCH' && r.url === `/api/v1/nodes/${master.name}/status`);
    t.equal(patches[0]?.contentType, 'application/strategic-merge-patch+json');
  });

  t.test('pods reach each other across vxtun and kernel nodes, both ways', async (t) => {
    let port = 7600;
    const pairs: Array<[LabNode, LabNode]> = [[master, worker1], [worker1, master], [master, worker2], [worker2, master], [worker1, worker2], [worker2, worker1]];
    for (const [a, b] of pairs) {
      const r = await ping(a.pods[0]!, b.pods[0]!.ip, { count: 3, timeoutSec: 2 });
      t.equal(r.received, 3, `ICMP ${a.name} → ${b.name}`);
      t.equal(await tcpExchange(a.pods[0]!, b.pods[0]!, port++, { message: 'kube-ok' }), 'kube-ok', `TCP ${a.name} → ${b.name}`);
    }
  });

  t.test('a restarted vxtun keeps its VtepMAC from the annotation; the kernel node still reaches it', async (t) => {
    t.equal(await runMaster.stop(), 0, 'clean exit on SIGTERM');
    const again = await start(master);
    t.match(again.log(), /"msg":"reusing the VtepMAC stored in our node annotation"/);
    t.match(again.log(), new RegExp(`"vtepMac":"${masterMac}"`));
    t.equal(await macOf(master), masterMac, 'the annotation is unchanged');
    await waitForLease(again, keyOf(worker1));
    const r = await ping(worker2.pods[0]!, master.pods[0]!.ip, { count: 3, timeoutSec: 2 });
    t.equal(r.received, 3, 'kernel node → restarted vxtun node, with the FDB entry it already had');
    const r2 = await ping(worker1.pods[0]!, master.pods[0]!.ip, { count: 3, timeoutSec: 2 });
    t.equal(r2.received, 3, 'vxtun node → restarted vxtun node');
  });

  t.test('deleting a node from the API makes its vxtun exit (lease lost)', async (t) => {
    await api!.deleteNode(worker1.name);
    t.equal(await runWorker1.exited, 1, 'exit status 1, as flanneld on a revoked lease');
    t.match(runWorker1.log(), /Lease has been revoked/);
    runs.delete(runWorker1);
  });

  t.test('a node without a podCIDR: vxtun exits 2 with flanneld\'s message', async (t) => {
    await api!.addNode({ name: 'unassigned' });
    const argv = [process.execPath, VXTUN_BIN, 'run', '--kube-subnet-mgr', '--kubeconfig-file', kubeconfig,
      '--net-config-path', netConf, '--iface', worker1.ulDev, '--subnet-file', path.join(dir, 'unassigned.subnet.env')];
    const child = worker1.spawn(argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NAME: 'unassigned' } });
    const r = await collect(child, 60_000);
    t.equal(r.status, 2, 'exit 2: the operator must fix the cluster');
    t.match(r.stderr, /node \\?"unassigned\\?" pod cidr not assigned/);
  });
});
