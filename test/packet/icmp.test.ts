// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import {
  checkIcmp, decodeIcmp, isIcmpError, shouldSendIcmpError, writeDestUnreachable, writeIcmpHeader,
  ICMP_DEST_UNREACH, ICMP_ECHO_REQUEST, ICMP_FRAG_NEEDED, ICMP_HOST_UNREACH, ICMP_NET_UNREACH,
} from '../../src/packet/icmp.js';
import { checkIpv4, decodeIpv4, parseIpv4 } from '../../src/packet/ipv4.js';
import { buildIcmpEcho, buildIpv4, buildUdpIpv4 } from '../../src/packet/build.js';
import { internetChecksum } from '../../src/packet/checksum.js';
import { Drop } from '../../src/packet/drop.js';
import { hexBytes } from '../../src/packet/bytes.js';

const ROUTER = parseIpv4('10.244.1.0');

/** Places `pkt` at offset `at` of a fresh buffer, as a PacketBatch slot with headroom would hold it. */
function inSlot(pkt: Uint8Array, at = 64): Buffer {
  const b = Buffer.alloc(at + pkt.length + 16, 0xee);
  b.set(pkt, at);
  return b;
}

t.test('writeIcmpHeader / decodeIcmp on an echo request', async (t) => {
  const b = Buffer.alloc(12);
  b.write('ping', 8, 'latin1');
  t.equal(writeIcmpHeader(b, 0, { type: ICMP_ECHO_REQUEST, code: 0, id: 0x1234, seq: 1 }, 12), 8);
  t.equal(internetChecksum(b, 0, 12), 0, 'the checksum covers header and data');
  const sum = b.subarray(2, 4).toString('hex');
  t.same(b.subarray(0, 8), hexBytes(`08 00 ${sum} 12 34 00 01`));
  t.match(decodeIcmp(b, 0, 12), { ok: true, type: 8, code: 0, id: 0x1234, seq: 1, rest: 0x12340001, checksumValid: true });
  b[9] = b[9]! ^ 0x20;
  t.match(decodeIcmp(b, 0, 12), { ok: true, checksumValid: false }, 'corruption is reported');
  t.equal(checkIcmp(b, 0, 7), Drop.truncated);
  t.same(decodeIcmp(b, 0, 7), { ok: false, reason: 'truncated' });
  t.equal(checkIcmp(b, 0, 8), 0);
});

t.test('writeDestUnreachable builds a valid error in place', async (t) => {
  const orig = buildUdpIpv4({ src: '10.244.1.5', dst: '10.244.9.7', sport: 40000, dport: 53, payload: Buffer.from('0123456789abcdef'), ttl: 63, id: 77 });
  const origOff = 64;
  const b = inSlot(orig, origOff);
  const { start, length } = writeDestUnreachable(b, origOff, orig.length, ROUTER, ICMP_HOST_UNREACH);
  t.equal(start, origOff - 28);
  t.equal(length, 28 + 28, 'IPv4 20 + ICMP 8 + original header 20 + 8 payload bytes');

  t.equal(checkIpv4(b, start, length), 0, 'valid IPv4, header checksum included');
  t.match(decodeIpv4(b, start, length), {
    ok: true, totalLength: length, ttl: 64, protocol: 1, df: false, mf: false, tos: 0xc0,
    src: ROUTER, dst: parseIpv4('10.244.1.5'), headerLength: 20,
  });
  t.match(decodeIcmp(b, start + 20, length - 20), { ok: true, type: ICMP_DEST_UNREACH, code: ICMP_HOST_UNREACH, rest: 0, checksumValid: true });
  t.same(b.subarray(start + 28, start + length), orig.subarray(0, 28), 'quotes the original header + 8 bytes, unmoved');
  t.equal(b[start - 1], 0xee, 'nothing written before start');
});

