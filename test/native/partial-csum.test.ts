// SPDX-License-Identifier: Apache-2.0
/**
 * Inner packets a sender left for a NIC that never ran (a kernel VTEP on a veth
 * underlay): L4 checksums holding only the pseudo-header sum are finished before the TUN
 * write (finishLeakedChecksum, and tunWrite with and without virtio headers), and TCP
 * packets over the MTU (a TSO frame that crossed the veth whole) go to the kernel as
 * GSO_TCPV4 super-packets of MTU-sized segments, or, without virtio headers, are cut into
 * those segments by the addon. Driven through the SOCK_SEQPACKET stand-in
 * for the TUN fd (no privileges); the live case is test/e2e/veth-underlay.test.ts.
 */
import t from 'tap';
import { native, Rig } from './fixtures/offload-rig.js';
import {
  ACK, CWR, FIN, GSO, NEEDS_CSUM, PSH, SYN, l4ChecksumOk, parseVnet, pattern, refSplit, setL4Checksum, tcp4, udp4, type Flow,
} from './fixtures/offload-ref.js';
import { onesSum, pseudoHeaderSum } from '../../src/packet/checksum.js';

/** A copy of a valid packet with its L4 checksum replaced by the pseudo-header sum (what the sender's stack leaves). */
function leaked(valid: Buffer): Buffer {
  const p = Buffer.from(valid);
  setL4Checksum(p, p[9]!, p[9] === 6 ? 16 : 6, true);
  return p;
}

/** `p` with 4 bytes of IP options (NOP NOP NOP EOL) after its IPv4 header; the L4 bytes are unchanged. */
function withIpOptions(p: Buffer): Buffer {
  const q = Buffer.concat([p.subarray(0, 20), Buffer.from([1, 1, 1, 0]), p.subarray(20)]);
  q[0] = 0x46;
  q.writeUInt16BE(q.length, 2);
  q.writeUInt16BE(0, 10);
  q.writeUInt16BE((~onesSum(q, 0, 24)) & 0xffff, 10);
  return q;
}

const tcpSeg = (o: Partial<Flow> & { seq?: number; flags?: number; len?: number } = {}): Buffer =>
  tcp4({ ...o, seq: o.seq ?? 1000, flags: o.flags ?? ACK, payload: pattern(o.len ?? 1398, o.seq ?? 1) });
const udpDgram = (len = 100, seed = 3): Buffer => udp4({ payload: pattern(len, seed) });

function finish(p: Buffer): boolean {
  return native.finishLeakedChecksum(p, 0, p.length);
}

/**
 * A valid packet like `base` whose L4 checksum field ends up equal to `want(p)`: the
 * 16-bit word at payload offset `at` is searched until the full checksum matches.
 */
function withChecksum(base: Buffer, want: (p: Buffer) => number, finalSum: boolean): Buffer {
  const p = Buffer.from(base);
  const at = p.length - 2;
  const field = p[9] === 6 ? 36 : 26;
  for (let w = 0; w < 0x10000; w++) {
    p.writeUInt16BE(w, at);
    const pseudo = pseudoHeaderSum(p.readUInt32BE(12), p.readUInt32BE(16), p[9]!, p.length - 20);
    if (finalSum) {
      // The field as a NIC would finish it from the pseudo-header sum.
      p.writeUInt16BE(pseudo, field);
      if (((~onesSum(p, 20, p.length - 20)) & 0xffff) === want(p)) return p;
    } else {
      p.writeUInt16BE(0, field);
      const c = (~onesSum(p, 20, p.length - 20, pseudo)) & 0xffff;
      if (c === want(p)) { p.writeUInt16BE(c, field); return p; }
    }
  }
  throw new Error('no payload word gives that checksum');
}

t.test('finishLeakedChecksum: leaked TCP and UDP checksums come out as the sender\'s NIC would have sent them', async (t) => {
  for (const [name, valid] of [['TCP', tcpSeg()], ['TCP, pure ACK', tcpSeg({ len: 0 })], ['UDP', udpDgram()], ['UDP, odd length', udpDgram(33)]] as const) {
    const p = leaked(valid);
    t.notOk(l4ChecksumOk(p), `${name}: the leaked packet does not verify`);
    t.equal(finish(p), true, `${name}: finished`);
    t.same(p, valid, `${name}: byte for byte the packet with a full checksum`);
  }
  // With IPv4 options (IHL 6): the L4 header starts at 24.
  const opt = tcpSeg({ len: 200 });
  const withOpts = Buffer.concat([opt.subarray(0, 20), Buffer.from([1, 1, 1, 0]), opt.subarray(20)]);
  withOpts[0] = 0x46;
  withOpts.writeUInt16BE(withOpts.length, 2);
  withOpts.writeUInt16BE(pseudoHeaderSum(withOpts.readUInt32BE(12), withOpts.readUInt32BE(16), 6, withOpts.length - 24), 24 + 16);
  t.equal(finish(withOpts), true, 'IPv4 options: finished');
  const pseudo = pseudoHeaderSum(withOpts.readUInt32BE(12), withOpts.readUInt32BE(16), 6, withOpts.length - 24);
  t.equal(onesSum(withOpts, 24, withOpts.length - 24, pseudo), 0xffff, 'IPv4 options: the finished checksum verifies');
});

