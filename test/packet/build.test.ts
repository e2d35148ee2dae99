// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import {
  buildEthernetFrame, buildIcmpEcho, buildIpv4, buildOuterUdp, buildTcpIpv4, buildUdpIpv4, buildVxlanFrame,
  toAddr, toMac, TCP_ACK, TCP_PSH, TCP_SYN,
} from '../../src/packet/build.js';
import { checkIpv4, decodeIpv4, parseIpv4 } from '../../src/packet/ipv4.js';
import { decodeUdp, verifyUdpChecksumIPv4 } from '../../src/packet/udp.js';
import { decodeIcmp } from '../../src/packet/icmp.js';
import { decodeVxlan } from '../../src/packet/vxlan.js';
import { decodeEthernet } from '../../src/packet/ethernet.js';
import { l4ChecksumIPv4 } from '../../src/packet/checksum.js';
import { hexBytes } from '../../src/packet/bytes.js';

/** What the capture in baseline.md 4.1 shows of the kernel's frame (74 bytes). */
const KERNEL_FRAME_HEAD = hexBytes(`
  96 ac 9f 38 11 c9 9a c8 22 9b ab 9f 08 00 45 00
  00 86 40 43 00 00 40 11 54 d0 c0 a8 32 01 c0 a8
  32 02 d5 e0 21 18 00 72 0b d8 08 00 00 00 00 00
  01 00 02 f1 00 00 00 02 02 f1 00 00 00 01 08 00
  45 00 00 54 b5 14 40 00 3f 01`);

t.test('the builders reproduce the kernel frame of baseline.md 4.1, UDP checksum included', async (t) => {
  // Inner: pod 10.244.1.2 -> 10.244.2.2, echo request of 84 bytes, DF, TTL 63 (routed once).
  // The echo's id, seq and payload are not in the capture; any valid ICMP message sums to
  // zero, so the outer UDP checksum does not depend on them.
  const inner = buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 7, seq: 1, ipId: 0xb514, df: true, ttl: 63 });
  t.equal(inner.length, 84);
  const vx = buildVxlanFrame({ vni: 1, innerDstMac: '02:f1:00:00:00:02', innerSrcMac: '02:f1:00:00:00:01', inner });
  const outer = buildOuterUdp({ srcIp: '192.168.50.1', dstIp: '192.168.50.2', sport: 54752, dport: 8472, payload: vx, id: 0x4043 });
  const frame = buildEthernetFrame({ dst: '96:ac:9f:38:11:c9', src: '9a:c8:22:9b:ab:9f', payload: outer });
  t.equal(frame.length, 148);
  t.same(frame.subarray(0, KERNEL_FRAME_HEAD.length), KERNEL_FRAME_HEAD, 'first 74 bytes identical to the kernel\'s');
  t.equal(frame.readUInt16BE(40), 0x0bd8, 'UDP checksum equals the kernel\'s 0x0bd8');
  t.ok(verifyUdpChecksumIPv4(outer, 20, toAddr('192.168.50.1'), toAddr('192.168.50.2')));
});

t.test('buildIpv4 byte-exact', async (t) => {
  const p = buildIpv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, id: 1, df: true, tos: 0x10, ttl: 5, payload: Buffer.from([0xaa, 0xbb]) });
  t.same(p, hexBytes('45 10 00 16 00 01 40 00 05 11 61 c4 0a 00 00 01 0a 00 00 02 aa bb'));
  t.equal(checkIpv4(p, 0, p.length), 0);
  const o = buildIpv4({ src: 1, dst: 2, proto: 6, payload: Buffer.alloc(0), options: hexBytes('01 01 01 00') });
  t.match(decodeIpv4(o, 0, o.length), { ok: true, ihl: 6, totalLength: 24, ttl: 64, df: false, id: 0, src: 1, dst: 2 });
  t.throws(() => buildIpv4({ src: '10.0.0', dst: 2, proto: 6, payload: Buffer.alloc(0) }), /invalid IPv4 address "10.0.0"/);
});

