// SPDX-License-Identifier: Apache-2.0
/**
 * Byte-level helpers shared by the header codecs in src/packet/.
 *
 * All multi-byte fields on the wire are big-endian (network order). These helpers
 * index bytes directly, so they work on any Uint8Array (a Buffer included), never
 * allocate, and never create a DataView. Callers are responsible for bounds: a
 * codec checks the length it was given before it reads a field.
 */
import type { DropReason } from './drop.js';

/**
 * Decoded is what every `decodeX` function returns: the header's fields when the
 * bytes are acceptable, otherwise the drop reason a hot-path check would report.
 */
export type Decoded<T> = ({ ok: true } & T) | { ok: false; reason: DropReason };

/** readU16 returns the big-endian 16-bit value at buf[off, off+2). The caller guarantees the bytes exist. */
export function readU16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

/** writeU16 stores the low 16 bits of `value` big-endian at buf[off, off+2). */
export function writeU16(buf: Uint8Array, off: number, value: number): void {
  buf[off] = (value >>> 8) & 0xff;
  buf[off + 1] = value & 0xff;
}

/** readU32 returns the big-endian 32-bit value at buf[off, off+4) as an unsigned number (0..2^32-1). */
export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

/** writeU32 stores the low 32 bits of `value` big-endian at buf[off, off+4). */
export function writeU32(buf: Uint8Array, off: number, value: number): void {
  buf[off] = (value >>> 24) & 0xff;
  buf[off + 1] = (value >>> 16) & 0xff;
  buf[off + 2] = (value >>> 8) & 0xff;
  buf[off + 3] = value & 0xff;
}

/**
 * inBounds reports whether buf[off, off+len) is a real range of `buf`: off and len
 * are non-negative integers and the range ends inside the buffer. Checks call it
 * first so that a hostile (off, len) pair becomes 'truncated' instead of a read of
 * `undefined`.
 */
export function inBounds(buf: Uint8Array, off: number, len: number): boolean {
  return off >= 0 && len >= 0 && (off | 0) === off && (len | 0) === len && off + len <= buf.length;
}

/**
 * hexBytes parses a hex dump such as '08 00 00 00 00 00 01 00' (whitespace and
 * colons ignored) into a Buffer. For test vectors and tools; throws on an odd
 * number of digits or a non-hex character, naming the input.
 */
export function hexBytes(hex: string): Buffer {
  const clean = hex.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new Error(`hexBytes: not an even-length hex string: "${hex}"`);
  }
  return Buffer.from(clean, 'hex');
}
