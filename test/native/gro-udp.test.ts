// SPDX-License-Identifier: Apache-2.0
/**
 * UDP on the write side of the TUN offloads (tunWrite with an offload state whose flags
 * include USO4): consecutive datagrams of one flow become one GSO_UDP_L4 super-packet
 * whose segmentation by the kernel gives back every datagram byte for byte, and every rule
 * that keeps datagrams apart. Driven through a SOCK_SEQPACKET pair standing in for the TUN
 * fd (no privileges needed); the kernel's side is in tun-offload.test.ts.
 */
import t from 'tap';
import { Rig } from './fixtures/offload-rig.js';
import { ACK, GSO, NEEDS_CSUM, ipv4ChecksumOk, l4ChecksumOk, parseVnet, pattern, refSplit, tcp4, udp4, type Flow } from './fixtures/offload-ref.js';
import { onesSum, pseudoHeaderSum } from '../../src/packet/checksum.js';
import { TUN_OFFLOADS_BASE } from '../../src/dataplane/offload.js';

/** `count` datagrams of a flow with consecutive IPv4 IDs from `id`, `size` payload bytes each unless sizes says. */
function datagrams(flow: Flow, count: number, o: { id?: number; size?: number; sizes?: number[] } = {}): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    out.push(udp4({ ...flow, id: ((o.id ?? 7) + i) & 0xffff, payload: pattern(o.sizes?.[i] ?? o.size ?? 18, i) }));
  }
  return out;
}

const records = (rig: Rig): Array<{ vnet: ReturnType<typeof parseVnet>; pkt: Buffer }> =>
  rig.records().map((r) => ({ vnet: parseVnet(r), pkt: r.subarray(10) }));
const plain = (v: ReturnType<typeof parseVnet>): boolean => v.flags === 0 && v.gsoType === 0 && v.gsoSize === 0;

/** The merged packet with its partial checksum completed, as the kernel would. */
function completed(pkt: Buffer): Buffer {
  const done = Buffer.from(pkt);
  let c = (~onesSum(done, 20, done.length - 20)) & 0xffff;
  if (c === 0) c = 0xffff;
  done.writeUInt16BE(c, 26);
  return done;
}

function rigFor(t: { teardown(fn: () => void): void }, flags?: number): Rig {
  const rig = new Rig({ capacity: 128, maxPacket: 65535, ...(flags === undefined ? {} : { flags }) });
  t.teardown(() => rig.close());
  return rig;
}

t.test('consecutive datagrams of one flow become one GSO_UDP_L4 super-packet', async (t) => {
  const rig = rigFor(t);
  const dgrams = datagrams({}, 10, { sizes: [...Array(9).fill(18), 5] as number[] });
  t.equal(rig.write(dgrams), 10, 'written counts the datagrams inside');
  const out = records(rig);
  t.equal(out.length, 1, 'one write');
  const { vnet, pkt } = out[0]!;
  t.same(vnet, { flags: NEEDS_CSUM, gsoType: GSO.UDP_L4, hdrLen: 28, gsoSize: 18, csumStart: 20, csumOffset: 6 }, 'virtio header');
  t.equal(pkt.length, 28 + 9 * 18 + 5);
  t.equal(pkt.readUInt16BE(2), pkt.length, 'IPv4 total length');
  t.ok(ipv4ChecksumOk(pkt), 'IPv4 header checksum');
  t.equal(pkt.readUInt16BE(4), 7, 'the head\'s IPv4 ID');
  t.equal(pkt.readUInt16BE(24), pkt.length - 20, 'UDP length covers the whole payload');
  t.equal(pkt.readUInt16BE(26), pseudoHeaderSum(pkt.readUInt32BE(12), pkt.readUInt32BE(16), 17, pkt.length - 20), 'UDP checksum field = pseudo-header sum');
  t.ok(l4ChecksumOk(completed(pkt)), 'the completed checksum verifies');
  t.same(refSplit(completed(pkt), 18), dgrams, 'the kernel\'s segmentation gives back every datagram byte for byte');
  t.match(rig.counters(), { superWritten: 1, segmentsMerged: 10, udpSuperWritten: 1, udpGroDisabled: 0 });
});

t.test('TCP and UDP runs side by side; flows never mix; IDs may wrap', async (t) => {
  const rig = rigFor(t);
  const a = datagrams({ sport: 1 }, 3, { id: 0xfffe });
  const b = datagrams({ sport: 2 }, 3);
  const same = [tcp4({ sport: 1, seq: 0, payload: pattern(18), id: 0xfffe }), tcp4({ sport: 1, seq: 18, payload: pattern(18), id: 0xffff })];
  t.equal(rig.write([a[0]!, b[0]!, same[0]!, a[1]!, same[1]!, b[1]!, a[2]!, b[2]!]), 8);
  const out = records(rig);
  t.same(out.map((w) => [w.vnet.gsoType, w.pkt.readUInt16BE(20)]), [[GSO.UDP_L4, 1], [GSO.UDP_L4, 2], [GSO.TCPV4, 1]], 'written where each head was');
  t.same(refSplit(completed(out[0]!.pkt), 18), a, 'flow 1 across the ID wrap');
  t.same(refSplit(completed(out[1]!.pkt), 18), b, 'flow 2');
  t.match(rig.counters(), { superWritten: 3, udpSuperWritten: 2 });
});