t.test('buildUdpIpv4 and buildOuterUdp', async (t) => {
  const p = buildUdpIpv4({ src: '10.244.1.2', dst: '10.244.2.3', sport: 1234, dport: 7000, payload: Buffer.from('hello!') });
  t.equal(p.length, 20 + 8 + 6);
  t.match(decodeIpv4(p, 0, p.length), { ok: true, protocol: 17, df: false, ttl: 64 });
  t.match(decodeUdp(p, 20, 14), { ok: true, srcPort: 1234, dstPort: 7000, length: 14 });
  t.not(p.readUInt16BE(26), 0);
  t.equal(l4ChecksumIPv4(p, 20, 14, parseIpv4('10.244.1.2'), parseIpv4('10.244.2.3'), 17), 0, 'checksum verifies');
  const n = buildUdpIpv4({ src: '10.244.1.2', dst: '10.244.2.3', sport: 1, dport: 2, payload: Buffer.alloc(3), checksum: false });
  t.equal(n.readUInt16BE(26), 0, 'checksum: false sends 0');
  const o = buildOuterUdp({ srcIp: '192.168.0.10', dstIp: '192.168.0.11', sport: 54321, dport: 8472, payload: Buffer.alloc(8), checksum: false });
  t.match(decodeIpv4(o, 0, o.length), { ok: true, df: false, ttl: 64, tos: 0, src: 0xc0a8000a, dst: 0xc0a8000b });
  t.equal(o.readUInt16BE(26), 0);
});

t.test('buildIcmpEcho', async (t) => {
  const req = buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.3', id: 0x1234, seq: 1 });
  t.equal(req.length, 84, 'default 56-byte payload, like ping');
  t.match(decodeIcmp(req, 20, 64), { ok: true, type: 8, code: 0, id: 0x1234, seq: 1, checksumValid: true });
  const rep = buildIcmpEcho({ src: '10.244.2.3', dst: '10.244.1.2', id: 9, seq: 2, reply: true, payload: Buffer.from('x') });
  t.match(decodeIcmp(rep, 20, 9), { ok: true, type: 0, id: 9, seq: 2, checksumValid: true });
  t.match(decodeIpv4(rep, 0, rep.length), { ok: true, protocol: 1, totalLength: 29, id: 0 });
});

t.test('buildTcpIpv4', async (t) => {
  const p = buildTcpIpv4({
    src: '10.244.1.2', dst: '10.244.2.3', sport: 40000, dport: 80, seq: 0xdeadbeef, ack: 1, flags: TCP_ACK | TCP_PSH, payload: Buffer.from('GET /'),
  });
  t.match(decodeIpv4(p, 0, p.length), { ok: true, protocol: 6, df: true, totalLength: 45 });
  t.equal(p.readUInt32BE(24), 0xdeadbeef);
  t.equal(p.readUInt32BE(28), 1);
  t.equal(p[32], 0x50, 'data offset 5');
  t.equal(p[33], 0x18);
  t.equal(p.readUInt16BE(34), 65535, 'default window');
  t.equal(l4ChecksumIPv4(p, 20, 25, parseIpv4('10.244.1.2'), parseIpv4('10.244.2.3'), 6), 0, 'TCP checksum verifies');
  const syn = buildTcpIpv4({ src: 1, dst: 2, sport: 1, dport: 2, seq: 0, ack: 0, flags: TCP_SYN, df: false, window: 1000 });
  t.equal(syn.length, 40);
  t.match(decodeIpv4(syn, 0, 40), { ok: true, df: false });
  t.equal(l4ChecksumIPv4(syn, 20, 20, 1, 2, 6), 0);
});

t.test('buildVxlanFrame and buildEthernetFrame', async (t) => {
  const inner = buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.3', id: 1, seq: 1 });
  const vx = buildVxlanFrame({ vni: 0x123456, innerDstMac: '02:00:00:00:00:bb', innerSrcMac: toMac('02:00:00:00:00:aa'), inner });
  t.equal(vx.length, 8 + 14 + inner.length);
  t.same(decodeVxlan(vx, 0, vx.length, 0x123456), { ok: true, flags: 8, reserved1: 0, vni: 0x123456, reserved2: 0 });
  t.match(decodeEthernet(vx, 8, vx.length - 8), { ok: true, dst: '02:00:00:00:00:bb', src: '02:00:00:00:00:aa', type: 0x0800 });
  t.same(vx.subarray(22), inner);
  const e = buildEthernetFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', type: 0x0806, payload: Buffer.from([1]) });
  t.same(e, hexBytes('ff ff ff ff ff ff 02 00 00 00 00 01 08 06 01'), 'no padding to 60 bytes');
  t.throws(() => buildEthernetFrame({ dst: 'zz', src: '02:00:00:00:00:01', payload: Buffer.alloc(0) }), /invalid MAC address "zz"/);
});