t.test('finishLeakedChecksum leaves every other packet untouched', async (t) => {
  const cases: Array<[string, Buffer]> = [
    ['a valid TCP segment', tcpSeg()],
    ['a valid UDP datagram', udpDgram()],
    ['a corrupted TCP segment (checksum neither valid nor the pseudo-header sum)', (() => { const p = tcpSeg(); p[100]! ^= 0x5a; return p; })()],
    ['UDP without a checksum (0)', (() => { const p = udpDgram(); p.writeUInt16BE(0, 26); return p; })()],
    ['a first fragment (MF) with a leaked checksum', (() => { const p = leaked(udpDgram()); p.writeUInt16BE(0x2000, 6); return p; })()],
    ['a later fragment with a leaked-looking field', (() => { const p = leaked(udpDgram()); p.writeUInt16BE(0x0010, 6); return p; })()],
    ['IPv4 total length not the packet length', (() => { const p = leaked(tcpSeg()); p.writeUInt16BE(p.length - 4, 2); return p; })()],
    ['ICMP', (() => { const p = leaked(udpDgram()); p[9] = 1; return p; })()],
    ['IPv6', (() => { const p = leaked(udpDgram()); p[0] = 0x60; return p; })()],
    ['a TCP header cut short', leaked(tcpSeg({ len: 0 })).subarray(0, 30)],
  ];
  for (const [name, p] of cases) {
    const before = Buffer.from(p);
    t.equal(finish(p), false, name);
    t.same(p, before, `${name}: unchanged`);
  }
});

t.test('a valid checksum that happens to equal the pseudo-header sum is left alone', async (t) => {
  for (const base of [tcpSeg({ len: 64 }), udpDgram(64)]) {
    const p = withChecksum(base, (q) => pseudoHeaderSum(q.readUInt32BE(12), q.readUInt32BE(16), q[9]!, q.length - 20), false);
    t.ok(l4ChecksumOk(p), 'valid');
    const before = Buffer.from(p);
    t.equal(finish(p), false, `proto ${p[9]}: not finished`);
    t.same(p, before, 'unchanged');
  }
});

t.test('a UDP checksum that finishes to 0 is sent as 0xffff', async (t) => {
  const p = withChecksum(udpDgram(64), () => 0, true);
  t.equal(finish(p), true);
  t.equal(p.readUInt16BE(26), 0xffff, '0xffff, never 0 (no checksum)');
  t.ok(l4ChecksumOk(p), 'verifies');
});

t.test('finishLeakedChecksum checks its range', async (t) => {
  t.throws(() => native.finishLeakedChecksum(Buffer.alloc(10), 4, 10), { name: 'RangeError' });
});

