// SPDX-License-Identifier: Apache-2.0
/**
 * The read side of the TUN offloads (tunRead with an offload state): GSO super-packets cut
 * into segments, compared byte for byte with an independent TypeScript reference;
 * partial checksums completed; a super-packet carried across calls when the batch is
 * full; malformed virtio headers dropped and counted, never read past. Driven through a
 * SOCK_SEQPACKET pair standing in for the TUN fd (no privileges needed).
 */
import t from 'tap';
import { Rig } from './fixtures/offload-rig.js';
import {
  ACK, CWR, FIN, GSO, NEEDS_CSUM, PSH, ipv4ChecksumOk, l4ChecksumOk, pattern, refSplit, tcp4, tcp6Super, tcpSuper,
  udp4, udpSuper, vnetHeader,
} from './fixtures/offload-ref.js';
import { TUN_OFFLOADS_BASE } from '../../src/dataplane/offload.js';

const strip = (rec: Buffer): Buffer => rec.subarray(10);
const plain = (p: Buffer): Buffer => Buffer.concat([vnetHeader({}), p]);
const TS_OPTS = Buffer.from([1, 1, 8, 10, 0, 0, 0, 42, 0, 0, 0, 7]); // NOP NOP timestamps

t.test('a TCPV4 super-packet becomes the reference segments', async (t) => {
  const rig = new Rig();
  t.teardown(() => rig.close());
  const payload = pattern(10 * 1400 + 523);
  const sup = tcpSuper({ seq: 0xfffff000, id: 0xfffe, flags: ACK | PSH | FIN | CWR, payload, gsoSize: 1400 });
  rig.send(sup);
  const got = rig.read();
  const want = refSplit(strip(sup), 1400);
  t.equal(got.length, 11, '10 full segments and a short tail');
  t.same(got.map((b) => b.toString('hex')), want.map((b) => b.toString('hex')), 'byte-identical to the reference');
  got.forEach((s, i) => {
    t.ok(ipv4ChecksumOk(s) && l4ChecksumOk(s), `segment ${i}: IPv4 and TCP checksums verify`);
    t.equal(s.readUInt16BE(2), s.length, `segment ${i}: total length`);
    t.equal(s.readUInt16BE(4), (0xfffe + i) & 0xffff, `segment ${i}: IPv4 ID + i (wrapping)`);
    t.equal(s.readUInt32BE(24), (0xfffff000 + i * 1400) >>> 0, `segment ${i}: seq + i*gso (wrapping)`);
    const flags = s[33]!;
    t.equal((flags & (PSH | FIN)) !== 0, i === 10, `segment ${i}: PSH/FIN only on the last`);
    t.equal((flags & CWR) !== 0, i === 0, `segment ${i}: CWR only on the first`);
  });
  t.same(Buffer.concat(got.map((s) => s.subarray(40))), payload, 'the payloads concatenate to the original');
  t.match(rig.counters(), { superRead: 1, segmentsOut: 11, badVnetHeader: 0, pending: 0 });
});

t.test('TCP options are kept and hdr_len is recomputed, not trusted', async (t) => {
  const rig = new Rig();
  t.teardown(() => rig.close());
  const sup = tcpSuper({ seq: 1, tcpOptions: TS_OPTS, payload: pattern(4000, 3), gsoSize: 1388, hdrLenHint: 1440 });
  rig.send(sup);
  const got = rig.read();
  t.same(got.map((b) => b.toString('hex')), refSplit(strip(sup), 1388).map((b) => b.toString('hex')));
  t.equal(got[0]!.length, 20 + 32 + 1388, 'segment = IP + TCP with options + gso_size');
});

t.test('USO (UDP_L4) and TCPV6 super-packets are split too', async (t) => {
  const rig = new Rig();
  t.teardown(() => rig.close());
  const u = udpSuper({ payload: pattern(3000, 5), gsoSize: 1200 });
  const v6 = tcp6Super({ seq: 99, flags: ACK | PSH, payload: pattern(2500, 9), gsoSize: 1000 });
  rig.send(u, v6);
  const got = rig.read();
  const want = [...refSplit(strip(u), 1200), ...refSplit(strip(v6), 1000)];
  t.same(got.map((b) => b.toString('hex')), want.map((b) => b.toString('hex')));
  for (const s of got) t.ok(l4ChecksumOk(s), 'L4 checksum verifies');
  t.same(got.slice(0, 3).map((s) => s.readUInt16BE(24)), [1208, 1208, 608], 'UDP lengths');
  t.same(got.slice(3).map((s) => s.readUInt16BE(4)), [1020, 1020, 520], 'IPv6 payload lengths');
});

