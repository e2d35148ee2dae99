// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import {
  checkIpv4, decodeIpv4, ipToString, ipv4Dst, ipv4Src, parseIpv4, writeIpv4Header, IPPROTO_UDP, IPV4_CHECKSUM_OFFSET,
} from '../../src/packet/ipv4.js';
import { Drop } from '../../src/packet/drop.js';
import { hexBytes } from '../../src/packet/bytes.js';
import { rng } from '../helpers/rng.js';


/** The outer IPv4 header of the kernel frame in baseline.md 4.1. */
const KERNEL_OUTER = hexBytes('45 00 00 86 40 43 00 00 40 11 54 d0 c0 a8 32 01 c0 a8 32 02');

/** The header followed by `payload` bytes of zero (the capture shows only the header). */
function padded(header: Uint8Array, total: number): Buffer {
  const b = Buffer.alloc(total);
  b.set(header);
  return b;
}

t.test('decodeIpv4: the kernel outer header', async (t) => {
  const pkt = padded(KERNEL_OUTER, 134);
  t.equal(checkIpv4(pkt, 0, 134), 0);
  t.match(decodeIpv4(pkt, 0, 134), {
    ok: true, version: 4, ihl: 5, headerLength: 20, tos: 0, dscp: 0, ecn: 0, totalLength: 134, id: 0x4043,
    flags: 0, df: false, mf: false, fragmentOffset: 0, isFragment: false, ttl: 64, protocol: 17,
    headerChecksum: 0x54d0, src: 0xc0a83201, dst: 0xc0a83202, optionsLength: 0, optionsOffset: 20,
    payloadOffset: 20, payloadLength: 114,
  });
  t.equal(ipToString(ipv4Src(pkt, 0)), '192.168.50.1');
  t.equal(ipToString(ipv4Dst(pkt, 0)), '192.168.50.2');
});

t.test('writeIpv4Header reproduces the kernel header and its checksum', async (t) => {
  const b = Buffer.alloc(22, 0xee);
  const end = writeIpv4Header(b, 1, {
    totalLength: 134, id: 0x4043, df: false, ttl: 64, protocol: IPPROTO_UDP,
    src: parseIpv4('192.168.50.1'), dst: parseIpv4('192.168.50.2'),
  });
  t.equal(end, 21);
  t.same(b.subarray(1, 21), KERNEL_OUTER);
  t.equal(b[0], 0xee);
  t.equal(b[21], 0xee, 'nothing written outside the header');
});

t.test('options and fragments', async (t) => {
  const opts = hexBytes('94 04 00 00 01 01 01 00'); // router alert, NOP NOP NOP EOL
  const b = Buffer.alloc(40);
  writeIpv4Header(b, 0, {
    tos: 0xb9, totalLength: 40, id: 0xbeef, mf: true, fragmentOffset: 185, ttl: 1, protocol: 1,
    src: parseIpv4('10.244.1.2'), dst: parseIpv4('10.244.2.3'), options: opts,
  });
  const d = decodeIpv4(b, 0, 40);
  t.match(d, {
    ok: true, ihl: 7, headerLength: 28, tos: 0xb9, dscp: 0x2e, ecn: 1, id: 0xbeef, flags: 1, df: false, mf: true,
    fragmentOffset: 185, isFragment: true, ttl: 1, optionsOffset: 20, optionsLength: 8, payloadOffset: 28, payloadLength: 12,
  });
  t.same(b.subarray(20, 28), opts);
  writeIpv4Header(b, 0, { totalLength: 40, fragmentOffset: 3, df: true, protocol: 6, src: 1, dst: 2 });
  t.match(decodeIpv4(b, 0, 40), { ok: true, df: true, mf: false, fragmentOffset: 3, isFragment: true, flags: 2 });
  t.throws(() => writeIpv4Header(b, 0, { totalLength: 40, protocol: 6, src: 1, dst: 2, options: new Uint8Array(3) }), RangeError);
  t.throws(() => writeIpv4Header(b, 0, { totalLength: 40, protocol: 6, src: 1, dst: 2, options: new Uint8Array(44) }), RangeError);
});