t.test('tunWrite finishes leaked checksums, without and with virtio headers, and counts them', async (t) => {
  const rig = new Rig({ capacity: 16, maxPacket: 65535, mtu: 1450 });
  t.teardown(() => rig.close());
  const valid = [tcpSeg({ seq: 1000, len: 100, flags: ACK | PSH }), udpDgram(40), tcpSeg({ len: 0 })];
  t.equal(rig.write(valid.map(leaked), undefined, { plain: true }), 3, 'plain: all written');
  t.same(rig.records(), valid, 'plain: the kernel gets full checksums');
  t.equal(rig.finished[0], 3, 'plain: three finished');

  rig.finished[0] = 0;
  const run = [0, 1, 2, 3].map((i) => tcpSeg({ seq: 1000 + i * 1398, id: 0x100 + i }));
  t.equal(rig.write([...run.map(leaked), leaked(udpDgram(40))]), 5, 'virtio: all written');
  const out = rig.records();
  t.equal(out.length, 2, 'the four finished segments coalesce into one write, the datagram alone');
  t.equal(parseVnet(out[0]!).gsoType, GSO.TCPV4, 'a TCP super-packet');
  const merged = out[0]!.subarray(10);
  setL4Checksum(merged, 6, 16, false);
  t.same(refSplit(merged, 1398), run, 'which the kernel cuts back into the finished segments');
  t.same(out[1]!.subarray(10), udpDgram(40), 'the datagram with its full checksum');
  t.equal(rig.finished[0], 5, 'five finished');
  t.equal(rig.counters().superWritten, 1);

  rig.finished[0] = 0;
  rig.write([...valid, tcpSeg({ seq: 9 })].map((p) => Buffer.from(p)), [2, 0, 2, 2]);
  t.equal(rig.finished[0], 0, 'valid packets (and packets of another verdict): nothing finished');
  t.throws(() => native.tunWrite(rig.fd, rig.batch.native(native), 1, 2, rig.state, new Uint32Array(1) as unknown as Float64Array), { name: 'TypeError', message: /finished must be a Float64Array/ });
  t.throws(() => native.tunWrite(rig.fd, rig.batch.native(native), 1, 2, rig.state, new Float64Array(0)), { name: 'RangeError', message: /finished must have at least 1 element/ });
  const p = leaked(udpDgram(40));
  rig.batch.fill(0, p);
  rig.batch.verdict[0] = 2;
  t.throws(() => native.tunWrite(rig.fd, rig.batch.native(native), 1, 2, {} as never, rig.finished), { name: 'TypeError' });
  t.same(rig.batch.packet(0), p, 'a bad argument leaves the batch untouched');
  rig.records();
});

t.test('a TCP packet over the MTU goes to the kernel as a GSO_TCPV4 super-packet of MTU-sized segments', async (t) => {
  const mtu = 1450;
  const rig = new Rig({ capacity: 16, maxPacket: 65535, mtu });
  t.teardown(() => rig.close());
  const opts = Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]); // NOP NOP timestamps: TCP header 32 bytes
  const big = (seq: number, flags = ACK | PSH, id = 0x2000): Buffer =>
    leaked(tcp4({ seq, flags, id, tcpOptions: opts, payload: pattern(6990, seq) }));
  const a = big(5000, ACK);
  const b = big(5000 + 6990, ACK | PSH, 0x2005);
  t.equal(rig.write([a, b]), 2, 'both written');
  const out = rig.records();
  t.equal(out.length, 2, 'two writes: packets over the MTU never coalesce');
  for (const [i, rec] of out.entries()) {
    t.same(parseVnet(rec), { flags: NEEDS_CSUM, gsoType: GSO.TCPV4, hdrLen: 52, gsoSize: mtu - 52, csumStart: 20, csumOffset: 16 }, `packet ${i}: virtio header`);
    t.same(rec.subarray(10), [a, b][i], `packet ${i}: the bytes as received (partial checksum for the kernel to finish)`);
    const done = Buffer.from(rec.subarray(10));
    setL4Checksum(done, 6, 16, false);
    const segs = refSplit(done, mtu - 52);
    t.equal(segs.length, 5, `packet ${i}: five segments`);
    t.ok(segs.every((s) => s.length <= mtu && l4ChecksumOk(s)), `packet ${i}: each within the MTU, with a valid checksum`);
  }
  t.equal(rig.counters().oversizeTcp, 2, 'counted');
  t.equal(rig.finished[0], 0, 'left for the kernel to finish, not finished here');

  const cwr = big(1, ACK | CWR);
  rig.write([cwr]);
  t.equal(parseVnet(rig.records()[0]!).gsoType, GSO.TCPV4 | GSO.ECN, 'CWR: the ECN GSO flag, so CWR stays on the first segment only');

  const plainOnes: Array<[string, Buffer]> = [
    ['a SYN', big(1, SYN)],
    ['a full checksum (nothing a NIC would cut)', tcp4({ seq: 1, tcpOptions: opts, payload: pattern(6990) })],
    ['UDP', leaked(udp4({ payload: pattern(6990) }))],
  ];
  for (const [name, p] of plainOnes) {
    rig.write([p]);
    const [rec] = rig.records();
    t.same(parseVnet(rec!), { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 }, `${name}: written as it is`);
  }
  t.equal(rig.counters().oversizeTcp, 3, 'only the CWR one more');

  const noMtu = new Rig({ capacity: 4, maxPacket: 65535 });
  t.teardown(() => noMtu.close());
  noMtu.write([big(1)]);
  t.equal(parseVnet(noMtu.records()[0]!).gsoType, GSO.NONE, 'a state without an MTU writes it as it is');
  t.throws(() => native.tunOffloadNew(3, new Float64Array(16), 30), { name: 'RangeError', message: /mtu must be 0 or in 68\.\.65535/ });
});