t.test('what keeps datagrams apart', async (t) => {
  type Case = [string, Buffer[], number[][]];
  const d = datagrams({}, 3);
  const withSum = (p: Buffer, sum: number): Buffer => { const q = Buffer.from(p); q.writeUInt16BE(sum, 26); return q; };
  const fragment = (p: Buffer): Buffer => {
    const q = Buffer.from(p);
    q.writeUInt16BE(0x2000, 6); // MF
    q.writeUInt16BE(0, 10);
    q.writeUInt16BE((~onesSum(q, 0, 20)) & 0xffff, 10);
    return q;
  };
  const cases: Case[] = [
    ['the IPv4 ID does not follow', [d[0]!, d[2]!], [[0], [1]]],
    ['an equal IPv4 ID (the kernel would rewrite it)', [d[0]!, udp4({ id: 7, payload: pattern(18, 1) })], [[0], [1]]],
    ['a zero checksum would come out computed', [d[0]!, withSum(d[1]!, 0), d[2]!], [[0], [1], [2]]],
    ['a bad checksum is not merged (and the run ends)', [d[0]!, withSum(d[1]!, 0x1111), d[2]!], [[0], [1], [2]]],
    ['a short datagram ends the run', datagrams({}, 4, { sizes: [18, 10, 18, 18] }), [[0, 1], [2, 3]]],
    ['a larger datagram after a smaller head', datagrams({}, 2, { sizes: [10, 18] }), [[0], [1]]],
    ['another TTL', [d[0]!, udp4({ id: 8, ttl: 9, payload: pattern(18, 1) })], [[0], [1]]],
    ['another ToS', [d[0]!, udp4({ id: 8, tos: 4, payload: pattern(18, 1) })], [[0], [1]]],
    ['DF differs', [d[0]!, udp4({ id: 8, df: false, payload: pattern(18, 1) })], [[0], [1]]],
    ['a fragment ends the run', [d[0]!, d[1]!, fragment(d[2]!), udp4({ id: 10, payload: pattern(18, 3) })], [[0, 1], [2], [3]]],
    ['an empty datagram is never merged', [udp4({ id: 1, payload: Buffer.alloc(0) }), udp4({ id: 2, payload: Buffer.alloc(0) })], [[0], [1]]],
  ];
  for (const [name, pkts, groups] of cases) {
    const rig = new Rig({ capacity: 128, maxPacket: 65535 });
    rig.write(pkts);
    const out = records(rig);
    t.equal(out.length, groups.length, `${name}: ${groups.length} writes`);
    groups.forEach((g, i) => {
      const w = out[i];
      if (!w) return;
      if (g.length === 1) {
        t.ok(plain(w.vnet), `${name}: write ${i} has a zero header`);
        t.same(w.pkt, pkts[g[0]!], `${name}: write ${i} is the packet unchanged`);
      } else {
        t.same(refSplit(completed(w.pkt), w.vnet.gsoSize), g.map((k) => pkts[k]), `${name}: write ${i} carries packets ${g.join('+')}`);
      }
    });
    rig.close();
  }
});

t.test('a run stops at 64 segments and at 64 KB', async (t) => {
  const rig = rigFor(t);
  rig.write(datagrams({}, 100));
  t.same(records(rig).map((w) => (w.pkt.length - 28) / 18), [64, 36], 'at most 64 datagrams');
  const big = rigFor(t);
  big.write(datagrams({}, 50, { size: 1400 }));
  t.same(records(big).map((w) => w.pkt.length), [28 + 46 * 1400, 28 + 4 * 1400], 'split where the next datagram would pass 65535');
});

t.test('without USO UDP is written one datagram at a time; TCP still merges', async (t) => {
  const rig = rigFor(t, TUN_OFFLOADS_BASE);
  const seg = [tcp4({ seq: 0, flags: ACK, payload: pattern(100), id: 1 }), tcp4({ seq: 100, flags: ACK, payload: pattern(100), id: 2 })];
  t.equal(rig.write([...datagrams({}, 4), ...seg]), 6);
  const out = records(rig);
  t.same(out.map((w) => w.vnet.gsoType), [0, 0, 0, 0, GSO.TCPV4]);
  t.match(rig.counters(), { superWritten: 1, udpSuperWritten: 0 });
});
