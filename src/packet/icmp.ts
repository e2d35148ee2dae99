// SPDX-License-Identifier: Apache-2.0
/**
 * ICMP header (RFC 792), and the destination-unreachable reply vxtun sends for a
 * packet it cannot deliver (e.g. to an address inside the cluster Network that no
 * lease covers), built in place in the packet's headroom.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +---------------+---------------+-------------------------------+
 *   |     Type      |     Code      |           Checksum            |  0
 *   +---------------+---------------+-------------------------------+
 *   |  rest: echo Identifier/Sequence; unreachable: unused/next MTU |  4
 *   +---------------------------------------------------------------+
 *   |  data: echo payload; errors: original IP header + 8 bytes     |  8
 *   +---------------------------------------------------------------+
 *
 *   writeDestUnreachable layout (no copy of the original packet):
 *   | new IPv4 (20) | ICMP (8) | original IPv4 header | first 8 payload bytes | (rest ignored)
 *   ^ origOff - 28                ^ origOff
 *
 * The checksum covers the whole ICMP message (header and data), no pseudo-header.
 */
import { Drop, dropReasonName } from './drop.js';
import { inBounds, readU16, readU32, writeU16, writeU32, type Decoded } from './bytes.js';
import { internetChecksum } from './checksum.js';
import {
  checkIpv4, writeIpv4Header, IPPROTO_ICMP, IPV4_SRC_OFFSET, IPV4_DST_OFFSET, IPV4_PROTOCOL_OFFSET,
  IPV4_FLAGS_FRAGMENT_OFFSET, IPV4_FRAGMENT_OFFSET_MASK, IPV4_MIN_HEADER_LEN, IPV4_TOTAL_LENGTH_OFFSET,
} from './ipv4.js';

export const ICMP_TYPE_OFFSET = 0;
export const ICMP_CODE_OFFSET = 1;
export const ICMP_CHECKSUM_OFFSET = 2;
export const ICMP_REST_OFFSET = 4;
export const ICMP_ID_OFFSET = 4;
export const ICMP_SEQ_OFFSET = 6;
export const ICMP_MTU_OFFSET = 6;
export const ICMP_HEADER_LEN = 8;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;

export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMP_NET_PROHIBITED = 9;
export const ICMP_HOST_PROHIBITED = 10;
export const ICMP_ADMIN_PROHIBITED = 13;

/** Bytes writeDestUnreachable needs in front of the original packet: IPv4 20 + ICMP 8. */
export const ICMP_ERROR_PREFIX_LEN = 28;
/** TOS of the ICMP errors we originate (Linux: IPTOS_PREC_INTERNETCONTROL). */
export const ICMP_ERROR_TOS = 0xc0;

export interface IcmpFields {
  type: number;
  code: number;
  /** Bytes 4-7 as a uint32; ignored when id or seq is given. Default 0. */
  rest?: number;
  id?: number;
  seq?: number;
}

export interface IcmpInfo {
  type: number;
  code: number;
  checksum: number;
  /** Bytes 4-7 as a uint32, and the same as echo id (bytes 4-5) and seq (bytes 6-7). */
  rest: number;
  id: number;
  seq: number;
  /** Whether the checksum over buf[off, off+len) is correct. */
  checksumValid: boolean;
}

/**
 * writeIcmpHeader writes the 8-byte header at buf[off] and the checksum of the whole
 * message buf[off, off+length) (length >= 8; the data must already be in place), and
 * returns the offset just past the header (off + 8).
 */
export function writeIcmpHeader(buf: Uint8Array, off: number, f: IcmpFields, length: number): number {
  buf[off + ICMP_TYPE_OFFSET] = f.type & 0xff;
  buf[off + ICMP_CODE_OFFSET] = f.code & 0xff;
  writeU16(buf, off + ICMP_CHECKSUM_OFFSET, 0);
  if (f.id !== undefined || f.seq !== undefined) {
    writeU16(buf, off + ICMP_ID_OFFSET, f.id ?? 0);
    writeU16(buf, off + ICMP_SEQ_OFFSET, f.seq ?? 0);
  } else {
    writeU32(buf, off + ICMP_REST_OFFSET, f.rest ?? 0);
  }
  writeU16(buf, off + ICMP_CHECKSUM_OFFSET, internetChecksum(buf, off, length));
  return off + ICMP_HEADER_LEN;
}

/** checkIcmp returns Drop.truncated when buf[off, off+len) cannot hold an 8-byte ICMP header, else 0. */
export function checkIcmp(buf: Uint8Array, off: number, len: number): number {
  if (!inBounds(buf, off, len) || len < ICMP_HEADER_LEN) return Drop.truncated;
  return 0;
}

