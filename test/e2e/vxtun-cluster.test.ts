// SPDX-License-Identifier: Apache-2.0
/**
 * Three vxtun nodes as in the seed (a master and two workers, pods on each), in network
 * namespaces this test creates: pods reach pods on every other node (ping and TCP), a
 * node reaches a remote pod, subnet.env is flannel's, and SIGTERM removes the host state.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { createCluster } from '../../src/lab/cluster.js';
import { netnsSkipReason } from '../../src/lab/netns.js';
import { ping, tcpExchange } from '../../src/lab/probe.js';
import { LabFiles, startVxtun, type LabVxtun } from '../../src/lab/vxtun.js';
import { peerOf, vtepMacFor } from '../../src/lab/kernel-flannel.js';
import { TUN_TX_QUEUE_LEN } from '../../src/daemon/vtep.js';

const skip = netnsSkipReason();

t.test('three vxtun nodes', { skip: skip ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vx3', podsPerNode: 1, txOffloadOff: true });
  const files = new LabFiles();
  t.teardown(() => { cluster.destroy(); files.remove(); });
  files.writeLeases(cluster.nodes.map((n, i) => peerOf(n, vtepMacFor(i))));
  const runs: LabVxtun[] = [];
  for (const node of cluster.nodes) runs.push(await startVxtun(node, { files }));

  t.test('the TUN, its address and one route for the whole Network', async (t) => {
    for (const node of cluster.nodes) {
      const link = JSON.parse(node.ns.ip('-j', '-d', 'link', 'show', 'flannel.1')) as Array<{ mtu: number; txqlen: number; flags: string[]; linkinfo?: { info_kind?: string } }>;
      t.equal(link[0]?.mtu, 1450, `${node.name}: MTU = 1500 - 50`);
      t.equal(link[0]?.txqlen, TUN_TX_QUEUE_LEN, `${node.name}: a TUN queue long enough for bursts`);
      t.ok(link[0]?.flags.includes('UP'), `${node.name}: up`);
      t.equal(link[0]?.linkinfo?.info_kind, 'tun', `${node.name}: a TUN device`);
      const addr = node.ns.ip('-4', '-o', 'addr', 'show', 'dev', 'flannel.1');
      t.match(addr, new RegExp(`inet ${node.subnet.replace('/24', '').replace(/\.0$/, '.0')}/32`), `${node.name}: <subnet>.0/32`);
      const routes = node.ns.ip('-4', 'route', 'show');
      t.match(routes, /10\.244\.0\.0\/16 dev flannel\.1/, `${node.name}: Network via the TUN`);
      t.match(routes, new RegExp(`${node.subnet.replace('/', '\\/')} dev cni0`), `${node.name}: local subnet on cni0`);
    }
  });

  t.test('subnet.env as flanneld writes it', async (t) => {
    const master = cluster.nodes[0]!;
    t.equal(readFileSync(files.subnetFile(master), 'utf8'), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n');
  });

  t.test('pod to pod on every pair of nodes (ping and TCP)', async (t) => {
    for (const a of cluster.nodes) {
      for (const b of cluster.nodes) {
        if (a === b) continue;
        const from = a.pods[0]!;
        const to = b.pods[0]!;
        const r = await ping(from, to.ip, { count: 3, timeoutSec: 2 });
        t.equal(r.received, 3, `${from.name} → ${to.name}: ${r.received}/3 echo replies`);
        const echoed = await tcpExchange(from, to, 7000 + a.index * 10 + b.index, { message: `hello ${from.name}` });
        t.equal(echoed, `hello ${from.name}`, `TCP ${from.name} → ${to.name}`);
      }
    }
  });

  t.test('a node reaches a remote pod (from its .0 overlay address)', async (t) => {
    const r = await ping(cluster.nodes[0]!, cluster.nodes[2]!.pods[0]!.ip, { count: 2, timeoutSec: 2 });
    t.equal(r.received, 2);
  });

  t.test('SIGTERM removes the device, address and route', async (t) => {
    const worker2 = cluster.nodes[2]!;
    const code = await runs[2]!.stop();
    t.equal(code, 0, 'clean exit');
    t.notMatch(worker2.ns.ip('-4', 'route', 'show'), /flannel\.1/, 'route gone');
    t.equal(worker2.ns.tryExec('ip', 'link', 'show', 'flannel.1').status !== 0, true, 'device gone');
    const r = await ping(cluster.nodes[0]!.pods[0]!, worker2.pods[0]!.ip, { count: 1, timeoutSec: 1 });
    t.equal(r.received, 0, 'its pods are unreachable once it stopped');
  });

  t.teardown(async () => { for (const r of runs) await r.stop(); });
});