t.test('without virtio headers, given the MTU, the addon cuts a TCP packet over the MTU into the segments the kernel would have made', async (t) => {
  const mtu = 1450;
  const rig = new Rig({ capacity: 16, maxPacket: 65535 });
  t.teardown(() => rig.close());
  const opts = Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]); // TCP header 32 bytes
  const big = (seq: number, flags = ACK | PSH, id = 0x2000, len = 6990): Buffer =>
    leaked(tcp4({ seq, flags, id, tcpOptions: opts, payload: pattern(len, seq) }));
  /** What the sender's NIC would have put on the wire: its segments, full checksums. */
  const cutByNic = (p: Buffer): Buffer[] => {
    const done = Buffer.from(p);
    setL4Checksum(done, 6, 16, false);
    return refSplit(done, mtu - 52);
  };
  const a = big(5000, ACK);
  const b = big(5000 + 6990, ACK | PSH | FIN, 0xfffe); // the IP ID wraps inside it
  const cwr = big(1, ACK | CWR, 0x10, 3000);
  t.equal(rig.write([a, b, cwr], undefined, { plain: true, mtu }), 3, 'three packets written');
  const out = rig.records();
  const want = [...cutByNic(a), ...cutByNic(b), ...cutByNic(cwr)];
  t.equal(out.length, 5 + 5 + 3, 'one write per segment');
  t.same(out, want, 'byte for byte the NIC\'s segments: IDs counted up (wrapping), sequence numbers, PSH/FIN on the last only, CWR on the first only, full checksums');
  t.ok(out.every((s) => s.length <= mtu && l4ChecksumOk(s)), 'each within the MTU, with a valid checksum');
  t.equal(out[4]![33]! & (PSH | FIN), 0, 'a: no PSH on its last segment (it had none)');
  t.equal(out[9]![33]! & (PSH | FIN), PSH | FIN, 'b: PSH and FIN on its last segment');
  t.equal(out[5]![33]! & (PSH | FIN), 0, 'b: not on its first');
  t.equal(out[10]![33]! & CWR, CWR, 'cwr: CWR on the first segment');
  t.equal(out[11]![33]! & CWR, 0, 'cwr: not on the second');
  t.equal(rig.finished[1], 3, 'finished[1] counts the packets cut');
  t.equal(rig.finished[0], 0, 'none counted as a finished checksum');

  const asIs: Array<[string, Buffer]> = [
    ['a SYN', big(1, SYN)],
    ['a full checksum (nothing a NIC would cut)', tcp4({ seq: 1, tcpOptions: opts, payload: pattern(6990) })],
    ['IP options', withIpOptions(big(1))],
  ];
  for (const [name, p] of asIs) {
    t.equal(rig.write([p], undefined, { plain: true, mtu }), 1, `${name}: written`);
    t.same(rig.records(), [p], `${name}: as it is, in one write`);
  }
  t.equal(rig.finished[1], 3, 'none of those cut');

  rig.finished[0] = 0;
  const udp = leaked(udp4({ payload: pattern(6990) }));
  rig.write([udp], undefined, { plain: true, mtu });
  t.same(rig.records(), [udp4({ payload: pattern(6990) })], 'UDP over the MTU: its checksum finished, written whole (no segment size to cut by)');
  t.equal(rig.finished[0], 1);

  rig.finished[0] = 0;
  const noMtu = big(1);
  rig.write([noMtu], undefined, { plain: true });
  const [rec] = rig.records();
  t.equal(rec!.length, noMtu.length, 'without an MTU: written whole');
  t.ok(l4ChecksumOk(rec!), 'with its checksum finished');
  t.equal(rig.finished[1], 3, 'and not cut');

  const one = new Float64Array(1);
  rig.batch.fill(0, big(1));
  rig.batch.verdict[0] = 2;
  t.equal(native.tunWrite(rig.fd, rig.batch.native(native), 1, 2, undefined, one, mtu), 1, 'a one-element finished array: still cut');
  t.equal(rig.records().length, 5);
  t.throws(() => native.tunWrite(rig.fd, rig.batch.native(native), 1, 2, undefined, one, 70000), { name: 'RangeError', message: /mtu must be an integer in 0\.\.65535/ });
  t.throws(() => native.tunWrite(rig.fd, rig.batch.native(native), 1, 2, undefined, one, 'x' as unknown as number), { name: 'TypeError', message: /mtu must be a number/ });
});