/** decodeIcmp returns the header of the ICMP message buf[off, off+len) and whether its checksum holds, or 'truncated'. Never throws. */
export function decodeIcmp(buf: Uint8Array, off: number, len: number): Decoded<IcmpInfo> {
  const code = checkIcmp(buf, off, len);
  if (code !== 0) return { ok: false, reason: dropReasonName(code) };
  return {
    ok: true,
    type: buf[off + ICMP_TYPE_OFFSET]!,
    code: buf[off + ICMP_CODE_OFFSET]!,
    checksum: readU16(buf, off + ICMP_CHECKSUM_OFFSET),
    rest: readU32(buf, off + ICMP_REST_OFFSET),
    id: readU16(buf, off + ICMP_ID_OFFSET),
    seq: readU16(buf, off + ICMP_SEQ_OFFSET),
    checksumValid: internetChecksum(buf, off, len) === 0,
  };
}

/** isIcmpError reports whether an ICMP type is an error message (3, 4, 5, 11, 12), to which no error may be sent. */
export function isIcmpError(type: number): boolean {
  return type === ICMP_DEST_UNREACH || type === ICMP_SOURCE_QUENCH || type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETER_PROBLEM;
}

/** Whether an address (uint32) cannot name a single host: 0.0.0.0, 127/8, 224/4 multicast, 240/4 (incl. 255.255.255.255). */
function notUnicastHost(ip: number): boolean {
  return ip === 0 || ip >>> 24 === 127 || ip >>> 28 >= 0xe;
}

/**
 * shouldSendIcmpError reports whether an ICMP error may be sent about the IPv4 packet
 * buf[off, off+len) (RFC 1122 3.2.2, RFC 1812 4.3.2.7). False when the packet fails
 * checkIpv4; is a non-first fragment; has a source that is not a unicast host
 * (0.0.0.0, 127/8, 224/4, 240/4 incl. 255.255.255.255); is sent to a multicast or
 * broadcast address; or is itself an ICMP error (types 3, 4, 5, 11, 12) or an ICMP
 * packet too short to tell. Never throws; allocation-free.
 */
export function shouldSendIcmpError(buf: Uint8Array, off: number, len: number): boolean {
  if (checkIpv4(buf, off, len) !== 0) return false;
  if ((readU16(buf, off + IPV4_FLAGS_FRAGMENT_OFFSET) & IPV4_FRAGMENT_OFFSET_MASK) !== 0) return false;
  if (notUnicastHost(readU32(buf, off + IPV4_SRC_OFFSET))) return false;
  if (readU32(buf, off + IPV4_DST_OFFSET) >>> 28 >= 0xe) return false;
  if (buf[off + IPV4_PROTOCOL_OFFSET] === IPPROTO_ICMP) {
    const hlen = (buf[off]! & 0x0f) << 2;
    if (hlen >= readU16(buf, off + IPV4_TOTAL_LENGTH_OFFSET)) return false;
    if (isIcmpError(buf[off + hlen]!)) return false;
  }
  return true;
}

/**
 * writeDestUnreachable builds, in place, an ICMP destination-unreachable (type 3,
 * `code`) from `srcIp` about the IPv4 packet at buf[origOff, origOff+origLen), which
 * the caller has checked (checkIpv4, shouldSendIcmpError). It writes a 20-byte IPv4
 * header (src srcIp, dst the original source, TTL 64, protocol 1, DF clear, ID 0,
 * TOS 0xc0) and the 8-byte ICMP header (next-hop `mtu` in bytes 6-7, for code 4) into
 * buf[origOff-28, origOff), so the original header and the first 8 bytes of its
 * payload follow without a copy; both checksums are computed. Returns the reply's
 * place: start = origOff - 28, length = 28 + min(origLen, IHL*4 + 8).
 * Throws a RangeError when origOff < 28 or the range is not inside buf (programming errors).
 */
export function writeDestUnreachable(
  buf: Uint8Array, origOff: number, origLen: number, srcIp: number, code: number, mtu = 0,
): { start: number; length: number } {
  if (origOff < ICMP_ERROR_PREFIX_LEN) {
    throw new RangeError(`writeDestUnreachable: origOff ${origOff} leaves no room for the ${ICMP_ERROR_PREFIX_LEN}-byte IPv4+ICMP prefix`);
  }
  if (!inBounds(buf, origOff, origLen) || origLen < IPV4_MIN_HEADER_LEN) {
    throw new RangeError(`writeDestUnreachable: original packet at ${origOff} + ${origLen} is not an IPv4 packet inside the buffer of ${buf.length}`);
  }
  const quote = Math.min(origLen, ((buf[origOff]! & 0x0f) << 2) + 8);
  const start = origOff - ICMP_ERROR_PREFIX_LEN;
  const icmpOff = start + IPV4_MIN_HEADER_LEN;
  writeIpv4Header(buf, start, {
    tos: ICMP_ERROR_TOS, totalLength: ICMP_ERROR_PREFIX_LEN + quote, id: 0, df: false, ttl: 64,
    protocol: IPPROTO_ICMP, src: srcIp, dst: readU32(buf, origOff + IPV4_SRC_OFFSET),
  });
  writeIcmpHeader(buf, icmpOff, { type: ICMP_DEST_UNREACH, code, rest: mtu & 0xffff }, ICMP_HEADER_LEN + quote);
  return { start, length: ICMP_ERROR_PREFIX_LEN + quote };
}