t.test('UDP_L4 is refused when the TUN did not accept USO', async (t) => {
  const rig = new Rig({ flags: TUN_OFFLOADS_BASE });
  t.teardown(() => rig.close());
  rig.send(udpSuper({ payload: pattern(3000), gsoSize: 1200 }));
  t.same(rig.read(), []);
  t.equal(rig.counters().badVnetHeader, 1);
});

t.test('GSO_NONE: plain packets pass, partial checksums are completed', async (t) => {
  const rig = new Rig();
  t.teardown(() => rig.close());
  const tcp = tcp4({ seq: 5, payload: pattern(333) });
  const partialTcp = Buffer.from(tcp);
  const udp = udp4({ payload: pattern(101) });
  const partialUdp = Buffer.from(udp);
  // The kernel's CHECKSUM_PARTIAL: the field holds the pseudo-header sum.
  partialTcp.writeUInt16BE(0, 36);
  partialTcp.writeUInt16BE(strip(tcpSuper({ seq: 5, payload: pattern(333), gsoSize: 1000 })).readUInt16BE(36), 36);
  partialUdp.writeUInt16BE(strip(udpSuper({ payload: pattern(101), gsoSize: 1000 })).readUInt16BE(26), 26);
  rig.send(
    plain(tcp),
    Buffer.concat([vnetHeader({ flags: NEEDS_CSUM, csumStart: 20, csumOffset: 16 }), partialTcp]),
    Buffer.concat([vnetHeader({ flags: NEEDS_CSUM, csumStart: 20, csumOffset: 6 }), partialUdp]),
  );
  const got = rig.read();
  t.equal(got.length, 3);
  t.same(got[0], tcp, 'a plain packet is passed as is');
  t.same(got[1], tcp, 'the TCP checksum was completed');
  t.same(got[2], udp, 'the UDP checksum was completed');
  t.equal(rig.counters().checksumsFinished, 2);
});

t.test('a super-packet that does not fit is carried to the next calls, in order', async (t) => {
  const rig = new Rig({ capacity: 4 });
  t.teardown(() => rig.close());
  const before = plain(tcp4({ seq: 1, payload: pattern(10), sport: 1 }));
  const sup = tcpSuper({ seq: 1000, payload: pattern(9 * 1000 + 1), gsoSize: 1000, sport: 2 });
  const after = plain(tcp4({ seq: 1, payload: pattern(20), sport: 3 }));
  rig.send(before, sup, after);
  const first = rig.read();
  t.equal(first.length, 4, 'the batch is filled');
  t.equal(rig.counters().pending, 7, '7 of the 10 segments wait');
  const second = rig.read(2);
  t.equal(second.length, 2, 'max is respected');
  t.equal(rig.counters().pending, 5);
  const rest = rig.readAll();
  const all = [...first, ...second, ...rest];
  const want = [strip(before), ...refSplit(strip(sup), 1000), strip(after)];
  t.same(all.map((b) => b.toString('hex')), want.map((b) => b.toString('hex')), 'nothing lost, nothing reordered');
  t.equal(rig.counters().pending, 0);
});

t.test('a packet longer than the slot is handed over cut to the slot (the encapsulator counts it oversize)', async (t) => {
  const rig = new Rig({ maxPacket: 600 });
  t.teardown(() => rig.close());
  rig.send(plain(tcp4({ seq: 1, payload: pattern(1400) })));
  const got = rig.read();
  t.equal(got.length, 1);
  t.equal(got[0]!.length, rig.batch.maxPacket, 'len == maxPacket marks it too long');
});

