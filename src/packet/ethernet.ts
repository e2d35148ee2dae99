// SPDX-License-Identifier: Apache-2.0
/**
 * Ethernet II header (IEEE 802.3 framing with an EtherType), as carried inside VXLAN:
 * no preamble, no VLAN tag, no FCS, no padding to 60 bytes.
 *
 *    0                   6                   12      14
 *   +-------------------+-------------------+-------+----------------
 *   | destination MAC   | source MAC        | type  | payload ...
 *   +-------------------+-------------------+-------+----------------
 *
 * MAC addresses are Uint8Array(6). Bit 0 of the first octet is the I/G
 * (group/multicast) bit; ff:ff:ff:ff:ff:ff is broadcast.
 */
import { Drop, dropReasonName } from './drop.js';
import { inBounds, readU16, writeU16, type Decoded } from './bytes.js';

export const ETH_DST_OFFSET = 0;
export const ETH_SRC_OFFSET = 6;
export const ETH_TYPE_OFFSET = 12;
export const ETH_HEADER_LEN = 14;
export const MAC_LEN = 6;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;

export interface EthernetFields {
  dst: Uint8Array;
  src: Uint8Array;
  type: number;
}

/** Decoded Ethernet header: MACs formatted as formatMac does, plus where the payload starts. */
export interface EthernetInfo {
  dst: string;
  src: string;
  type: number;
  payloadOffset: number;
}

const MAC_RE = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

/**
 * parseMac parses a MAC address written as six two-digit hex octets separated by ':'
 * or '-' (case-insensitive) into a new Uint8Array(6). It is for configuration input:
 * anything else throws an Error that quotes the string.
 */
export function parseMac(s: string): Uint8Array {
  if (typeof s !== 'string' || !MAC_RE.test(s)) {
    throw new Error(`invalid MAC address "${String(s)}": expected six hex octets like 02:aa:00:00:00:01`);
  }
  const mac = new Uint8Array(MAC_LEN);
  for (let i = 0; i < MAC_LEN; i++) mac[i] = parseInt(s.slice(i * 3, i * 3 + 2), 16);
  return mac;
}

/**
 * formatMac returns the six bytes at buf[off, off+6) as lowercase colon-separated hex,
 * as Go's net.HardwareAddr.String() prints them (flannel's VtepMAC format).
 */
export function formatMac(buf: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < MAC_LEN; i++) {
    const b = buf[off + i] ?? 0;
    s += (i === 0 ? '' : ':') + (b < 16 ? '0' : '') + b.toString(16);
  }
  return s;
}

/** writeMac copies the 6-byte `mac` into buf[off, off+6). */
export function writeMac(buf: Uint8Array, off: number, mac: Uint8Array): void {
  for (let i = 0; i < MAC_LEN; i++) buf[off + i] = mac[i]!;
}

/** macEquals reports whether buf[off, off+6) equals `mac`. Allocation-free; the caller guarantees the 6 bytes exist. */
export function macEquals(buf: Uint8Array, off: number, mac: Uint8Array): boolean {
  return buf[off] === mac[0] && buf[off + 1] === mac[1] && buf[off + 2] === mac[2] &&
    buf[off + 3] === mac[3] && buf[off + 4] === mac[4] && buf[off + 5] === mac[5];
}

/**
 * isUnicastMac reports whether the MAC at mac[off, off+6) is usable as a source or a
 * VtepMAC: the I/G (multicast) bit is clear, which also excludes broadcast, and it is
 * not all zero.
 */
export function isUnicastMac(mac: Uint8Array, off = 0): boolean {
  if ((mac[off]! & 0x01) !== 0) return false;
  return (mac[off]! | mac[off + 1]! | mac[off + 2]! | mac[off + 3]! | mac[off + 4]! | mac[off + 5]!) !== 0;
}

/** writeEthernet writes the 14-byte header at buf[off] and returns the offset just past it (off + 14). */
export function writeEthernet(buf: Uint8Array, off: number, fields: EthernetFields): number {
  writeMac(buf, off + ETH_DST_OFFSET, fields.dst);
  writeMac(buf, off + ETH_SRC_OFFSET, fields.src);
  writeU16(buf, off + ETH_TYPE_OFFSET, fields.type);
  return off + ETH_HEADER_LEN;
}

/** checkEthernet returns Drop.truncated when buf[off, off+len) cannot hold a 14-byte header, else 0. */
export function checkEthernet(buf: Uint8Array, off: number, len: number): number {
  if (!inBounds(buf, off, len) || len < ETH_HEADER_LEN) return Drop.truncated;
  return 0;
}

/**
 * checkInnerEthernet validates a frame received inside VXLAN the way the Linux
 * receive path treats it, and returns the first failing reason's code, or 0:
 *   truncated       fewer than 14 bytes
 *   wrong-dst-mac   dst != ourMac (the kernel marks it PACKET_OTHERHOST and IP drops it)
 *   own-src-mac     src == ourMac (the kernel's loop check)
 *   bad-src-mac     src is multicast/broadcast or all zero
 *   not-ipv4        ethertype != 0x0800
 * Allocation-free.
 */
export function checkInnerEthernet(buf: Uint8Array, off: number, len: number, ourMac: Uint8Array): number {
  if (!inBounds(buf, off, len) || len < ETH_HEADER_LEN) return Drop.truncated;
  if (!macEquals(buf, off + ETH_DST_OFFSET, ourMac)) return Drop['wrong-dst-mac'];
  if (macEquals(buf, off + ETH_SRC_OFFSET, ourMac)) return Drop['own-src-mac'];
  if (!isUnicastMac(buf, off + ETH_SRC_OFFSET)) return Drop['bad-src-mac'];
  if (readU16(buf, off + ETH_TYPE_OFFSET) !== ETHERTYPE_IPV4) return Drop['not-ipv4'];
  return 0;
}

/**
 * decodeEthernet returns the header fields of buf[off, off+len) (for tools and tests),
 * or reason 'truncated'. Any ethertype is accepted. Never throws.
 */
export function decodeEthernet(buf: Uint8Array, off: number, len: number): Decoded<EthernetInfo> {
  const code = checkEthernet(buf, off, len);
  if (code !== 0) return { ok: false, reason: dropReasonName(code) };
  return {
    ok: true,
    dst: formatMac(buf, off + ETH_DST_OFFSET),
    src: formatMac(buf, off + ETH_SRC_OFFSET),
    type: readU16(buf, off + ETH_TYPE_OFFSET),
    payloadOffset: off + ETH_HEADER_LEN,
  };
}
