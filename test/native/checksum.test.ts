// SPDX-License-Identifier: Apache-2.0
/**
 * The addon's checksums against RFC vectors and a plain TypeScript RFC 1071 model, over
 * random buffers, lengths (odd, 0, 1, large) and offsets (odd, and views with a byteOffset).
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../../src/native/load.js';

const native = loadNative();
const scalarRun = process.env.VXTUN_NO_AVX2 === '1';

// ---- reference model: RFC 1071, one network-order 16-bit word at a time ----

/** Folded one's-complement sum of buf[off, off+len) plus seed, not inverted. */
function refSum(buf: Uint8Array, off: number, len: number, seed = 0): number {
  let sum = seed;
  let i = 0;
  for (; i + 1 < len; i += 2) sum += (buf[off + i]! << 8) | buf[off + i + 1]!;
  if (i < len) sum += buf[off + i]! << 8; // odd tail: high byte of a zero-padded word
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}
const refChecksum = (buf: Uint8Array, off: number, len: number): number => ~refSum(buf, off, len) & 0xffff;
function refL4(buf: Uint8Array, off: number, len: number, src: number, dst: number, proto: number): number {
  const pseudo = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
  return ~refSum(buf, off, len, pseudo) & 0xffff;
}

/** mulberry32: a seeded PRNG so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = Number(process.env.VXTUN_TEST_SEED ?? 0x5eed1071);

/** Random bytes; sometimes all 0xff or all 0x00 (worst cases for carries and the zero sum). */
function randomBuffer(rnd: () => number, size: number): Buffer {
  const b = Buffer.alloc(size);
  const kind = rnd();
  if (kind < 0.05) return b.fill(0xff);
  if (kind < 0.08) return b;
  for (let i = 0; i < size; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}
function randomLength(rnd: () => number): number {
  const k = rnd();
  if (k < 0.1) return Math.floor(rnd() * 2); // 0 or 1
  if (k < 0.6) return Math.floor(rnd() * 200);
  if (k < 0.95) return Math.floor(rnd() * 1600);
  return Math.floor(rnd() * 9100);
}

t.test('RFC 1071 example IPv4 header', async (t) => {
  const h = Buffer.from('4500007300004000401 1b861c0a80001c0a800c7'.replace(/ /g, ''), 'hex');
  t.equal(h.length, 20);
  t.equal(native.ipv4HeaderChecksum(h, 0), 0, 'a correct header verifies to 0');
  t.equal(native.internetChecksum(h, 0, 20), 0);
  h.writeUInt16BE(0, 10);
  t.equal(native.ipv4HeaderChecksum(h, 0), 0xb861, 'recomputed with the field zeroed');
  t.equal(native.onesSum(h, 0, 20), 0xffff - 0xb861);
  // At an odd offset inside a larger buffer, and through a view with its own byteOffset.
  const big = Buffer.alloc(64, 0xaa);
  h.copy(big, 7);
  t.equal(native.ipv4HeaderChecksum(big, 7), 0xb861);
  t.equal(native.ipv4HeaderChecksum(big.subarray(7), 0), 0xb861);
  t.equal(native.ipv4HeaderChecksum(new Uint8Array(big.buffer, big.byteOffset + 3, 40), 4), 0xb861);
});

t.test('small vectors', async (t) => {
  const b = (...x: number[]): Buffer => Buffer.from(x);
  t.equal(native.onesSum(b(), 0, 0), 0, 'empty range sums to 0');
  t.equal(native.internetChecksum(b(), 0, 0), 0xffff);
  t.equal(native.onesSum(b(0xab), 0, 1), 0xab00, 'a single byte is the high byte of a padded word');
  t.equal(native.onesSum(b(0x12, 0x34, 0x56), 0, 3), 0x1234 + 0x5600);
  t.equal(native.onesSum(b(0, 0x12, 0x34, 0x56), 1, 3), 0x1234 + 0x5600, 'words start at offset, not at even addresses');
  t.equal(native.onesSum(b(0xff, 0xff), 0, 2), 0xffff, 'a non-zero sum is never folded to 0');
  t.equal(native.onesSum(b(0xff, 0xff, 0x00, 0x01), 0, 4), 0x0001, 'end-around carry');
  t.equal(native.onesSum(b(0x00, 0x01), 0, 2, 0xffff), 0x0001, 'seed added with end-around carry');
  t.equal(native.onesSum(b(), 0, 0, 0x1234), 0x1234);
  t.equal(native.onesSum(Buffer.alloc(65536, 0xff), 0, 65536), 0xffff, '64 KiB of 0xff');
  t.equal(native.onesSum(Buffer.alloc(4096), 0, 4096), 0, 'zeros sum to 0');
});

t.test('onesSum and internetChecksum match the model over 10,000 random ranges', async (t) => {
  const rnd = prng(SEED);
  const bad: unknown[] = [];
  const arena = randomBuffer(rnd, 12000);
  for (let n = 0; n < 10000; n++) {
    const len = randomLength(rnd);
    const before = Math.floor(rnd() * 9);
    const buf = rnd() < 0.5 ? randomBuffer(rnd, before + len + Math.floor(rnd() * 5)) : arena.subarray(Math.floor(rnd() * 17));
    const off = Math.min(before, buf.length - Math.min(len, buf.length));
    const l = Math.min(len, buf.length - off);
    const seed = rnd() < 0.3 ? Math.floor(rnd() * 0x10000) : 0;
    const want = refSum(buf, off, l, seed);
    const got = seed ? native.onesSum(buf, off, l, seed) : native.onesSum(buf, off, l);
    const wantC = refChecksum(buf, off, l);
    const gotC = native.internetChecksum(buf, off, l);
    if (got !== want || gotC !== wantC) bad.push({ n, off, len: l, seed, want, got, wantC, gotC, byteOffset: buf.byteOffset });
  }
  t.same(bad.slice(0, 5), [], `no mismatches (seed ${SEED}; ${bad.length} found)`);
});

t.test('a buffer with its checksum inserted verifies to 0', async (t) => {
  const rnd = prng(SEED + 1);
  let bad = 0;
  for (let n = 0; n < 2000; n++) {
    const len = 2 * (1 + Math.floor(rnd() * 800));
    const off = Math.floor(rnd() * 8);
    const buf = randomBuffer(rnd, off + len);
    const at = off + 2 * Math.floor(rnd() * (len / 2));
    buf.writeUInt16BE(0, at);
    buf.writeUInt16BE(native.internetChecksum(buf, off, len), at);
    if (native.internetChecksum(buf, off, len) !== 0) bad++;
  }
  t.equal(bad, 0);
});

t.test('l4ChecksumIPv4 matches the model with random pseudo-headers', async (t) => {
  const rnd = prng(SEED + 2);
  const bad: unknown[] = [];
  for (let n = 0; n < 10000; n++) {
    const len = randomLength(rnd);
    const off = Math.floor(rnd() * 9);
    const buf = randomBuffer(rnd, off + len + 3);
    const src = Math.floor(rnd() * 0x100000000);
    const dst = rnd() < 0.05 ? 0xffffffff : Math.floor(rnd() * 0x100000000);
    const proto = rnd() < 0.5 ? 17 : Math.floor(rnd() * 256);
    const want = refL4(buf, off, len, src, dst, proto);
    const got = native.l4ChecksumIPv4(buf, off, len, src, dst, proto);
    if (got !== want) bad.push({ n, off, len, src, dst, proto, want, got });
  }
  t.same(bad.slice(0, 5), [], `no mismatches (${bad.length} found)`);
});

t.test('l4ChecksumIPv4 generates and verifies a UDP datagram', async (t) => {
  const udp = Buffer.from('d43104d2001b0000' + Buffer.from('vxtun says hello!!!').toString('hex'), 'hex');
  const src = 0x0af40102;
  const dst = 0x0af40203;
  t.equal(udp.readUInt16BE(4), udp.length);
  const c = native.l4ChecksumIPv4(udp, 0, udp.length, src, dst, 17);
  t.equal(c, refL4(udp, 0, udp.length, src, dst, 17));
  udp.writeUInt16BE(c === 0 ? 0xffff : c, 6);
  t.equal(native.l4ChecksumIPv4(udp, 0, udp.length, src, dst, 17), 0, 'a correct segment verifies to 0');
  t.not(native.l4ChecksumIPv4(udp, 0, udp.length, src, dst + 1, 17), 0, 'the pseudo-header is covered');
});

t.test('checksumUpdate16 (RFC 1624 eqn. 3) equals full recomputation', async (t) => {
  const rnd = prng(SEED + 3);
  const bad: unknown[] = [];
  let compared = 0;
  for (let n = 0; n < 10000; n++) {
    const words = 1 + Math.floor(rnd() * 40);
    const buf = randomBuffer(rnd, 2 * words);
    const hc = refChecksum(buf, 0, buf.length);
    const w = 2 * Math.floor(rnd() * words);
    const oldWord = buf.readUInt16BE(w);
    const newWord = rnd() < 0.1 ? [0, 0xffff, oldWord][Math.floor(rnd() * 3)]! : Math.floor(rnd() * 0x10000);
    buf.writeUInt16BE(newWord, w);
    // Eqn. 3 is exact except when the data becomes all zeros (then it gives 0x0000 where
    // recomputation gives 0xffff, RFC 1624 section 3); that case is asserted separately.
    if (buf.every((x) => x === 0)) continue;
    compared++;
    const want = refChecksum(buf, 0, buf.length);
    const got = native.checksumUpdate16(hc, oldWord, newWord);
    if (got !== want) bad.push({ n, words, w, hc, oldWord, newWord, want, got });
  }
  t.ok(compared > 9000, `compared ${compared} edits`);
  t.same(bad.slice(0, 5), [], `no mismatches (${bad.length} found)`);
});

t.test('checksumUpdate16 on an IPv4 TTL decrement, and the all-zero subtlety', async (t) => {
  const h = Buffer.from('45000073000040004011b861c0a80001c0a800c7', 'hex');
  const old = h.readUInt16BE(8);
  h[8] = h[8]! - 1;
  const updated = native.checksumUpdate16(h.readUInt16BE(10), old, h.readUInt16BE(8));
  h.writeUInt16BE(updated, 10);
  t.equal(native.ipv4HeaderChecksum(h, 0), 0, 'the updated header verifies');
  h.writeUInt16BE(0, 10);
  t.equal(updated, native.ipv4HeaderChecksum(h, 0), 'and equals the recomputed checksum');
  // Data 0x0001 -> 0x0000: recomputation gives 0xffff, eqn. 3 gives 0x0000 (equal in one's complement).
  t.equal(native.checksumUpdate16(0xfffe, 0x0001, 0x0000), 0x0000);
  t.equal(refChecksum(Buffer.from([0, 0]), 0, 2), 0xffff);
});

t.test('argument errors name the argument', async (t) => {
  const buf = Buffer.alloc(64);
  const notBuf = 'not a buffer' as unknown as Uint8Array;
  const u16 = new Uint16Array(32) as unknown as Uint8Array;

  t.throws(() => native.onesSum(buf, 70, 8), { name: 'RangeError', message: 'offset 70 + length 8 exceeds buffer length 64' });
  t.throws(() => native.onesSum(buf, 60, 5), { name: 'RangeError', message: /offset 60 \+ length 5 exceeds buffer length 64/ });
  t.throws(() => native.onesSum(buf, -1, 1), { name: 'RangeError', message: /^offset/ });
  t.throws(() => native.onesSum(buf, 1.5, 1), { name: 'RangeError', message: /^offset/ });
  t.throws(() => native.onesSum(buf, 0, -2), { name: 'RangeError', message: /^length/ });
  t.throws(() => native.onesSum(buf, 0, NaN), { name: 'RangeError', message: /^length/ });
  t.throws(() => native.onesSum(buf, '0' as unknown as number, 1), { name: 'TypeError', message: /^offset/ });
  t.throws(() => native.onesSum(notBuf, 0, 0), { name: 'TypeError', message: /^buf/ });
  t.throws(() => native.onesSum(u16, 0, 0), { name: 'TypeError', message: /^buf/ });
  t.throws(() => native.onesSum(buf, 0, 2, 0x10000), { name: 'RangeError', message: /^seed/ });
  t.throws(() => native.onesSum(buf, 0, 2, -1), { name: 'RangeError', message: /^seed/ });

  t.throws(() => native.internetChecksum(buf, 65, 0), { name: 'RangeError', message: /offset 65/ });
  t.throws(() => native.internetChecksum(buf, 0, 65), { name: 'RangeError', message: /length 65/ });
  t.throws(() => native.internetChecksum(buf, -3, 0), { name: 'RangeError', message: /^offset/ });
  t.throws(() => native.internetChecksum(buf, 0, 2.5), { name: 'RangeError', message: /^length/ });
  t.throws(() => native.internetChecksum(notBuf, 0, 0), { name: 'TypeError', message: /^buf/ });
  t.throws(() => native.internetChecksum(buf.buffer as unknown as Uint8Array, 0, 0), { name: 'TypeError', message: /^buf/ });

  const h = Buffer.from('45000073000040004011b861c0a80001c0a800c7', 'hex');
  t.throws(() => native.ipv4HeaderChecksum(h, 20), { name: 'RangeError', message: /^offset 20/ });
  t.throws(() => native.ipv4HeaderChecksum(h, -1), { name: 'RangeError', message: /^offset/ });
  t.throws(() => native.ipv4HeaderChecksum(h, 1), { name: 'RangeError', message: /IHL 0/ }, 'IHL < 5');
  t.throws(() => native.ipv4HeaderChecksum(h.subarray(0, 19), 0), { name: 'RangeError', message: /exceeds buffer length 19/ });
  const opts = Buffer.concat([Buffer.from([0x46]), h.subarray(1)]);
  t.throws(() => native.ipv4HeaderChecksum(opts, 0), { name: 'RangeError', message: /IHL 6, 24 bytes/ }, 'options beyond the buffer');
  t.throws(() => native.ipv4HeaderChecksum(notBuf, 0), { name: 'TypeError', message: /^buf/ });

  t.throws(() => native.l4ChecksumIPv4(buf, 70, 0, 1, 2, 17), { name: 'RangeError', message: /^l4Offset 70 \+ l4Length 0 exceeds buffer length 64/ });
  t.throws(() => native.l4ChecksumIPv4(buf, 0, 65, 1, 2, 17), { name: 'RangeError', message: /l4Length 65/ });
  t.throws(() => native.l4ChecksumIPv4(buf, -1, 8, 1, 2, 17), { name: 'RangeError', message: /^l4Offset/ });
  t.throws(() => native.l4ChecksumIPv4(buf, 0, 1.25, 1, 2, 17), { name: 'RangeError', message: /^l4Length/ });
  t.throws(() => native.l4ChecksumIPv4(notBuf, 0, 0, 1, 2, 17), { name: 'TypeError', message: /^buf/ });
  t.throws(() => native.l4ChecksumIPv4(buf, 0, 8, -1, 2, 17), { name: 'RangeError', message: /^src/ });
  t.throws(() => native.l4ChecksumIPv4(buf, 0, 8, 1, 2 ** 32, 17), { name: 'RangeError', message: /^dst/ });
  t.throws(() => native.l4ChecksumIPv4(buf, 0, 8, 1, 2, 256), { name: 'RangeError', message: /^proto/ });
  t.throws(() => native.l4ChecksumIPv4(Buffer.alloc(70000), 0, 65536, 1, 2, 17), { name: 'RangeError', message: /^l4Length 65536/ });

  t.throws(() => native.checksumUpdate16(0x10000, 0, 0), { name: 'RangeError', message: /^checksum/ });
  t.throws(() => native.checksumUpdate16(0, 'x' as unknown as number, 0), { name: 'TypeError', message: /^oldWord/ });
  t.throws(() => native.checksumUpdate16(0, 0, -1), { name: 'RangeError', message: /^newWord/ });
});

t.test('the portable (non-AVX2) summing path passes the same tests', { skip: scalarRun ? 'this is that run' : false }, async (t) => {
  // This file again in a fresh process with VXTUN_NO_AVX2=1 (a no-op on CPUs without AVX2).
  const self = fileURLToPath(import.meta.url);
  t.spawn(process.execPath, [self], { env: { ...process.env, VXTUN_NO_AVX2: '1' } }, 'checksum.test with VXTUN_NO_AVX2=1');
});