t.test('malformed virtio headers are dropped and counted, and reading goes on', async (t) => {
  const good = tcpSuper({ seq: 1, payload: pattern(3000), gsoSize: 1400 });
  const mutate = (f: (b: Buffer) => void, base = good): Buffer => {
    const b = Buffer.from(base);
    f(b);
    return b;
  };
  const cases: Array<[string, Buffer]> = [
    ['gso type UFO', mutate((b) => { b[1] = GSO.UDP; })],
    ['gso type with ECN', mutate((b) => { b[1] = GSO.TCPV4 | GSO.ECN; })],
    ['unknown gso type', mutate((b) => { b[1] = 7; })],
    ['TCPV6 over IPv4', mutate((b) => { b[1] = GSO.TCPV4 + 3; })],
    ['TCPV4 over IPv6', mutate((b) => { b[1] = GSO.TCPV4; }, tcp6Super({ seq: 1, payload: pattern(3000), gsoSize: 1000 }))],
    ['IP version 5', mutate((b) => { b[10] = 0x55; })],
    ['gso_size 0', mutate((b) => b.writeUInt16LE(0, 4))],
    ['segment larger than the slot', mutate((b) => b.writeUInt16LE(1500, 4))],
    ['csum_start not the IP header length', mutate((b) => b.writeUInt16LE(24, 6))],
    ['csum_offset not TCP\'s', mutate((b) => b.writeUInt16LE(6, 8))],
    ['csum_start beyond the packet', mutate((b) => b.writeUInt16LE(60000, 6))],
    ['NEEDS_CSUM missing', mutate((b) => { b[0] = 0; })],
    ['TCP data offset < 5', mutate((b) => { b[10 + 32] = 0x40; })],
    ['TCP data offset past the packet', mutate((b) => { b[10 + 32] = 0xf0; }, tcpSuper({ seq: 1, payload: pattern(10), gsoSize: 1400 }))],
    ['no payload', tcpSuper({ seq: 1, payload: Buffer.alloc(0), gsoSize: 1400 })],
    ['IP protocol UDP under TCPV4', mutate((b) => { b[10 + 9] = 17; })],
    ['an IPv4 fragment', mutate((b) => b.writeUInt16BE(0x2000, 10 + 6))],
    ['IHL < 5', mutate((b) => { b[10] = 0x44; })],
    ['shorter than the virtio header', Buffer.from([1, 1, 0, 0, 0])],
    ['only an IPv4 header\'s worth', Buffer.concat([good.subarray(0, 10), good.subarray(10, 25)])],
    ['GSO_NONE checksum field past the end', Buffer.concat([vnetHeader({ flags: NEEDS_CSUM, csumStart: 20, csumOffset: 16 }), tcp4({ seq: 1, payload: Buffer.alloc(0) }).subarray(0, 30)])],
  ];
  for (const [name, bad] of cases) {
    const rig = new Rig();
    const marker = plain(tcp4({ seq: 1, payload: pattern(7), sport: 4242 }));
    rig.send(bad, marker);
    const got = rig.readAll();
    t.equal(got.length, 1, `${name}: only the next packet comes out`);
    t.same(got[0], marker.subarray(10), `${name}: and it is intact`);
    t.equal(rig.counters().badVnetHeader, 1, `${name}: counted once`);
    rig.close();
  }
});

t.test('argument checks', async (t) => {
  const rig = new Rig();
  t.teardown(() => rig.close());
  const { native } = await import('./fixtures/offload-rig.js');
  t.throws(() => native.tunOffloadNew(3, new Float64Array(2)), { name: 'RangeError', message: /stats\.length 2/ });
  t.throws(() => native.tunOffloadNew(3, new Uint32Array(8) as unknown as Float64Array), { name: 'TypeError', message: /stats must be a Float64Array/ });
  t.throws(() => native.tunRead(rig.fd, rig.batch.native(native), 1, {} as never), { name: 'TypeError', message: /offload must be a handle returned by tunOffloadNew/ });
  t.throws(() => native.tunWrite(rig.fd, rig.batch.native(native), 0, 2, 5 as never), { name: 'TypeError', message: /offload must be/ });
  t.throws(() => native.tunSetOffload(rig.fd, 3), { code: 'ENOTTY', message: /set offload flags 0x3 on TUN fd/ }, 'not a TUN: the ioctl error names the fd');
});
