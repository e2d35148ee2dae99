// SPDX-License-Identifier: Apache-2.0
/**
 * The write side of the TUN offloads (tunWrite with an offload state): which TCP segments
 * coalesce into one GSO_TCPV4 super-packet and what that packet looks like (virtio
 * header, IPv4 length and checksum, the pseudo-header sum in the TCP checksum field, the
 * concatenated payload), and every rule that keeps segments apart. Driven through a
 * SOCK_SEQPACKET pair standing in for the TUN fd (no privileges needed).
 */
import t from 'tap';
import { Rig, native } from './fixtures/offload-rig.js';
import { ACK, GSO, NEEDS_CSUM, PSH, SYN, FIN, ipv4ChecksumOk, l4ChecksumOk, parseVnet, pattern, refSplit, tcp4, udp4, type Flow } from './fixtures/offload-ref.js';
import { onesSum, pseudoHeaderSum } from '../../src/packet/checksum.js';
import { VERDICT_DROP, VERDICT_TUN } from '../../src/dataplane/batch.js';

const MSS = 1400;

/** `count` consecutive segments of a flow starting at seq, payload MSS each unless sizes says. */
function run(flow: Flow, seq: number, count: number, o: { sizes?: number[]; lastFlags?: number } = {}): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const size = o.sizes?.[i] ?? MSS;
    out.push(tcp4({ ...flow, seq, flags: i === count - 1 && o.lastFlags !== undefined ? o.lastFlags : ACK, payload: pattern(size, seq), id: 100 + i }));
    seq += size;
  }
  return out;
}

interface Written { vnet: ReturnType<typeof parseVnet>; pkt: Buffer }
const written = (rig: Rig): Written[] => rig.records().map((r) => ({ vnet: parseVnet(r), pkt: r.subarray(10) }));
const payloadOf = (p: Buffer): Buffer => p.subarray(20 + (p[32]! >> 4) * 4);
const isZero = (w: Written): boolean => w.vnet.flags === 0 && w.vnet.gsoType === 0 && w.vnet.gsoSize === 0 && w.vnet.hdrLen === 0;

function rigFor(t: { teardown(fn: () => void): void }): Rig {
  const rig = new Rig({ capacity: 128, maxPacket: 65535 });
  t.teardown(() => rig.close());
  return rig;
}

t.test('consecutive segments of one flow become one GSO_TCPV4 super-packet', async (t) => {
  const rig = rigFor(t);
  const segs = run({}, 1000, 8, { lastFlags: ACK | PSH });
  t.equal(rig.write(segs), 8, 'written counts the packets inside');
  const out = written(rig);
  t.equal(out.length, 1, 'one write');
  const { vnet, pkt } = out[0]!;
  t.same(vnet, { flags: NEEDS_CSUM, gsoType: GSO.TCPV4, hdrLen: 40, gsoSize: MSS, csumStart: 20, csumOffset: 16 }, 'virtio header');
  t.equal(pkt.length, 40 + 8 * MSS);
  t.equal(pkt.readUInt16BE(2), pkt.length, 'IPv4 total length');
  t.ok(ipv4ChecksumOk(pkt), 'IPv4 header checksum');
  t.equal(pkt.readUInt16BE(4), 100, 'the head\'s IPv4 ID');
  t.equal(pkt.readUInt32BE(24), 1000, 'the head\'s sequence number');
  t.equal(pkt[33], ACK | PSH, 'PSH of the last segment carried');
  t.equal(pkt.readUInt16BE(36), pseudoHeaderSum(pkt.readUInt32BE(12), pkt.readUInt32BE(16), 6, pkt.length - 20), 'TCP checksum field = pseudo-header sum');
  t.same(payloadOf(pkt), Buffer.concat(segs.map(payloadOf)), 'payload = the concatenation');
  // Finishing the partial checksum as the kernel would gives a valid segment.
  const done = Buffer.from(pkt);
  done.writeUInt16BE((~onesSum(done, 20, done.length - 20)) & 0xffff, 36);
  t.ok(l4ChecksumOk(done), 'the completed checksum verifies');
  t.match(rig.counters(), { superWritten: 1, segmentsMerged: 8, udpSuperWritten: 0 });
  t.same(refSplit(done, MSS), segs, 'the kernel\'s segmentation of it gives back every segment byte for byte');
});

