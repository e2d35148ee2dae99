// SPDX-License-Identifier: Apache-2.0
/**
 * Hostile VXLAN on the wire: one datagram per drop reason, crafted with the raw-socket
 * package and sent to a vxtun node's UDP 8472 from a peer's namespace. Each must be
 * dropped and counted under its reason, and none may reach the pod listening behind the
 * node, while a valid control datagram sent the same way does.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsSkipReason } from '../../src/lab/netns.js';
import { collect, sleep, stopChild, waitForOutput } from '../../src/lab/proc.js';
import { startVxtun } from '../../src/lab/vxtun.js';
import { peerOf, vtepMacFor } from '../../src/lab/kernel-flannel.js';
import { buildOuterUdp, buildUdpIpv4, buildVxlanFrame } from '../../src/packet/build.js';
import type { DropReason } from '../../src/packet/drop.js';
import { labFixture } from '../helpers/lab-fixture.js';

const skip = netnsSkipReason();
const SENDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'send-raw.js');

t.test('every drop reason, sent on the wire, is dropped, counted and kept from the pod', { skip: skip ?? false }, async (t) => {
  const { cluster, files, scratch, runs } = labFixture(t, { name: 'vxbad', nodes: [{ name: 'master', pods: 1 }, { name: 'worker1', pods: 1 }, { name: 'worker2', pods: 0 }], txOffloadOff: true });
  const [master, worker1, worker2] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  files.writeLeases(cluster.nodes.map((n, i) => peerOf(n, vtepMacFor(i))));
  const vx = await startVxtun(master, { files });
  runs.push(vx);
  const pod = master.pods[0]!;
  const sink = pod.spawn([process.execPath, '-e',
    "const d=require('dgram').createSocket('udp4');d.on('message',m=>console.log(m.toString()));d.bind(9999,()=>console.log('listening'))"]);
  await waitForOutput(sink, sink.stdout, /listening/, 5000);
  const sinkOut = collect(sink, 60_000);

  const senderPod = worker1.pods[0]!;
  const inner = (marker: string, src = senderPod.ip, o: { ttl?: number } = {}) =>
    buildUdpIpv4({ src, dst: pod.ip, sport: 5555, dport: 9999, payload: Buffer.from(marker), ...o });
  const vxlan = (marker: string, o: Partial<{ vni: number; dstMac: string; srcMac: string; type: number; innerSrc: string }> = {}) =>
    buildVxlanFrame({ vni: o.vni ?? 1, innerDstMac: o.dstMac ?? vtepMacFor(0), innerSrcMac: o.srcMac ?? vtepMacFor(1), innerType: o.type ?? 0x0800, inner: inner(marker, o.innerSrc) });
  const mutate = (b: Buffer, at: number, f: (v: number) => number) => { b[at] = f(b[at]!); return b; };
  const cases: Array<{ reason: DropReason | 'none'; payload: Buffer; from?: string }> = [
    { reason: 'none', payload: vxlan('valid-control') },
    { reason: 'bad-flags', payload: mutate(vxlan('hostile-no-i-flag'), 0, () => 0x00) },
    { reason: 'bad-flags', payload: mutate(vxlan('hostile-gbp-flag'), 0, () => 0x88) },
    { reason: 'reserved-bits', payload: mutate(vxlan('hostile-reserved1'), 2, () => 0x01) },
    { reason: 'reserved-bits', payload: mutate(vxlan('hostile-reserved2'), 7, () => 0xff) },
    { reason: 'wrong-vni', payload: vxlan('hostile-vni', { vni: 42 }) },
    { reason: 'wrong-dst-mac', payload: vxlan('hostile-dst-mac', { dstMac: '02:00:de:ad:be:ef' }) },
    { reason: 'own-src-mac', payload: vxlan('hostile-own-mac', { srcMac: vtepMacFor(0) }) },
    { reason: 'bad-src-mac', payload: vxlan('hostile-bcast-mac', { srcMac: 'ff:ff:ff:ff:ff:ff' }) },
    { reason: 'not-ipv4', payload: vxlan('hostile-ethertype', { type: 0x0806 }) },
    { reason: 'bad-ihl', payload: mutate(vxlan('hostile-ihl'), 22, () => 0x43) },
    { reason: 'bad-total-length', payload: mutate(vxlan('hostile-total-len'), 24, () => 0x7f) },
    { reason: 'bad-header-checksum', payload: mutate(vxlan('hostile-ip-csum'), 32, (v) => v ^ 0x5a) },
    { reason: 'truncated', payload: vxlan('hostile-truncated').subarray(0, 8 + 14 + 12) },
    { reason: 'truncated', payload: vxlan('hostile-short').subarray(0, 5) },
    { reason: 'spoofed-source', payload: vxlan('hostile-spoofed', { innerSrc: '10.244.3.7' }) },
    { reason: 'unknown-peer', payload: vxlan('hostile-stranger'), from: '192.168.50.99' },
  ];
  const packets = cases.map((c) => ({
    dst: master.underlayIp,
    hex: buildOuterUdp({ srcIp: c.from ?? worker1.underlayIp, dstIp: master.underlayIp, sport: 40000, dport: 8472, payload: c.payload }).toString('hex'),
  }));
  const list = path.join(scratch, 'packets.json');
  writeFileSync(list, JSON.stringify(packets));
  const send = await collect(worker1.spawn([process.execPath, SENDER, list]), 20_000);
  t.equal(send.status, 0, `raw sender ran (${send.stderr.trim()})`);
  t.match(send.stdout, `sent ${cases.length}`);
  await sleep(500);
  await stopChild(sink);
  const received = (await sinkOut).stdout;
  t.match(received, /valid-control/, 'the valid control datagram reached the pod');
  t.notMatch(received, /hostile/, 'no hostile datagram reached the pod');

  t.equal(await vx.stop(), 0);
  const stopped = vx.log().split('\n').find((l) => l.includes('"msg":"stopped'));
  t.ok(stopped, 'final counters logged');
  const drops = (JSON.parse(stopped ?? '{}') as { counters?: { drops?: Record<string, number> } }).counters?.drops ?? {};
  const expected: Record<string, number> = {};
  for (const c of cases) if (c.reason !== 'none') expected[c.reason] = (expected[c.reason] ?? 0) + 1;
  t.same(drops, expected, 'each hostile datagram counted once under its reason, nothing else dropped');
  void worker2;
});