t.test('checkIpv4: each reason', async (t) => {
  const good = (): Buffer => padded(KERNEL_OUTER, 134);
  const mutate = (f: (b: Buffer) => void): Buffer => {
    const b = good();
    f(b);
    return b;
  };
  /** Rewrites the checksum after a change so that only the intended check fails. */
  const fix = (b: Buffer): void => {
    b.writeUInt16BE(0, IPV4_CHECKSUM_OFFSET);
    let s = 0;
    const hl = (b[0]! & 0x0f) * 4;
    for (let i = 0; i < hl; i += 2) s += b.readUInt16BE(i);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    b.writeUInt16BE(~s & 0xffff, IPV4_CHECKSUM_OFFSET);
  };
  const cases: [string, Buffer, number, number][] = [
    ['ok', good(), 134, 0],
    ['trailing padding is fine', padded(KERNEL_OUTER, 200), 200, 0],
    ['19 bytes', good(), 19, Drop.truncated],
    ['empty', good(), 0, Drop.truncated],
    ['version 6', mutate((b) => { b[0] = 0x65; }), 134, Drop['not-ipv4']],
    ['version 0', mutate((b) => { b[0] = 0x05; }), 134, Drop['not-ipv4']],
    ['IHL 4', mutate((b) => { b[0] = 0x44; fix(b); }), 134, Drop['bad-ihl']],
    ['IHL 15 > 40 bytes', mutate((b) => { b[0] = 0x4f; }), 40, Drop['bad-ihl']],
    ['total < header', mutate((b) => { b.writeUInt16BE(19, 2); fix(b); }), 134, Drop['bad-total-length']],
    ['total > bytes', good(), 133, Drop['bad-total-length']],
    ['checksum off by one', mutate((b) => { b[11] = 0xd1; }), 134, Drop['bad-header-checksum']],
    ['TTL changed, checksum not', mutate((b) => { b[8] = 63; }), 134, Drop['bad-header-checksum']],
  ];
  for (const [name, b, len, want] of cases) {
    t.equal(checkIpv4(b, 0, len), want, name);
    const d = decodeIpv4(b, 0, len);
    t.equal(d.ok ? 0 : Drop[d.reason], want, `${name}: decode agrees`);
  }
  t.equal(checkIpv4(good(), 100, 134), Drop.truncated, 'range beyond the buffer');
});

t.test('random IPv4 round trips (options, fragments, flags)', async (t) => {
  const r = rng(0x1f4);
  let bad = 0;
  let first = '';
  for (let n = 0; n < 2000; n++) {
    const optLen = 4 * Math.floor(r() * 11);
    const options = new Uint8Array(optLen).map(() => Math.floor(r() * 256));
    const payload = Math.floor(r() * 60);
    const f = {
      tos: Math.floor(r() * 256), totalLength: 20 + optLen + payload, id: Math.floor(r() * 0x10000),
      df: r() < 0.5, mf: r() < 0.5, fragmentOffset: Math.floor(r() * 0x2000), ttl: Math.floor(r() * 256),
      protocol: Math.floor(r() * 256), src: Math.floor(r() * 2 ** 32), dst: Math.floor(r() * 2 ** 32), options,
    };
    const off = Math.floor(r() * 8);
    const b = new Uint8Array(off + f.totalLength + Math.floor(r() * 4));
    writeIpv4Header(b, off, f);
    const d = decodeIpv4(b, off, b.length - off);
    const same = d.ok && d.tos === f.tos && d.totalLength === f.totalLength && d.id === f.id && d.df === f.df &&
      d.mf === f.mf && d.fragmentOffset === f.fragmentOffset && d.ttl === f.ttl && d.protocol === f.protocol &&
      d.src === f.src && d.dst === f.dst && d.optionsLength === optLen && d.headerLength === 20 + optLen &&
      Buffer.from(b.subarray(off + 20, off + 20 + optLen)).equals(options) &&
      d.isFragment === (f.mf || f.fragmentOffset !== 0);
    if (!same) {
      bad++;
      first ||= JSON.stringify({ f: { ...f, options: [...options] }, d });
    }
  }
  t.equal(bad, 0, first || 'all round trips agree');
});

t.test('parseIpv4 and ipToString', async (t) => {
  t.equal(parseIpv4('10.244.1.2'), 0x0af40102);
  t.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  t.equal(parseIpv4('0.0.0.0'), 0);
  t.equal(ipToString(0x0af40102), '10.244.1.2');
  t.equal(ipToString(0xffffffff), '255.255.255.255');
  for (const bad of ['', '10.244.1', '10.244.1.2.3', '256.0.0.1', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', '1..2.3', '-1.2.3.4']) {
    t.throws(() => parseIpv4(bad), { message: new RegExp(`invalid IPv4 address "${bad.replace(/\./g, '\\.')}"`) }, `rejects "${bad}"`);
  }
  const r = rng(7);
  for (let n = 0; n < 200; n++) {
    const ip = Math.floor(r() * 2 ** 32);
    if (parseIpv4(ipToString(ip)) !== ip) t.fail(`round trip ${ip}`);
  }
});