t.test('flows are never mixed; each keeps its order', async (t) => {
  const rig = rigFor(t);
  const a = run({ sport: 1 }, 0, 3);
  const b = run({ sport: 2 }, 5000, 3);
  t.equal(rig.write([a[0]!, b[0]!, a[1]!, b[1]!, a[2]!, b[2]!]), 6);
  const out = written(rig);
  t.equal(out.length, 2);
  t.same(out.map((w) => w.pkt.readUInt16BE(20)), [1, 2], 'written where each head was');
  t.same(payloadOf(out[0]!.pkt), Buffer.concat(a.map(payloadOf)));
  t.same(payloadOf(out[1]!.pkt), Buffer.concat(b.map(payloadOf)));
});

t.test('what ends a run', async (t) => {
  type Case = [string, Buffer[], number[][]]; // name, packets in order, expected groups (indices)
  const f = run({}, 0, 4);
  const withPsh = run({}, 0, 4).map((p, i) => (i === 1 ? tcp4({ seq: MSS, flags: ACK | PSH, payload: pattern(MSS, MSS), id: 101 }) : p));
  const short = run({}, 0, 3, { sizes: [MSS, 700, MSS] });
  const ooo = [f[0]!, f[2]!, f[1]!, f[3]!];
  const badSum = run({}, 0, 3).map((p, i) => (i === 1 ? Buffer.from(p).fill(0xee, 60, 61) : p));
  const badHead = run({}, 0, 3).map((p, i) => (i === 0 ? Buffer.from(p).fill(0xee, 60, 61) : p));
  const pureAck = tcp4({ seq: 2 * MSS, payload: Buffer.alloc(0) });
  const cases: Case[] = [
    ['PSH ends a run', withPsh, [[0, 1], [2, 3]]],
    ['a short segment ends a run', short, [[0, 1], [2]]],
    ['out of order is not merged', ooo, [[0], [1], [2], [3]]],
    ['a bad checksum is not merged (and the run ends)', badSum, [[0], [1], [2]]],
    ['a bad head goes alone; the rest merge', badHead, [[0], [1, 2]]],
    ['another ACK number', [f[0]!, tcp4({ seq: MSS, ack: 778, payload: pattern(MSS, MSS), id: 101 })], [[0], [1]]],
    ['another TTL', [f[0]!, tcp4({ seq: MSS, ttl: 63, payload: pattern(MSS, MSS), id: 101 })], [[0], [1]]],
    ['another ToS', [f[0]!, tcp4({ seq: MSS, tos: 4, payload: pattern(MSS, MSS), id: 101 })], [[0], [1]]],
    ['DF differs', [f[0]!, tcp4({ seq: MSS, df: false, payload: pattern(MSS, MSS), id: 101 })], [[0], [1]]],
    ['the IPv4 ID does not follow (the kernel would rewrite it)', [f[0]!, tcp4({ seq: MSS, payload: pattern(MSS, MSS), id: 100 })], [[0], [1]]],
    ['options differ', [tcp4({ seq: 0, tcpOptions: Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0]), payload: pattern(MSS) }),
      tcp4({ seq: MSS, tcpOptions: Buffer.from([1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 0]), payload: pattern(MSS, MSS), id: 0x1235 })], [[0], [1]]],
    ['a larger segment after a smaller head', [tcp4({ seq: 0, payload: pattern(700) }), tcp4({ seq: 700, payload: pattern(MSS), id: 0x1235 })], [[0], [1]]],
    ['a pure ACK of the flow in between', [f[0]!, f[1]!, pureAck, f[2]!, f[3]!], [[0, 1], [2], [3, 4]]],
    ['SYN and FIN are never merged', [tcp4({ seq: 0, flags: SYN | ACK, payload: pattern(10) }), tcp4({ seq: 10, flags: ACK | FIN, payload: pattern(10), id: 0x1235 })], [[0], [1]]],
  ];
  for (const [name, pkts, groups] of cases) {
    const rig = new Rig({ capacity: 128, maxPacket: 65535 });
    rig.write(pkts);
    const out = written(rig);
    t.equal(out.length, groups.length, `${name}: ${groups.length} writes`);
    groups.forEach((g, i) => {
      const w = out[i];
      if (!w) return;
      t.same(payloadOf(w.pkt), Buffer.concat(g.map((k) => payloadOf(pkts[k]!))), `${name}: write ${i} carries packets ${g.join('+')}`);
      t.equal(isZero(w), g.length === 1, `${name}: write ${i} ${g.length === 1 ? 'has a zero header' : 'is a super-packet'}`);
      if (g.length === 1) t.same(w.pkt, pkts[g[0]!], `${name}: write ${i} is the packet unchanged`);
    });
    rig.close();
  }
});

