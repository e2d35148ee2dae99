// SPDX-License-Identifier: Apache-2.0
/**
 * VXLAN header (RFC 7348), the 8 bytes at the start of the UDP payload, followed by
 * the inner Ethernet frame.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-----------------------------------------------+
 *   |R|R|R|R|I|R|R|R|                   Reserved                    |  0
 *   +-+-+-+-+-+-+-+-+-------------------------------+---------------+
 *   |       VXLAN Network Identifier (VNI)          |   Reserved    |  4
 *   +-----------------------------------------------+---------------+
 *
 * On the wire as flannel's kernel VTEP sends it: 08 00 00 00 | VNI (24-bit BE) | 00.
 *
 * Receive rules follow Linux vxlan_rcv (without GBP), not the RFC: the RFC says to
 * ignore reserved bits, but Linux drops a packet whose I flag is missing, whose other
 * flag bits are set, or whose reserved bytes are not zero. Our checks do the same so
 * that we accept exactly what a kernel flannel node accepts.
 *
 * Outer overhead of VXLAN over IPv4 (flannel's MTU = underlay MTU - 50):
 *   20 (outer IPv4) + 8 (UDP) + 8 (VXLAN) + 14 (inner Ethernet) = 50.
 */
import { Drop, dropReasonName, type DropReason } from './drop.js';
import { inBounds } from './bytes.js';

export const VXLAN_FLAGS_OFFSET = 0;
export const VXLAN_RESERVED1_OFFSET = 1;
export const VXLAN_VNI_OFFSET = 4;
export const VXLAN_RESERVED2_OFFSET = 7;
export const VXLAN_HEADER_LEN = 8;

/** The I flag: "the VNI is valid". The only flag bit a non-GBP Linux receiver accepts. */
export const VXLAN_FLAG_I = 0x08;
export const VXLAN_VNI_MAX = 0xffffff;

/** Linux's default VXLAN UDP port, used by flannel (IANA's 4789 is not the default here). */
export const VXLAN_PORT_DEFAULT = 8472;
/** Bytes VXLAN adds in front of an inner IPv4 packet: 20 + 8 + 8 + 14. */
export const VXLAN_OVERHEAD = 50;

export interface VxlanInfo {
  /** Byte 0. */
  flags: number;
  /** Bytes 1-3 as a 24-bit number. */
  reserved1: number;
  vni: number;
  /** Byte 7. */
  reserved2: number;
}

/**
 * Result of decodeVxlan. Unlike other decoders a failure still carries the header's
 * fields when the 8 bytes were present, so a tool can show what was wrong.
 */
export type DecodedVxlan = ({ ok: true } & VxlanInfo) | ({ ok: false; reason: DropReason } & Partial<VxlanInfo>);

/**
 * writeVxlan writes exactly 08 00 00 00 | VNI | 00 at buf[off, off+8) and returns the
 * offset just past it (off + 8). Throws a RangeError if vni is not an integer in
 * 0..2^24-1 (a programming error; configuration is validated earlier).
 */
export function writeVxlan(buf: Uint8Array, off: number, vni: number): number {
  if (!(vni >= 0 && vni <= VXLAN_VNI_MAX && (vni | 0) === vni)) {
    throw new RangeError(`VXLAN VNI ${vni} must be an integer in 0..${VXLAN_VNI_MAX}`);
  }
  buf[off] = VXLAN_FLAG_I;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf[off + 4] = vni >>> 16;
  buf[off + 5] = (vni >>> 8) & 0xff;
  buf[off + 6] = vni & 0xff;
  buf[off + 7] = 0;
  return off + VXLAN_HEADER_LEN;
}

/** readVni returns the 24-bit VNI of the header at buf[off]; the caller guarantees 8 bytes. */
export function readVni(buf: Uint8Array, off: number): number {
  return (buf[off + VXLAN_VNI_OFFSET]! << 16) | (buf[off + VXLAN_VNI_OFFSET + 1]! << 8) | buf[off + VXLAN_VNI_OFFSET + 2]!;
}

/**
 * checkVxlan validates the VXLAN header at the start of buf[off, off+len) (the UDP
 * payload) as Linux vxlan_rcv would for a device with VNI `vni`, and returns the
 * first failing reason's code, or 0. Allocation-free.
 *   truncated       len < 8 (or the range is not inside buf)
 *   bad-flags       byte 0 != 0x08 (I flag missing or any other flag bit set)
 *   reserved-bits   any of bytes 1-3 or byte 7 non-zero
 *   wrong-vni       VNI != vni
 */
export function checkVxlan(buf: Uint8Array, off: number, len: number, vni: number): number {
  if (!inBounds(buf, off, len) || len < VXLAN_HEADER_LEN) return Drop.truncated;
  if (buf[off + VXLAN_FLAGS_OFFSET] !== VXLAN_FLAG_I) return Drop['bad-flags'];
  const r1 = off + VXLAN_RESERVED1_OFFSET;
  if ((buf[r1]! | buf[r1 + 1]! | buf[r1 + 2]! | buf[off + VXLAN_RESERVED2_OFFSET]!) !== 0) return Drop['reserved-bits'];
  if (readVni(buf, off) !== vni) return Drop['wrong-vni'];
  return 0;
}

/**
 * decodeVxlan returns the header fields of buf[off, off+len). With `vni` given the
 * VNI must match it, as in checkVxlan; without it any VNI is accepted. On failure the
 * result carries the reason and, unless truncated, the fields. Never throws.
 */
export function decodeVxlan(buf: Uint8Array, off: number, len: number, vni?: number): DecodedVxlan {
  if (!inBounds(buf, off, len) || len < VXLAN_HEADER_LEN) return { ok: false, reason: 'truncated' };
  const fields: VxlanInfo = {
    flags: buf[off + VXLAN_FLAGS_OFFSET]!,
    reserved1: (buf[off + VXLAN_RESERVED1_OFFSET]! << 16) | (buf[off + VXLAN_RESERVED1_OFFSET + 1]! << 8) | buf[off + VXLAN_RESERVED1_OFFSET + 2]!,
    vni: readVni(buf, off),
    reserved2: buf[off + VXLAN_RESERVED2_OFFSET]!,
  };
  const code = checkVxlan(buf, off, len, vni ?? fields.vni);
  if (code !== 0) return { ok: false, reason: dropReasonName(code), ...fields };
  return { ok: true, ...fields };
}
