// SPDX-License-Identifier: Apache-2.0
// The bench's userspace anchor, bench/tools/naivefwd.c, as the bench runs it (root only):
// the naive bed forwards pings and TCP both ways with VXLAN that tshark reads as the
// kernel's, the anchor talks to a kernel flannel.1 node (so it does the same work as the
// dataplanes it is compared with), and a datagram with the wrong VNI is dropped and counted.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildBed } from '../../src/bench/bed.js';
import { NAIVE_TUN, parseNaiveCounters, startNaive, type NaiveDaemon } from '../../src/bench/naive.js';
import { buildTools, which } from '../../src/bench/tools.js';
import { createCluster } from '../../src/lab/cluster.js';
import { kernelFlannel, peerOf, vtepMacFor } from '../../src/lab/kernel-flannel.js';
import { netnsSkipReason } from '../../src/lab/netns.js';
import { captureUnderlay, dissect, ping, tcpExchange, udpExchange } from '../../src/lab/probe.js';
import { collect } from '../../src/lab/proc.js';

const skip = netnsSkipReason() ?? (which('cc') === null ? 'needs a C compiler (cc): apt-get install build-essential' : null);

t.test('parseNaiveCounters', async (t) => {
  t.same(parseNaiveCounters('ready\n{"encap":3,"decap":4,"dropped":1,"errors":0}\n'), { encap: 3, decap: 4, dropped: 1, errors: 0 });
  t.equal(parseNaiveCounters('ready\n'), null, 'no counters line');
  t.equal(parseNaiveCounters('{"encap":3}\n'), null, 'a field missing');
  t.equal(parseNaiveCounters('{"encap":\n'), null, 'cut short');
});

t.test('naivefwd', { skip: skip ?? false }, async (t) => {
  const tools = buildTools();
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-naive-test-'));
  t.teardown(() => {
    tools.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  t.test('usage errors exit 2', async (t) => {
    const r = await collect(spawn(tools.naivefwd, ['-t', 'x']), 5000);
    t.equal(r.status, 2);
    t.match(r.stderr, /usage: naivefwd/);
  });

  t.test('the naive bed: both ways, VXLAN as the kernel frames it, counters', async (t) => {
    const bed = await buildBed('naive', 'txoff', { naivefwd: tools.naivefwd });
    t.teardown(() => bed.teardown());
    t.equal(bed.daemons.length, 2, 'a forwarder per node');
    t.match(bed.node1.ns.ip('route', 'get', bed.server.ip), new RegExp(`dev ${NAIVE_TUN}`), 'the peer subnet is routed into the TUN');
    const file = path.join(dir, 'naive-ul0.pcap');
    const cap = await captureUnderlay(bed.node1, { file, filter: 'udp port 8472' });
    const r = await ping(bed.client, bed.server.ip, { count: 3, timeoutSec: 2 });
    await cap.stop();
    t.equal(r.received, 3, 'pod1 → pod2 pings answered');
    t.equal(await tcpExchange(bed.server, bed.client, 7300, { message: 'tcp-ok' }), 'tcp-ok', 'TCP pod2 → pod1');
    const rows = await dissect(file, ['ip.src', 'vxlan.vni', 'vxlan.flags', 'eth.src', 'eth.dst', 'ip.flags.df', 'udp.checksum.status', 'frame.protocols']);
    t.equal(rows.length, 6, '3 requests and 3 replies');
    for (const row of rows) {
      const toNode2 = row['ip.src']?.[0] === bed.node1.underlayIp;
      t.same(row['vxlan.vni'], ['1']);
      t.same(row['vxlan.flags'], ['0x0800'], 'flags: I only');
      t.equal(row['eth.src']?.[1], toNode2 ? vtepMacFor(0) : vtepMacFor(1), 'inner source MAC: the sender VTEP');
      t.equal(row['eth.dst']?.[1], toNode2 ? vtepMacFor(1) : vtepMacFor(0), 'inner destination MAC: the receiver VTEP');
      t.equal(row['ip.flags.df']?.[0], '0', 'outer DF clear');
      t.same(row['udp.checksum.status'], ['1'], 'outer UDP checksum Good');
      t.same(row['frame.protocols'], ['eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data']);
    }
    const counters = await (bed.daemons[0] as NaiveDaemon).stop();
    t.ok(counters !== null && counters.encap >= 3 && counters.decap >= 3, `node1 forwarded both ways (${JSON.stringify(counters)})`);
    t.equal(counters?.dropped, 0);
    t.equal(counters?.errors, 0);
  });

  t.test('against a kernel flannel.1 node; a wrong VNI is dropped and counted', async (t) => {
    const cluster = createCluster({ name: 'vxnaive', nodes: [{ name: 'node1', pods: ['pod1'] }, { name: 'node2', pods: ['pod2'] }], txOffloadOff: true });
    const [node1, node2] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const peers = [peerOf(node1, vtepMacFor(0)), peerOf(node2, vtepMacFor(1))] as const;
    let naive: NaiveDaemon | undefined;
    t.teardown(async () => {
      await naive?.stop();
      cluster.destroy();
    });
    kernelFlannel(node2, { mac: vtepMacFor(1) }).addPeer(peers[0]);
    naive = await startNaive(node1, peers[0], peers[1], tools.naivefwd);
    const [pod1, pod2] = [node1.pod('pod1'), node2.pod('pod2')];
    t.equal((await ping(pod1, pod2.ip, { count: 3, timeoutSec: 2 })).received, 3, 'naive → kernel and back');
    t.equal(await udpExchange(pod2, pod1, 7301, { message: 'udp-ok' }), 'udp-ok', 'UDP kernel → naive');
    // From node2's underlay address (the peer naivefwd accepts), VNI 2 instead of 1.
    const bogus = 'const s=require("dgram").createSocket("udp4");const b=Buffer.alloc(64);b[0]=8;b[6]=2;b[20]=8;b[22]=0x45;' +
      `s.send(b,8472,"${node1.underlayIp}",()=>s.close());`;
    const sent = await collect(node2.spawn([process.execPath, '-e', bogus]), 10_000);
    t.equal(sent.status, 0, sent.stderr);
    const counters = await naive.stop();
    naive = undefined;
    t.ok(counters !== null && counters.encap >= 4 && counters.decap >= 4, `forwarded both ways (${JSON.stringify(counters)})`);
    t.equal(counters?.dropped, 1, 'the VNI 2 datagram');
  });
});