t.test('a run stops at 64 KB and at 64 segments', async (t) => {
  const rig = rigFor(t);
  const segs = run({}, 0, 50); // 50 * 1400 = 70000 > 65535 - 40
  t.equal(rig.write(segs), 50);
  const out = written(rig);
  t.same(out.map((w) => w.pkt.length), [40 + 46 * MSS, 40 + 4 * MSS], 'split where the next segment would pass 65535');
  const small = new Rig({ capacity: 128, maxPacket: 65535 });
  t.teardown(() => small.close());
  small.write(run({}, 0, 100, { sizes: Array(100).fill(100) }));
  t.same(written(small).map((w) => (w.pkt.length - 40) / 100), [64, 36], 'at most 64 segments');
});

t.test('other traffic passes with zero headers, in order; verdicts are honoured', async (t) => {
  const rig = rigFor(t);
  const f = run({}, 0, 2);
  const udp = udp4({ payload: pattern(50) });
  const opts = Buffer.from(tcp4({ seq: 2 * MSS, payload: pattern(MSS, 2 * MSS), id: 102 }));
  const skipped = tcp4({ seq: 9, sport: 9, payload: pattern(10) });
  t.equal(rig.write([f[0]!, udp, f[1]!, skipped, opts], [VERDICT_TUN, VERDICT_TUN, VERDICT_TUN, VERDICT_DROP, VERDICT_TUN]), 4);
  const out = written(rig);
  t.equal(out.length, 2, 'three TCP segments merged, UDP alone, the DROP one not written');
  t.same(payloadOf(out[0]!.pkt), Buffer.concat([payloadOf(f[0]!), payloadOf(f[1]!), payloadOf(opts)]));
  t.ok(isZero(out[1]!));
  t.same(out[1]!.pkt, udp);
});

t.test('tunOffloadNew coalesce: bit 1 TCP, bit 2 UDP; anything above 3 is refused', async (t) => {
  const segs = run({}, 0, 3);
  const udp = [0, 1, 2].map((i) => udp4({ sport: 7, payload: pattern(500, i), id: 10 + i }));
  for (const [coalesce, tcpWrites, udpWrites] of [[0, 3, 3], [1, 1, 3], [2, 3, 1], [3, 1, 1]] as const) {
    const rig = new Rig({ capacity: 128, maxPacket: 65535, coalesce });
    t.teardown(() => rig.close());
    rig.write(segs);
    t.equal(written(rig).length, tcpWrites, `coalesce ${coalesce}: TCP writes`);
    rig.write(udp);
    t.equal(written(rig).length, udpWrites, `coalesce ${coalesce}: UDP writes`);
  }
  t.throws(() => native.tunOffloadNew(3, new Float64Array(16), 0, 4), { name: 'RangeError', message: /coalesce/ });
});
