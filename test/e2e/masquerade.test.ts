// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun run --ip-masq` on lab nodes, in namespaces this test creates: the node's nat and
 * filter tables hold exactly flanneld's rules, pod-to-pod traffic keeps the pod's address,
 * pod-to-outside traffic is masqueraded to the node's address, /healthz and /readyz
 * answer, subnet.env says FLANNEL_IPMASQ=true, and SIGTERM removes the rules.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { createCluster } from '../../src/lab/cluster.js';
import { netnsSkipReason } from '../../src/lab/netns.js';
import { httpGet, startHttpServer } from '../../src/lab/probe.js';
import { stopChild, waitForOutput } from '../../src/lab/proc.js';
import { LabFiles, startVxtun, type LabVxtun } from '../../src/lab/vxtun.js';
import { peerOf, vtepMacFor } from '../../src/lab/kernel-flannel.js';

const skip = netnsSkipReason();

const NAT_POLICIES = '-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n';
const FILTER_POLICIES = '-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n';

/** flanneld's nat table for Network 10.244.0.0/16 and node subnet `p`, written out by hand. */
function flanneldNat(p: string, randomFully: boolean): string {
  const rf = randomFully ? ' --random-fully' : '';
  return `${NAT_POLICIES}-N FLANNEL-POSTRTG
-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s ${p} -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d ${p} -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d ${p} -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE${rf}
-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE${rf}
`;
}

const FLANNELD_FILTER = `${FILTER_POLICIES}-N FLANNEL-FWD
-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
`;

t.test('vxtun run --ip-masq installs, keeps and removes flanneld\'s rules', { skip: skip ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vxmasq', nodes: [{ name: 'master', pods: 1 }, { name: 'worker1', pods: 1 }], txOffloadOff: true });
  const files = new LabFiles();
  t.teardown(() => { cluster.destroy(); files.remove(); });
  const [master, worker] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
  files.writeLeases(cluster.nodes.map((n, i) => peerOf(n, vtepMacFor(i))));
  const runs: LabVxtun[] = [];
  t.teardown(async () => { for (const r of runs) await r.stop(); });
  for (const node of cluster.nodes) {
    runs.push(await startVxtun(node, { files, args: ['--ip-masq', '--healthz-ip', '127.0.0.1', '--healthz-port', '18081'] }));
  }
  const version = /v(\d+)\.(\d+)\.(\d+)/.exec(master.ns.exec('iptables', '--version'));
  const randomFully = version !== null && Number(version[1]) * 1e6 + Number(version[2]) * 1e3 + Number(version[3]) >= 1_006_002;

  t.test('each node\'s nat and filter tables hold exactly flanneld\'s rules', async (t) => {
    for (const node of cluster.nodes) {
      t.equal(node.ns.exec('iptables', '-t', 'nat', '-S'), flanneldNat(node.subnet, randomFully), `${node.name}: nat (random-fully: ${randomFully})`);
      t.equal(node.ns.exec('iptables', '-t', 'filter', '-S'), FLANNELD_FILTER, `${node.name}: filter`);
    }
  });

  t.test('subnet.env says FLANNEL_IPMASQ=true; /healthz and /readyz answer 200', async (t) => {
    t.equal(readFileSync(files.subnetFile(master), 'utf8'), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    t.equal(await httpGet(master, 'http://127.0.0.1:18081/healthz'), 'vxtun is running\n');
    t.equal(await httpGet(master, 'http://127.0.0.1:18081/readyz'), 'ready\n');
  });

  t.test('pod to pod across nodes is not masqueraded: the server sees the pod\'s address', async (t) => {
    const server = await startHttpServer(worker.pods[0]!, 8080);
    t.teardown(() => server.stop());
    const seen = JSON.parse(await httpGet(master.pods[0]!, server.url)) as { remote: string };
    t.equal(seen.remote, master.pods[0]!.ip);
  });

  t.test('pod to an address outside the cluster network is masqueraded to the node\'s address', async (t) => {
    const srv = worker.spawn([process.execPath, '-e', `require('http').createServer((q,r)=>r.end(q.socket.remoteAddress))
.listen(8090,${JSON.stringify(worker.underlayIp)},()=>console.log('listening'))`]);
    t.teardown(() => stopChild(srv));
    await waitForOutput(srv, srv.stdout, /listening/, 10_000);
    srv.stdout?.resume();
    t.equal(await httpGet(master.pods[0]!, `http://${worker.underlayIp}:8090/`), master.underlayIp, `source rewritten from ${master.pods[0]!.ip}`);
  });

  t.test('a rule deleted by hand is put back by the resync (every --iptables-resync seconds)', async (t) => {
    master.ns.exec('iptables', '-t', 'nat', '-D', 'POSTROUTING', '-m', 'comment', '--comment', 'flanneld masq', '-j', 'FLANNEL-POSTRTG');
    t.not(master.ns.exec('iptables', '-t', 'nat', '-S'), flanneldNat(master.subnet, randomFully));
    let now = '';
    for (let i = 0; i < 120 && now !== flanneldNat(master.subnet, randomFully); i++) {
      await new Promise((r) => setTimeout(r, 250));
      now = master.ns.exec('iptables', '-t', 'nat', '-S');
    }
    t.equal(now, flanneldNat(master.subnet, randomFully), 'restored, in order');
    // The daemon logs the repair after its last iptables call returns, so the rules can be
    // back a moment before the line reaches its stderr: wait for the line too.
    const said = /Some iptables rules are missing; deleting and recreating rules/;
    for (let i = 0; i < 40 && !said.test(runs[0]!.log()); i++) await new Promise((r) => setTimeout(r, 250));
    t.match(runs[0]!.log(), said);
  });

  t.test('SIGTERM removes the rules and chains', async (t) => {
    t.equal(await runs[0]!.stop(), 0, 'clean exit');
    t.equal(master.ns.exec('iptables', '-t', 'nat', '-S'), NAT_POLICIES);
    t.equal(master.ns.exec('iptables', '-t', 'filter', '-S'), FILTER_POLICIES);
    t.equal(worker.ns.exec('iptables', '-t', 'nat', '-S'), flanneldNat(worker.subnet, randomFully), 'the other node keeps its rules');
  });
});
