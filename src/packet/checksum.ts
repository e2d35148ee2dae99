// SPDX-License-Identifier: Apache-2.0
/**
 * The internet checksum (RFC 1071) and its incremental update (RFC 1624), in plain
 * TypeScript. This is the reference model the native addon's checksums are tested
 * against, and the fallback when the addon is absent. The signatures match
 * NativeBinding's checksum functions (src/native/binding.ts) one for one.
 *
 *   data:   | b0 b1 | b2 b3 | ... | bN-1 00 |   16-bit big-endian words; an odd
 *           +-------+-------+     +---------+   final byte is padded with a zero
 *   sum:    one's-complement sum of the words (end-around carry), "folded" to 16 bits
 *   check:  ~sum & 0xffff
 *
 *   IPv4 pseudo-header for UDP/TCP (RFC 768 / RFC 793):
 *   +--------+--------+--------+--------+
 *   |          source address           |
 *   +--------+--------+--------+--------+
 *   |        destination address        |
 *   +--------+--------+--------+--------+
 *   |  zero  | proto  |    L4 length    |
 *   +--------+--------+--------+--------+
 *
 * Nothing here allocates. Offsets and lengths are trusted (callers validated them);
 * bytes beyond the buffer read as undefined and would corrupt the result, not throw.
 */

/** fold reduces a non-negative sum of 16-bit words to a 16-bit one's-complement sum. */
function fold(sum: number): number {
  // A sum below 2^53 folds in at most three rounds; the division keeps bits above 2^32.
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * onesSum returns the 16-bit one's-complement sum of buf[off, off+len), folded and
 * not inverted, plus `seed` (a previous folded sum, default 0). An odd final byte
 * counts as the high byte of a word whose low byte is zero. Chaining
 * onesSum(b, o2, l2, onesSum(b, o1, l1)) sums both ranges, provided l1 is even.
 */
export function onesSum(buf: Uint8Array, off: number, len: number, seed = 0): number {
  // Sum the high bytes and the low bytes of the words separately (hi*256 + lo is the
  // word sum), eight bytes per round. Plain additions of bytes stay exact far beyond
  // any buffer size, so nothing is masked inside the loop.
  let hi = 0;
  let lo = 0;
  const even = off + (len & ~1);
  let i = off;
  for (; i + 7 < even; i += 8) {
    hi += buf[i]! + buf[i + 2]! + buf[i + 4]! + buf[i + 6]!;
    lo += buf[i + 1]! + buf[i + 3]! + buf[i + 5]! + buf[i + 7]!;
  }
  for (; i < even; i += 2) {
    hi += buf[i]!;
    lo += buf[i + 1]!;
  }
  if (even < off + len) hi += buf[even]!;
  return fold(seed + hi * 256 + lo);
}

/**
 * internetChecksum returns the RFC 1071 checksum of buf[off, off+len) as it is:
 * ~onesSum & 0xffff. Over a range that already holds a correct checksum it gives 0.
 */
export function internetChecksum(buf: Uint8Array, off: number, len: number): number {
  return ~onesSum(buf, off, len) & 0xffff;
}

/**
 * ipv4HeaderChecksum returns the internet checksum of the IPv4 header at `off`, its
 * length taken from the IHL nibble, over the bytes as they are (checksum field
 * included). To generate, zero bytes 10-11 first and store the result; to verify,
 * expect 0. The common 20-byte header is summed unrolled, without a loop.
 */
export function ipv4HeaderChecksum(buf: Uint8Array, off: number): number {
  const hlen = (buf[off]! & 0x0f) << 2;
  if (hlen !== 20) return internetChecksum(buf, off, hlen);
  const sum =
    ((buf[off]! << 8) | buf[off + 1]!) + ((buf[off + 2]! << 8) | buf[off + 3]!) +
    ((buf[off + 4]! << 8) | buf[off + 5]!) + ((buf[off + 6]! << 8) | buf[off + 7]!) +
    ((buf[off + 8]! << 8) | buf[off + 9]!) + ((buf[off + 10]! << 8) | buf[off + 11]!) +
    ((buf[off + 12]! << 8) | buf[off + 13]!) + ((buf[off + 14]! << 8) | buf[off + 15]!) +
    ((buf[off + 16]! << 8) | buf[off + 17]!) + ((buf[off + 18]! << 8) | buf[off + 19]!);
  // Ten words sum to < 2^20: two folding rounds suffice.
  let s = (sum & 0xffff) + (sum >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * pseudoHeaderSum returns the folded one's-complement sum of the IPv4 pseudo-header
 * (src, dst, zero, proto, l4Length); src and dst are uint32 in host order.
 */
export function pseudoHeaderSum(src: number, dst: number, proto: number, l4Length: number): number {
  return fold((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (proto & 0xff) + (l4Length & 0xffff));
}

/**
 * l4ChecksumIPv4 returns the UDP or TCP checksum with the IPv4 pseudo-header over
 * buf[l4Off, l4Off+l4Len) as it is. To generate: zero the checksum field first, and
 * send a UDP result of 0 as 0xffff (RFC 768: 0 means "no checksum"). To verify: a
 * correct segment gives 0.
 */
export function l4ChecksumIPv4(buf: Uint8Array, l4Off: number, l4Len: number, src: number, dst: number, proto: number): number {
  return ~onesSum(buf, l4Off, l4Len, pseudoHeaderSum(src, dst, proto, l4Len)) & 0xffff;
}

/**
 * checksumUpdate16 returns the checksum after one 16-bit word covered by `checksum`
 * changes from `oldWord` to `newWord`, by RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
 * The result may differ from a full recomputation only in the representation of
 * zero (0x0000 vs 0xffff), which receivers treat alike; a range whose data is not
 * all zero never meets that case.
 */
export function checksumUpdate16(checksum: number, oldWord: number, newWord: number): number {
  let s = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
