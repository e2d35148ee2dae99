// SPDX-License-Identifier: Apache-2.0
/**
 * IPv4 header (RFC 791), options and fragment fields recognised.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-------+-------+-----------+---+-------------------------------+
 *   |Version|  IHL  |   DSCP    |ECN|          Total Length         |  0
 *   +-------+-------+-----------+---+-----+-------------------------+
 *   |         Identification        |0|D|M|     Fragment Offset     |  4
 *   +---------------+---------------+-----+-------------------------+
 *   |      TTL      |   Protocol    |        Header Checksum        |  8
 *   +---------------+---------------+-------------------------------+
 *   |                        Source Address                         | 12
 *   +---------------------------------------------------------------+
 *   |                     Destination Address                       | 16
 *   +---------------------------------------------------------------+
 *   |                 Options (IHL*4 - 20 bytes) ...                | 20
 *   +---------------------------------------------------------------+
 *
 * Addresses are uint32 in host order (10.244.1.2 = 0x0af40102). The fragment offset
 * is in 8-byte units, as on the wire. A packet may carry bytes after Total Length
 * (link padding): that is valid, and the caller trims to Total Length.
 */
import { Drop, dropReasonName } from './drop.js';
import { inBounds, readU16, readU32, writeU16, writeU32, type Decoded } from './bytes.js';
import { ipv4HeaderChecksum } from './checksum.js';

export const IPV4_VERSION_IHL_OFFSET = 0;
export const IPV4_TOS_OFFSET = 1;
export const IPV4_TOTAL_LENGTH_OFFSET = 2;
export const IPV4_ID_OFFSET = 4;
export const IPV4_FLAGS_FRAGMENT_OFFSET = 6;
export const IPV4_TTL_OFFSET = 8;
export const IPV4_PROTOCOL_OFFSET = 9;
export const IPV4_CHECKSUM_OFFSET = 10;
export const IPV4_SRC_OFFSET = 12;
export const IPV4_DST_OFFSET = 16;
export const IPV4_OPTIONS_OFFSET = 20;
export const IPV4_MIN_HEADER_LEN = 20;
export const IPV4_MAX_HEADER_LEN = 60;

export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_FRAGMENT_OFFSET_MASK = 0x1fff;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export interface Ipv4HeaderFields {
  /** The whole TOS byte (DSCP << 2 | ECN); default 0. */
  tos?: number;
  /** Header plus payload, in bytes. */
  totalLength: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  /** In 8-byte units (0..8191); default 0. */
  fragmentOffset?: number;
  /** Default 64. */
  ttl?: number;
  protocol: number;
  src: number;
  dst: number;
  /** Option bytes, already padded: length a multiple of 4, at most 40. */
  options?: Uint8Array;
}

export interface Ipv4Info {
  version: number;
  ihl: number;
  headerLength: number;
  tos: number;
  dscp: number;
  ecn: number;
  totalLength: number;
  id: number;
  /** The 3 flag bits (reserved, DF, MF) as a number 0..7. */
  flags: number;
  df: boolean;
  mf: boolean;
  fragmentOffset: number;
  isFragment: boolean;
  ttl: number;
  protocol: number;
  headerChecksum: number;
  src: number;
  dst: number;
  /** Absolute offset in the buffer of the first option byte, and the options' length (0 when none). */
  optionsOffset: number;
  optionsLength: number;
  /** Absolute offset of the payload, and its length (totalLength - headerLength). */
  payloadOffset: number;
  payloadLength: number;
}

/**
 * writeIpv4Header writes an IPv4 header at buf[off] (20 bytes plus options) with
 * version 4, the IHL implied by the options, and a freshly computed header checksum;
 * returns the offset just past the header. Field values are masked to their widths.
 * Throws a RangeError if options are not a multiple of 4 bytes or exceed 40 (a
 * programming error, not packet input).
 */
export function writeIpv4Header(buf: Uint8Array, off: number, f: Ipv4HeaderFields): number {
  const optLen = f.options?.length ?? 0;
  if (optLen % 4 !== 0 || optLen > IPV4_MAX_HEADER_LEN - IPV4_MIN_HEADER_LEN) {
    throw new RangeError(`IPv4 options must be a multiple of 4 bytes and at most 40, got ${optLen}`);
  }
  const hlen = IPV4_MIN_HEADER_LEN + optLen;
  buf[off + IPV4_VERSION_IHL_OFFSET] = 0x40 | (hlen >>> 2);
  buf[off + IPV4_TOS_OFFSET] = (f.tos ?? 0) & 0xff;
  writeU16(buf, off + IPV4_TOTAL_LENGTH_OFFSET, f.totalLength);
  writeU16(buf, off + IPV4_ID_OFFSET, f.id ?? 0);
  const flagsFrag = (f.df ? IPV4_FLAG_DF : 0) | (f.mf ? IPV4_FLAG_MF : 0) | ((f.fragmentOffset ?? 0) & IPV4_FRAGMENT_OFFSET_MASK);
  writeU16(buf, off + IPV4_FLAGS_FRAGMENT_OFFSET, flagsFrag);
  buf[off + IPV4_TTL_OFFSET] = (f.ttl ?? 64) & 0xff;
  buf[off + IPV4_PROTOCOL_OFFSET] = f.protocol & 0xff;
  writeU16(buf, off + IPV4_CHECKSUM_OFFSET, 0);
  writeU32(buf, off + IPV4_SRC_OFFSET, f.src);
  writeU32(buf, off + IPV4_DST_OFFSET, f.dst);
  if (f.options) buf.set(f.options, off + IPV4_OPTIONS_OFFSET);
  writeU16(buf, off + IPV4_CHECKSUM_OFFSET, ipv4HeaderChecksum(buf, off));
  return off + hlen;
}

