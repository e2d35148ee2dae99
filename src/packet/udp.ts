// SPDX-License-Identifier: Apache-2.0
/**
 * UDP header (RFC 768).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-------------------------------+-------------------------------+
 *   |          Source Port          |       Destination Port        |  0
 *   +-------------------------------+-------------------------------+
 *   |            Length             |           Checksum            |  4
 *   +-------------------------------+-------------------------------+
 *   |                          data ...                             |  8
 *   +---------------------------------------------------------------+
 *
 * Length covers header and data. Over IPv4 a checksum of 0 means "none"; a computed
 * checksum of 0 is sent as 0xffff. The checksum covers the IPv4 pseudo-header
 * (see checksum.ts).
 */
import { Drop, dropReasonName } from './drop.js';
import { inBounds, readU16, writeU16, type Decoded } from './bytes.js';
import { l4ChecksumIPv4 } from './checksum.js';
import { IPPROTO_UDP } from './ipv4.js';

export const UDP_SRC_PORT_OFFSET = 0;
export const UDP_DST_PORT_OFFSET = 2;
export const UDP_LENGTH_OFFSET = 4;
export const UDP_CHECKSUM_OFFSET = 6;
export const UDP_HEADER_LEN = 8;

export interface UdpFields {
  srcPort: number;
  dstPort: number;
  /** Header plus data, in bytes. */
  length: number;
  /** The checksum field as sent; default 0 (none). See fillUdpChecksumIPv4 to compute it. */
  checksum?: number;
}

export interface UdpInfo {
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
  /** Absolute offset of the data, and its length (length - 8). */
  payloadOffset: number;
  payloadLength: number;
}

/** writeUdpHeader writes the 8-byte header at buf[off] and returns the offset just past it (off + 8). */
export function writeUdpHeader(buf: Uint8Array, off: number, f: UdpFields): number {
  writeU16(buf, off + UDP_SRC_PORT_OFFSET, f.srcPort);
  writeU16(buf, off + UDP_DST_PORT_OFFSET, f.dstPort);
  writeU16(buf, off + UDP_LENGTH_OFFSET, f.length);
  writeU16(buf, off + UDP_CHECKSUM_OFFSET, f.checksum ?? 0);
  return off + UDP_HEADER_LEN;
}

/**
 * checkUdp validates the UDP datagram in buf[off, off+len) (len = the IP payload
 * length) and returns the first failing reason's code, or 0. As Linux udp_rcv does,
 * a Length field shorter than the bytes present is accepted (the caller trims to it).
 *   truncated        len < 8 (or the range is not inside buf)
 *   bad-udp-length   Length < 8, or Length > len
 * The checksum is not verified here (see verifyUdpChecksumIPv4). Allocation-free.
 */
export function checkUdp(buf: Uint8Array, off: number, len: number): number {
  if (!inBounds(buf, off, len) || len < UDP_HEADER_LEN) return Drop.truncated;
  const ulen = readU16(buf, off + UDP_LENGTH_OFFSET);
  if (ulen < UDP_HEADER_LEN || ulen > len) return Drop['bad-udp-length'];
  return 0;
}

/** decodeUdp returns the header fields when checkUdp accepts buf[off, off+len), else the reason. Never throws. */
export function decodeUdp(buf: Uint8Array, off: number, len: number): Decoded<UdpInfo> {
  const code = checkUdp(buf, off, len);
  if (code !== 0) return { ok: false, reason: dropReasonName(code) };
  const length = readU16(buf, off + UDP_LENGTH_OFFSET);
  return {
    ok: true,
    srcPort: readU16(buf, off + UDP_SRC_PORT_OFFSET),
    dstPort: readU16(buf, off + UDP_DST_PORT_OFFSET),
    length,
    checksum: readU16(buf, off + UDP_CHECKSUM_OFFSET),
    payloadOffset: off + UDP_HEADER_LEN,
    payloadLength: length - UDP_HEADER_LEN,
  };
}

/**
 * fillUdpChecksumIPv4 computes the checksum of the datagram at buf[off] (its length
 * from the header's Length field, which the caller has written) with the IPv4
 * pseudo-header for src → dst, stores it (0 becomes 0xffff) and returns it.
 */
export function fillUdpChecksumIPv4(buf: Uint8Array, off: number, src: number, dst: number): number {
  writeU16(buf, off + UDP_CHECKSUM_OFFSET, 0);
  const sum = l4ChecksumIPv4(buf, off, readU16(buf, off + UDP_LENGTH_OFFSET), src, dst, IPPROTO_UDP) || 0xffff;
  writeU16(buf, off + UDP_CHECKSUM_OFFSET, sum);
  return sum;
}

/**
 * verifyUdpChecksumIPv4 reports whether the datagram at buf[off] (Length from its
 * header; checkUdp must have accepted it) has a valid checksum for src → dst. A zero
 * checksum field means "none" over IPv4 and counts as valid, as Linux accepts it.
 */
export function verifyUdpChecksumIPv4(buf: Uint8Array, off: number, src: number, dst: number): boolean {
  if (readU16(buf, off + UDP_CHECKSUM_OFFSET) === 0) return true;
  return l4ChecksumIPv4(buf, off, readU16(buf, off + UDP_LENGTH_OFFSET), src, dst, IPPROTO_UDP) === 0;
}