t.test('writeDestUnreachable: options, short originals, frag-needed MTU, any code', async (t) => {
  const withOpts = buildIpv4({ src: '10.244.1.5', dst: '10.244.9.7', proto: 17, payload: Buffer.alloc(40, 1), options: hexBytes('94 04 00 00') });
  let b = inSlot(withOpts, 30);
  let res = writeDestUnreachable(b, 30, withOpts.length, ROUTER, ICMP_FRAG_NEEDED, 1450);
  t.equal(res.length, 28 + 24 + 8, 'quote covers the options');
  t.equal(checkIpv4(b, res.start, res.length), 0);
  t.match(decodeIcmp(b, res.start + 20, res.length - 20), { ok: true, code: ICMP_FRAG_NEEDED, rest: 1450, checksumValid: true });

  const short = buildIpv4({ src: '10.244.1.5', dst: '10.244.9.7', proto: 17, payload: Buffer.alloc(3, 9) });
  b = inSlot(short, 28);
  res = writeDestUnreachable(b, 28, short.length, ROUTER, ICMP_NET_UNREACH);
  t.same(res, { start: 0, length: 28 + 23 }, 'quotes only what exists');
  t.equal(checkIpv4(b, res.start, res.length), 0);
  t.match(decodeIcmp(b, 20, res.length - 20), { ok: true, checksumValid: true, code: 0 });

  for (const code of [0, 1, 3, 9, 10, 13]) {
    const e = buildIcmpEcho({ src: '10.244.1.5', dst: '10.244.9.7', id: 1, seq: code });
    const s = inSlot(e, 40);
    const r = writeDestUnreachable(s, 40, e.length, ROUTER, code);
    const d = decodeIcmp(s, r.start + 20, r.length - 20);
    t.ok(d.ok && d.code === code && d.checksumValid, `code ${code}`);
  }
  t.throws(() => writeDestUnreachable(inSlot(short, 27), 27, short.length, ROUTER, 1), RangeError, 'origOff < 28');
  t.throws(() => writeDestUnreachable(Buffer.alloc(40), 28, 20, ROUTER, 1), RangeError, 'range outside the buffer');
});

t.test('shouldSendIcmpError', async (t) => {
  const udp = (src: string, dst = '10.244.9.7', extra: Partial<Parameters<typeof buildIpv4>[0]> = {}): Buffer =>
    buildIpv4({ src, dst, proto: 17, payload: Buffer.alloc(12), ...extra });
  const icmp = (type: number): Buffer => {
    const m = Buffer.alloc(16);
    writeIcmpHeader(m, 0, { type, code: 0 }, 16);
    return buildIpv4({ src: '10.244.1.5', dst: '10.244.9.7', proto: 1, payload: m });
  };
  const fragment = (mf: boolean, fragmentOffset: number): Buffer =>
    buildIpv4({ src: '10.244.1.5', dst: '10.244.9.7', proto: 17, payload: Buffer.alloc(16), mf, fragmentOffset });
  const badSum = udp('10.244.1.5');
  badSum[11] = badSum[11]! ^ 1;
  const cases: [string, Buffer, boolean][] = [
    ['unicast UDP', udp('10.244.1.5'), true],
    ['echo request', buildIcmpEcho({ src: '10.244.1.5', dst: '10.244.9.7', id: 1, seq: 1 }), true],
    ['echo reply', icmp(0), true],
    ['first fragment', fragment(true, 0), true],
    ['non-first fragment', fragment(true, 10), false],
    ['last fragment', fragment(false, 10), false],
    ['dest unreachable', icmp(3), false],
    ['source quench', icmp(4), false],
    ['redirect', icmp(5), false],
    ['time exceeded', icmp(11), false],
    ['parameter problem', icmp(12), false],
    ['ICMP with no ICMP byte', buildIpv4({ src: '10.244.1.5', dst: '10.244.9.7', proto: 1, payload: Buffer.alloc(0) }), false],
    ['src 0.0.0.0', udp('0.0.0.0'), false],
    ['src multicast', udp('224.0.0.1'), false],
    ['src 239.x', udp('239.255.255.250'), false],
    ['src broadcast', udp('255.255.255.255'), false],
    ['src loopback', udp('127.0.0.1'), false],
    ['dst broadcast', udp('10.244.1.5', '255.255.255.255'), false],
    ['dst multicast', udp('10.244.1.5', '224.0.0.251'), false],
    ['bad header checksum', badSum, false],
  ];
  for (const [name, pkt, want] of cases) t.equal(shouldSendIcmpError(pkt, 0, pkt.length), want, name);
  t.equal(shouldSendIcmpError(Buffer.alloc(10), 0, 10), false, 'truncated');
  t.equal(shouldSendIcmpError(Buffer.alloc(10), 5, 10), false, 'range beyond the buffer');
  t.same([0, 3, 4, 5, 8, 11, 12, 13].map(isIcmpError), [false, true, true, true, false, true, true, false]);
});
