// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import {
  checkUdp, decodeUdp, fillUdpChecksumIPv4, verifyUdpChecksumIPv4, writeUdpHeader, UDP_HEADER_LEN,
} from '../../src/packet/udp.js';
import { onesSum } from '../../src/packet/checksum.js';
import { Drop } from '../../src/packet/drop.js';
import { hexBytes } from '../../src/packet/bytes.js';
import { parseIpv4 } from '../../src/packet/ipv4.js';
import { rng } from '../helpers/rng.js';


/** The UDP header of the kernel frame in baseline.md 4.1. */
const KERNEL_UDP = hexBytes('d5 e0 21 18 00 72 0b d8');

t.test('the kernel UDP header', async (t) => {
  const dgram = Buffer.alloc(114);
  dgram.set(KERNEL_UDP);
  t.equal(checkUdp(dgram, 0, 114), 0);
  t.match(decodeUdp(dgram, 0, 114), {
    ok: true, srcPort: 54752, dstPort: 8472, length: 114, checksum: 0x0bd8, payloadOffset: 8, payloadLength: 106,
  });
  const b = Buffer.alloc(10, 0xee);
  t.equal(writeUdpHeader(b, 1, { srcPort: 54752, dstPort: 8472, length: 114, checksum: 0x0bd8 }), 9);
  t.same(b.subarray(1, 9), KERNEL_UDP);
  t.equal(b[9], 0xee);
  writeUdpHeader(b, 1, { srcPort: 1, dstPort: 2, length: 8 });
  t.equal(b.readUInt16BE(7), 0, 'checksum defaults to 0 (none)');
});

t.test('checkUdp: each reason', async (t) => {
  const dg = (ulen: number, size: number): Buffer => {
    const b = Buffer.alloc(size);
    writeUdpHeader(b, 0, { srcPort: 1000, dstPort: 8472, length: ulen });
    return b;
  };
  const cases: [string, Buffer, number, number][] = [
    ['ok', dg(20, 20), 20, 0],
    ['header only', dg(8, 8), 8, 0],
    ['length shorter than the bytes (trimmed by the caller)', dg(10, 20), 20, 0],
    ['7 bytes', dg(8, 8), 7, Drop.truncated],
    ['length 7', dg(7, 20), 20, Drop['bad-udp-length']],
    ['length 0', dg(0, 20), 20, Drop['bad-udp-length']],
    ['length beyond the bytes', dg(21, 21), 20, Drop['bad-udp-length']],
  ];
  for (const [name, b, len, want] of cases) {
    t.equal(checkUdp(b, 0, len), want, name);
    const d = decodeUdp(b, 0, len);
    t.equal(d.ok ? 0 : Drop[d.reason], want, `${name}: decode agrees`);
  }
  t.equal(checkUdp(dg(8, 8), 1, 8), Drop.truncated, 'range beyond the buffer');
});

t.test('fillUdpChecksumIPv4 / verifyUdpChecksumIPv4', async (t) => {
  const src = parseIpv4('10.0.0.1');
  const dst = parseIpv4('10.0.0.2');
  const b = Buffer.alloc(12 + UDP_HEADER_LEN);
  writeUdpHeader(b, 2, { srcPort: 5000, dstPort: 6000, length: 18 });
  b.write('hello', 10 + 0, 'latin1');
  const c = fillUdpChecksumIPv4(b, 2, src, dst);
  t.not(c, 0);
  t.equal(b.readUInt16BE(8), c);
  t.ok(verifyUdpChecksumIPv4(b, 2, src, dst));
  t.notOk(verifyUdpChecksumIPv4(b, 2, src, dst + 1), 'pseudo-header covers the addresses');
  b[12] = b[12]! ^ 1;
  t.notOk(verifyUdpChecksumIPv4(b, 2, src, dst), 'a flipped payload bit is caught');
  b.writeUInt16BE(0, 8);
  t.ok(verifyUdpChecksumIPv4(b, 2, src, dst), 'zero means "no checksum" over IPv4');

  // A datagram whose checksum computes to 0 must carry 0xffff.
  const z = Buffer.alloc(10);
  writeUdpHeader(z, 0, { srcPort: 1, dstPort: 2, length: 10 });
  const ph = onesSum(Buffer.from([10, 0, 0, 1, 10, 0, 0, 2, 0, 17, 0, 10]), 0, 12);
  z.writeUInt16BE(~onesSum(z, 0, 10, ph) & 0xffff, 8);
  t.equal(fillUdpChecksumIPv4(z, 0, src, dst), 0xffff);
  t.ok(verifyUdpChecksumIPv4(z, 0, src, dst));
});

t.test('random UDP round trips', async (t) => {
  const r = rng(0x0d9);
  let bad = 0;
  for (let n = 0; n < 2000; n++) {
    const f = {
      srcPort: Math.floor(r() * 0x10000), dstPort: Math.floor(r() * 0x10000),
      length: 8 + Math.floor(r() * 100), checksum: Math.floor(r() * 0x10000),
    };
    const off = Math.floor(r() * 5);
    const b = new Uint8Array(off + f.length);
    writeUdpHeader(b, off, f);
    const d = decodeUdp(b, off, f.length);
    if (!d.ok || d.srcPort !== f.srcPort || d.dstPort !== f.dstPort || d.length !== f.length || d.checksum !== f.checksum) bad++;
  }
  t.equal(bad, 0);
});
