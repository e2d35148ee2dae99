// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import {
  checksumUpdate16, internetChecksum, ipv4HeaderChecksum, l4ChecksumIPv4, onesSum, pseudoHeaderSum,
} from '../../src/packet/checksum.js';
import { hexBytes } from '../../src/packet/bytes.js';
import { rng } from '../helpers/rng.js';

/** mulberry32: a small seeded PRNG so failures reproduce. */
const SEED = Number(process.env.VXTUN_TEST_SEED ?? 0xc0ffee);

/** The naive model: add one byte at a time into a 16-bit accumulator with end-around carry. */
function naiveOnesSum(buf: Uint8Array, off: number, len: number, seed = 0): number {
  let acc = seed;
  for (let i = 0; i < len; i++) {
    acc += (i & 1) === 0 ? buf[off + i]! << 8 : buf[off + i]!;
    if (acc > 0xffff) acc -= 0xffff;
  }
  return acc;
}

t.test('RFC 1071 section 3 numerical example', async (t) => {
  const b = hexBytes('00 01 f2 03 f4 f5 f6 f7');
  t.equal(onesSum(b, 0, 8), 0xddf2);
  t.equal(internetChecksum(b, 0, 8), 0x220d);
  t.equal(onesSum(b, 0, 0), 0, 'empty range sums to 0');
  t.equal(onesSum(b, 0, 0, 0x1234), 0x1234, 'seed passes through an empty range');
  t.equal(onesSum(hexBytes('ab'), 0, 1), 0xab00, 'an odd final byte is the high byte');
});

t.test('onesSum matches the byte-by-byte model (random lengths, offsets, seeds)', async (t) => {
  const r = rng(SEED);
  let bad = 0;
  let first = '';
  for (let n = 0; n < 3000; n++) {
    const size = Math.floor(r() * 1600);
    const buf = new Uint8Array(size);
    for (let i = 0; i < size; i++) buf[i] = Math.floor(r() * 256);
    if (r() < 0.1) buf.fill(0xff);
    const off = Math.floor(r() * (size + 1));
    const len = Math.floor(r() * (size - off + 1));
    const seed = r() < 0.5 ? 0 : Math.floor(r() * 0x10000);
    const got = onesSum(buf, off, len, seed);
    const want = naiveOnesSum(buf, off, len, seed);
    if (got !== want) {
      bad++;
      first ||= `size ${size} off ${off} len ${len} seed ${seed}: got ${got} want ${want}`;
    }
  }
  t.equal(bad, 0, first || 'all agree');
});

t.test('onesSum chains over an even first range', async (t) => {
  const b = hexBytes('45 00 00 86 40 43 00 00 40 11 00 00 c0 a8 32 01 c0 a8 32 02');
  t.equal(onesSum(b, 10, 10, onesSum(b, 0, 10)), onesSum(b, 0, 20));
});

t.test('internetChecksum over a range holding its checksum is 0', async (t) => {
  const r = rng(SEED + 1);
  for (let n = 0; n < 50; n++) {
    const len = 2 + 2 * Math.floor(r() * 100);
    const b = new Uint8Array(len);
    for (let i = 2; i < len; i++) b[i] = Math.floor(r() * 256);
    const c = internetChecksum(b, 0, len);
    b[0] = c >>> 8;
    b[1] = c & 0xff;
    if (internetChecksum(b, 0, len) !== 0) t.fail(`len ${len}: does not verify`);
  }
  t.pass('50 random ranges verify');
});

t.test('ipv4HeaderChecksum: the kernel frame of baseline.md 4.1 and an options header', async (t) => {
  const h = hexBytes('45 00 00 86 40 43 00 00 40 11 00 00 c0 a8 32 01 c0 a8 32 02');
  t.equal(ipv4HeaderChecksum(h, 0), 0x54d0, 'the kernel computed 0x54d0');
  h[10] = 0x54;
  h[11] = 0xd0;
  t.equal(ipv4HeaderChecksum(h, 0), 0, 'verifies to 0');
  const withOpts = Buffer.concat([Buffer.alloc(3), hexBytes('46 00 00 18 00 01 00 00 40 01 00 00 0a 00 00 01 0a 00 00 02 94 04 00 00')]);
  t.equal(ipv4HeaderChecksum(withOpts, 3), internetChecksum(withOpts, 3, 24), 'IHL 6 sums 24 bytes, at an odd offset');
  const h2 = Buffer.concat([Buffer.alloc(1), h]);
  t.equal(ipv4HeaderChecksum(h2, 1), 0, 'odd offset, unrolled path');
});

t.test('l4ChecksumIPv4 equals the checksum over an explicit pseudo-header', async (t) => {
  const r = rng(SEED + 2);
  for (let n = 0; n < 200; n++) {
    const len = Math.floor(r() * 300);
    const seg = new Uint8Array(len + 1);
    for (let i = 0; i < seg.length; i++) seg[i] = Math.floor(r() * 256);
    const src = Math.floor(r() * 2 ** 32);
    const dst = Math.floor(r() * 2 ** 32);
    const proto = r() < 0.5 ? 17 : 6;
    const ph = Buffer.alloc(12);
    ph.writeUInt32BE(src, 0);
    ph.writeUInt32BE(dst, 4);
    ph[9] = proto;
    ph.writeUInt16BE(len, 10);
    const explicit = Buffer.concat([ph, seg.subarray(1, 1 + len)]);
    const want = ~naiveOnesSum(explicit, 0, explicit.length) & 0xffff;
    const got = l4ChecksumIPv4(seg, 1, len, src, dst, proto);
    if (got !== want) {
      t.fail(`len ${len}: got ${got} want ${want}`);
      return;
    }
  }
  t.equal(pseudoHeaderSum(0xc0a83201, 0xc0a83202, 17, 114), naiveOnesSum(hexBytes('c0 a8 32 01 c0 a8 32 02 00 11 00 72'), 0, 12));
  t.pass('200 random segments agree');
});

t.test('checksumUpdate16 (RFC 1624 eqn. 3) agrees with recomputation', async (t) => {
  const r = rng(SEED + 3);
  let bad = 0;
  let first = '';
  for (let n = 0; n < 2000; n++) {
    const h = new Uint8Array(20);
    for (let i = 0; i < 20; i++) h[i] = Math.floor(r() * 256);
    h[10] = 0;
    h[11] = 0;
    const old = internetChecksum(h, 0, 20);
    h[10] = old >>> 8;
    h[11] = old & 0xff;
    const w = 2 * [0, 1, 2, 3, 4, 6, 7, 8, 9][Math.floor(r() * 9)]!; // any word but the checksum itself
    const oldWord = (h[w]! << 8) | h[w + 1]!;
    const newWord = r() < 0.1 ? [0, 0xffff][Math.floor(r() * 2)]! : Math.floor(r() * 0x10000);
    h[w] = newWord >>> 8;
    h[w + 1] = newWord & 0xff;
    const updated = checksumUpdate16(old, oldWord, newWord);
    h[10] = 0;
    h[11] = 0;
    const recomputed = internetChecksum(h, 0, 20);
    h[10] = updated >>> 8;
    h[11] = updated & 0xff;
    if (updated !== recomputed || internetChecksum(h, 0, 20) !== 0) {
      bad++;
      first ||= `word ${w / 2}: ${oldWord} -> ${newWord}: updated ${updated}, recomputed ${recomputed}`;
    }
  }
  t.equal(bad, 0, first || 'all agree');
  // The TTL decrement a router does: 0x4011 -> 0x3f11 in the kernel frame header.
  t.equal(checksumUpdate16(0x54d0, 0x4011, 0x3f11), 0x55d0);
});
