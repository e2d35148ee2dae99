// SPDX-License-Identifier: Apache-2.0
/**
 * A mixed cluster: master and worker1 run vxtun, worker2 runs the kernel's VXLAN exactly
 * as flanneld configures it (flannel.1, nolearning, permanent neighbour and FDB entries,
 * onlink routes). Traffic must work both ways for ICMP, UDP and TCP, and the packets on
 * the underlay, judged by tshark, must look like the kernel's own.
 */
import t from 'tap';
import path from 'node:path';
import { netnsSkipReason } from '../../src/lab/netns.js';
import { captureUnderlay, dissect, ping, tcpExchange, udpExchange } from '../../src/lab/probe.js';
import { startVxtun } from '../../src/lab/vxtun.js';
import { kernelFlannel, peerOf, vtepMacFor } from '../../src/lab/kernel-flannel.js';
import { labFixture } from '../helpers/lab-fixture.js';

const skip = netnsSkipReason();

t.test('vxtun and kernel VXLAN nodes in one cluster', { skip: skip ?? false }, async (t) => {
  const { cluster, files, scratch, runs } = labFixture(t, { name: 'vxmix', podsPerNode: 1, txOffloadOff: true });
  const [master, worker1, worker2] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const peers = cluster.nodes.map((n, i) => peerOf(n, vtepMacFor(i)));
  files.writeLeases(peers);
  const kernel = kernelFlannel(worker2, { mac: vtepMacFor(2) });
  kernel.addPeer(peers[0]!);
  kernel.addPeer(peers[1]!);
  runs.push(await startVxtun(master, { files }), await startVxtun(worker1, { files }));

  const pairs: Array<[typeof master, typeof master]> = [[master, worker2], [worker2, master], [worker1, worker2], [worker2, worker1]];
  t.test('ICMP, UDP and TCP both ways between vxtun and kernel nodes', async (t) => {
    let port = 7100;
    for (const [a, b] of pairs) {
      const from = a.pods[0]!;
      const to = b.pods[0]!;
      const r = await ping(from, to.ip, { count: 3, timeoutSec: 2 });
      t.equal(r.received, 3, `ICMP ${a.name} → ${b.name}`);
      t.equal(await udpExchange(from, to, port++, { message: 'udp-ok' }), 'udp-ok', `UDP ${a.name} → ${b.name}`);
      t.equal(await tcpExchange(from, to, port++, { message: 'tcp-ok' }), 'tcp-ok', `TCP ${a.name} → ${b.name}`);
    }
    const host = await ping(worker2, master.pods[0]!.ip, { count: 2, timeoutSec: 2 });
    t.equal(host.received, 2, 'kernel node (host) → vxtun pod');
    const host2 = await ping(master, worker2.pods[0]!.ip, { count: 2, timeoutSec: 2 });
    t.equal(host2.received, 2, 'vxtun node (host) → kernel pod');
  });

  t.test('on the wire, vxtun sends what the kernel sends (tshark)', async (t) => {
    const file = path.join(scratch, 'master-ul0.pcap');
    const cap = await captureUnderlay(master, { file, filter: 'udp port 8472' });
    const from = master.pods[0]!;
    const to = worker2.pods[0]!;
    await ping(from, to.ip, { count: 3, timeoutSec: 2, intervalSec: 0.05 });
    // Four distinct UDP flows (a new socket, so a new inner source port, each time).
    for (let k = 0; k < 4; k++) await udpExchange(from, to, 7300 + k, { message: `flow${k}` });
    await cap.stop();
    const rows = await dissect(file, ['ip.src', 'ip.dst', 'ip.flags.df', 'ip.ttl', 'udp.srcport', 'udp.dstport', 'udp.checksum.status',
      'vxlan.flags', 'vxlan.flag_i', 'vxlan.vni', 'eth.src', 'eth.dst', 'frame.protocols', 'icmp.type', 'udp.length']);
    const sent = rows.filter((r) => r['ip.src']?.[0] === master.underlayIp);
    const received = rows.filter((r) => r['ip.src']?.[0] === worker2.underlayIp);
    t.ok(sent.length >= 7 && received.length >= 7, `frames both ways (${sent.length} sent, ${received.length} received)`);
    for (const r of sent) {
      t.match(r['frame.protocols']?.[0] ?? '', /^eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:/, 'VXLAN inside UDP');
      t.equal(r['vxlan.vni']?.[0], '1');
      t.equal(r['vxlan.flags']?.[0], '0x0800', 'flags: exactly I');
      t.equal(r['vxlan.flag_i']?.[0], '1');
      t.equal(r['udp.dstport']?.[0], '8472');
      t.equal(r['ip.flags.df']?.[0], '0', 'outer DF clear');
      t.equal(r['ip.ttl']?.[0], '64', 'outer TTL 64');
      t.equal(r['udp.checksum.status']?.[0], '1', 'outer UDP checksum valid');
      t.equal(r['eth.dst']?.[1], vtepMacFor(2), 'inner dst = the kernel node\'s VtepMAC');
      t.equal(r['eth.src']?.[1], vtepMacFor(0), 'inner src = our VtepMAC');
      t.equal(r['ip.dst']?.[1], to.ip);
      const sport = Number(r['udp.srcport']?.[0]);
      t.ok(sport >= 32768 && sport <= 60999, `outer source port ${sport} in 32768-60999`);
    }
    // Same flow → same port: every echo request of the ping; distinct flows → distinct ports.
    const icmpPorts = new Set(sent.filter((r) => r['icmp.type']?.[0] === '8').map((r) => r['udp.srcport']?.[0]));
    t.equal(icmpPorts.size, 1, 'one outer source port for one ICMP flow');
    const flowPorts = new Set(sent.filter((r) => r['icmp.type'] === undefined || r['icmp.type'].length === 0).map((r) => r['udp.srcport']?.[0]));
    t.ok(flowPorts.size >= 3, `distinct outer source ports for distinct UDP flows (${[...flowPorts].join(', ')})`);
    // Frames the kernel sent reach us with its VtepMAC as inner source.
    for (const r of received) t.equal(r['eth.src']?.[1], vtepMacFor(2));
  });
});
