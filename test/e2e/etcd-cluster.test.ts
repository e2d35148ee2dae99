// SPDX-License-Identifier: Apache-2.0
/**
 * vxtun with the etcd subnet manager, end to end. A lab of four nodes: master, worker1
 * and worker2 run `vxtun run --etcd-endpoints …` against a three-member etcd cluster
 * spread over their own namespaces (listening on the underlay, port 23791); "kernel" is
 * a stock flannel node: the test writes its lease into etcd as flanneld would and
 * programs the kernel VXLAN from the others' leases (kernel-flannel.ts).
 *
 * Renewal is made observable with the test hook VXTUN_TEST_SUBNET_LEASE (TTL 20 s, renew
 * 15 s before expiry, i.e. every ~5 s, retry 1 s): --subnet-lease-renew-margin counts in
 * minutes, and the shortest real renewal period it allows is one minute.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { createCluster } from '../../src/lab/cluster.js';
import { EtcdCluster, etcdSkipReason, startVxtunOnEtcd } from '../../src/lab/etcd.js';
import { kernelFlannel, type LabPeer } from '../../src/lab/kernel-flannel.js';
import { netnsSkipReason } from '../../src/lab/netns.js';
import type { LabNode } from '../../src/lab/node.js';
import type { LabPod } from '../../src/lab/pod.js';
import { ping, tcpExchange, type NsLike } from '../../src/lab/probe.js';
import { sleep } from '../../src/lab/proc.js';
import { LabFiles, type LabVxtun } from '../../src/lab/vxtun.js';

const skip = netnsSkipReason() ?? etcdSkipReason();
const PREFIX = '/coreos.com/network';
const KERNEL_MAC = '02:f1:00:00:00:04';
const HOOK = { VXTUN_TEST_SUBNET_LEASE: 'ttl=20,margin=15,retry=1' };
const flannelValue = (ip: string, mac: string) => `{"PublicIP":"${ip}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"}}`;
const keyOf = (n: LabNode) => `${PREFIX}/subnets/${n.subnet.replace('/', '-')}`;

async function reachable(from: NsLike, to: LabPod, attempts = 30): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if ((await ping(from, to.ip, { count: 1, timeoutSec: 1 })).received === 1) return true;
    await sleep(100);
  }
  return false;
}

async function unreachable(from: NsLike, to: LabPod, attempts = 40): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (/Unreachable/.test((await ping(from, to.ip, { count: 1, timeoutSec: 1 })).output)) return true;
    await sleep(100);
  }
  return false;
}

async function until(cond: () => boolean, attempts = 150): Promise<boolean> {
  for (let i = 0; i < attempts && !cond(); i++) await sleep(100);
  return cond();
}

const renewals = (v: LabVxtun) => (v.log().match(/"msg":"Lease renewed/g) ?? []).length;

t.test('vxtun nodes on etcd, with a kernel flannel node', { skip: skip ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vxet', podsPerNode: 1, txOffloadOff: true,
    nodes: [{ name: 'master' }, { name: 'worker1' }, { name: 'worker2' }, { name: 'kernel' }] });
  const files = new LabFiles();
  const runs = new Map<string, LabVxtun>();
  let etcd: EtcdCluster | undefined;
  t.teardown(async () => {
    for (const r of runs.values()) await r.stop();
    cluster.destroy();
    etcd?.destroy();
    files.remove();
  });
  const [master, worker1, worker2, kernel] = cluster.nodes as [LabNode, LabNode, LabNode, LabNode];
  const vx = [master, worker1, worker2];
  etcd = await EtcdCluster.start({ nodes: vx });
  const db = etcd;
  await db.put(`${PREFIX}/config`, '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
  // The lab's pods live in subnet #i+1 of each node: subnet.env (FLANNEL_SUBNET, the
  // "previous subnet") steers each node's acquisition there, as after a flanneld restart.
  for (const n of vx) writeFileSync(files.subnetFile(n), `FLANNEL_SUBNET=${n.cni0Ip}/${n.subnetPrefix}\n`);
  // The kernel node's lease, exactly as flanneld writes it: flannel JSON on a 24 h lease.
  await db.put(keyOf(kernel), flannelValue(kernel.underlayIp, KERNEL_MAC), { ttlSec: 86400 });
  const kf = kernelFlannel(kernel, { mac: KERNEL_MAC });

  const start = async (n: LabNode) => {
    const r = await startVxtunOnEtcd(n, { etcd: db, files, env: HOOK });
    runs.set(n.name, r);
    return r;
  };
  await Promise.all(vx.map(start));
  const stored = new Map<string, { value: string; lease: string }>();
  const readLeases = async () => {
    stored.clear();
    for (const kv of await db.list(`${PREFIX}/subnets/`)) stored.set(kv.key, kv);
  };
  await readLeases();

  t.test('(a) each node wrote flannel\'s lease and pods reach each other', async (t) => {
    t.equal(stored.size, 4, 'three vxtun leases and the kernel node\'s');
    for (const n of vx) {
      const kv = stored.get(keyOf(n));
      const mac = /"vtepMac":"([0-9a-f:]{17})"/.exec(runs.get(n.name)!.log())?.[1];
      t.ok(mac, `${n.name} logged its VtepMAC`);
      t.equal(kv?.value, flannelValue(n.underlayIp, mac ?? '?'), `${n.name}: ${keyOf(n)} holds flanneld's exact JSON`);
      t.not(kv?.lease, '0', `${n.name}: attached to an etcd lease`);
      t.equal(readFileSync(files.subnetFile(n), 'utf8'), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${n.cni0Ip}/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`,
        `${n.name}: subnet.env names the acquired subnet`);
    }
    let port = 7400;
    for (const a of vx) for (const b of vx) {
      if (a === b) continue;
      t.ok(await reachable(a.pods[0]!, b.pods[0]!), `ping ${a.name} → ${b.name}`);
      t.equal(await tcpExchange(a.pods[0]!, b.pods[0]!, port++, { message: 'tcp-ok' }), 'tcp-ok', `TCP ${a.name} → ${b.name}`);
    }
  });

  t.test('(b) the kernel flannel node reaches and is reached by the vxtun nodes', async (t) => {
    for (const n of vx) {
      const mac = (JSON.parse(stored.get(keyOf(n))!.value) as { BackendData: { VtepMAC: string } }).BackendData.VtepMAC;
      kf.addPeer({ subnet: n.subnet, publicIp: n.underlayIp, vtepMac: mac } satisfies LabPeer);
    }
    let port = 7500;
    for (const n of vx) {
      t.ok(await reachable(n.pods[0]!, kernel.pods[0]!), `ping ${n.name} → kernel`);
      t.ok(await reachable(kernel.pods[0]!, n.pods[0]!), `ping kernel → ${n.name}`);
      t.equal(await tcpExchange(n.pods[0]!, kernel.pods[0]!, port++, { message: 'k1' }), 'k1', `TCP ${n.name} → kernel`);
      t.equal(await tcpExchange(kernel.pods[0]!, n.pods[0]!, port++, { message: 'k2' }), 'k2', `TCP kernel → ${n.name}`);
    }
  });

  t.test('(d) a restart keeps the subnet and the VtepMAC', async (t) => {
    const before = stored.get(keyOf(worker2))!.value;
    t.equal(await runs.get('worker2')!.stop(), 0, 'clean exit');
    const again = await start(worker2);
    await readLeases();
    t.equal(stored.get(keyOf(worker2))?.value, before, 'same key, same value (so the same MAC)');
    t.match(again.log(), /Found lease \(10\.244\.3\.0\/24\) for current IP \(192\.168\.50\.3\), reusing/, 'found by its PublicIP');
    t.match(again.log(), /"macKept":true/, 'the stored VtepMAC was kept');
    t.ok(await reachable(master.pods[0]!, worker2.pods[0]!), 'master → worker2 after the restart');
    t.ok(await reachable(kernel.pods[0]!, worker2.pods[0]!), 'kernel → worker2 without reprogramming the kernel');
  });

  t.test('(e) the etcd leader is killed: forwarding goes on and leases are still renewed', async (t) => {
    const before = vx.map((n) => renewals(runs.get(n.name)!));
    const leader = await db.leader();
    const pid = leader.pid;
    await leader.kill();
    t.ok(pid !== undefined && leader.pid === undefined, `the leader, the member on ${leader.name} (pid ${pid}), killed`);
    for (const [i, n] of vx.entries()) {
      t.ok(await until(() => renewals(runs.get(n.name)!) > before[i]!), `${n.name} renewed its lease after the kill`);
    }
    t.ok(await reachable(worker1.pods[0]!, master.pods[0]!), 'worker1 → master');
    t.ok(await reachable(master.pods[0]!, kernel.pods[0]!), 'master → kernel');
    t.equal(await tcpExchange(worker2.pods[0]!, worker1.pods[0]!, 7600, { message: 'still' }), 'still', 'TCP worker2 → worker1');
    await readLeases();
    t.equal(stored.size, 4, 'every lease still in etcd');
  });

  t.test('(c) a lease deleted in etcd disappears from every peer', async (t) => {
    await db.del(keyOf(kernel));
    for (const n of vx) t.ok(await unreachable(n.pods[0]!, kernel.pods[0]!), `${n.name}: the kernel node's pods are now "Unreachable"`);
    // Deleting a vxtun node's own lease revokes it: that node shuts down as flanneld does.
    const w2 = runs.get('worker2')!;
    await db.del(keyOf(worker2));
    const code = await Promise.race([w2.exited, sleep(15_000).then(() => 'still running' as const)]);
    t.equal(code, 1, 'worker2 exited with status 1');
    t.match(w2.log(), /Lease has been revoked/, 'and said why');
    runs.delete('worker2');
    for (const n of [master, worker1]) t.ok(await unreachable(n.pods[0]!, worker2.pods[0]!), `${n.name}: worker2's pods are now "Unreachable"`);
    t.ok(await reachable(master.pods[0]!, worker1.pods[0]!), 'the remaining nodes still talk');
  });
});