/**
 * checkIpv4 validates the IPv4 packet in buf[off, off+len) and returns the first
 * failing reason's code, or 0. Allocation-free.
 *   truncated            len < 20 (or the range is not inside buf)
 *   not-ipv4             version != 4
 *   bad-ihl              IHL < 5, or IHL*4 > len
 *   bad-total-length     Total Length < IHL*4, or > len
 *   bad-header-checksum  the header does not sum to 0xffff
 */
export function checkIpv4(buf: Uint8Array, off: number, len: number): number {
  if (!inBounds(buf, off, len) || len < IPV4_MIN_HEADER_LEN) return Drop.truncated;
  const vihl = buf[off]!;
  if (vihl >>> 4 !== 4) return Drop['not-ipv4'];
  const hlen = (vihl & 0x0f) << 2;
  if (hlen < IPV4_MIN_HEADER_LEN || hlen > len) return Drop['bad-ihl'];
  const total = readU16(buf, off + IPV4_TOTAL_LENGTH_OFFSET);
  if (total < hlen || total > len) return Drop['bad-total-length'];
  if (ipv4HeaderChecksum(buf, off) !== 0) return Drop['bad-header-checksum'];
  return 0;
}

/** ipv4Src returns the source address (uint32) of the header at buf[off]; the caller checked the header. */
export function ipv4Src(buf: Uint8Array, off: number): number {
  return readU32(buf, off + IPV4_SRC_OFFSET);
}

/** ipv4Dst returns the destination address (uint32) of the header at buf[off]; the caller checked the header. */
export function ipv4Dst(buf: Uint8Array, off: number): number {
  return readU32(buf, off + IPV4_DST_OFFSET);
}

/**
 * decodeIpv4 returns every header field of the packet in buf[off, off+len) when
 * checkIpv4 accepts it, else the reason. For tools and tests; never throws.
 */
export function decodeIpv4(buf: Uint8Array, off: number, len: number): Decoded<Ipv4Info> {
  const code = checkIpv4(buf, off, len);
  if (code !== 0) return { ok: false, reason: dropReasonName(code) };
  const ihl = buf[off]! & 0x0f;
  const headerLength = ihl << 2;
  const tos = buf[off + IPV4_TOS_OFFSET]!;
  const totalLength = readU16(buf, off + IPV4_TOTAL_LENGTH_OFFSET);
  const ff = readU16(buf, off + IPV4_FLAGS_FRAGMENT_OFFSET);
  const fragmentOffset = ff & IPV4_FRAGMENT_OFFSET_MASK;
  const mf = (ff & IPV4_FLAG_MF) !== 0;
  return {
    ok: true,
    version: 4,
    ihl,
    headerLength,
    tos,
    dscp: tos >>> 2,
    ecn: tos & 0x03,
    totalLength,
    id: readU16(buf, off + IPV4_ID_OFFSET),
    flags: ff >>> 13,
    df: (ff & IPV4_FLAG_DF) !== 0,
    mf,
    fragmentOffset,
    isFragment: mf || fragmentOffset !== 0,
    ttl: buf[off + IPV4_TTL_OFFSET]!,
    protocol: buf[off + IPV4_PROTOCOL_OFFSET]!,
    headerChecksum: readU16(buf, off + IPV4_CHECKSUM_OFFSET),
    src: ipv4Src(buf, off),
    dst: ipv4Dst(buf, off),
    optionsOffset: off + IPV4_OPTIONS_OFFSET,
    optionsLength: headerLength - IPV4_MIN_HEADER_LEN,
    payloadOffset: off + headerLength,
    payloadLength: totalLength - headerLength,
  };
}

/** ipToString formats a uint32 (host order) as a dotted quad: 0x0af40102 → '10.244.1.2'. */
export function ipToString(ip: number): string {
  return `${(ip >>> 24) & 0xff}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_RE = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/**
 * parseIpv4 parses a dotted-quad IPv4 address into a uint32 (host order). Octets are
 * decimal 0..255 without leading zeros (as Go's net.ParseIP since 1.17). It is for
 * configuration input: anything else throws an Error that quotes the string.
 */
export function parseIpv4(s: string): number {
  const m = typeof s === 'string' ? IPV4_RE.exec(s) : null;
  if (!m) throw new Error(`invalid IPv4 address "${String(s)}": expected a dotted quad like 10.244.1.2`);
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}
