// SPDX-License-Identifier: Apache-2.0
/**
 * The classic libpcap file format (not pcapng), microsecond timestamps.
 *
 *   global header (24 bytes), in the writer's byte order (we write little-endian):
 *   +---------------+-------+-------+---------------+---------------+---------------+---------------+
 *   | magic         | major | minor | thiszone      | sigfigs       | snaplen       | linktype      |
 *   | a1b2c3d4      | 2     | 4     | 0             | 0             | 65535         | 1 / 101 / 228 |
 *   +---------------+-------+-------+---------------+---------------+---------------+---------------+
 *    0               4       6       8               12              16              20
 *
 *   record header (16 bytes), then incl_len bytes of packet data:
 *   +---------------+---------------+---------------+---------------+----------------
 *   | ts_sec        | ts_usec       | incl_len      | orig_len      | data ...
 *   +---------------+---------------+---------------+---------------+----------------
 *    0               4               8               12              16
 *
 * A reader tells the byte order from how the magic reads. incl_len <= snaplen and
 * incl_len <= orig_len. Link types: 1 Ethernet; 101 raw IP (version from the first
 * nibble); 228 raw IPv4 only.
 */

export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_DEFAULT_SNAPLEN = 65535;

export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

export const PCAP_MAGIC_OFFSET = 0;
export const PCAP_VERSION_MAJOR_OFFSET = 4;
export const PCAP_VERSION_MINOR_OFFSET = 6;
export const PCAP_THISZONE_OFFSET = 8;
export const PCAP_SIGFIGS_OFFSET = 12;
export const PCAP_SNAPLEN_OFFSET = 16;
export const PCAP_LINKTYPE_OFFSET = 20;

export const PCAP_TS_SEC_OFFSET = 0;
export const PCAP_TS_USEC_OFFSET = 4;
export const PCAP_INCL_LEN_OFFSET = 8;
export const PCAP_ORIG_LEN_OFFSET = 12;

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_IPV4 = 228;

/** The link types vxtun writes and reads. */
export type PcapLinkType = typeof LINKTYPE_ETHERNET | typeof LINKTYPE_RAW | typeof LINKTYPE_IPV4;

export const PCAP_LINK_TYPES: readonly number[] = [LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4];

export interface PcapGlobalHeader {
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  thiszone: number;
  sigfigs: number;
  snaplen: number;
  linkType: number;
}

/** encodeGlobalHeader returns the 24-byte global header, little-endian, microsecond magic, v2.4, zone 0, sigfigs 0. */
export function encodeGlobalHeader(linkType: number, snaplen: number): Buffer {
  const b = Buffer.alloc(PCAP_GLOBAL_HEADER_LEN);
  b.writeUInt32LE(PCAP_MAGIC_MICROS, PCAP_MAGIC_OFFSET);
  b.writeUInt16LE(PCAP_VERSION_MAJOR, PCAP_VERSION_MAJOR_OFFSET);
  b.writeUInt16LE(PCAP_VERSION_MINOR, PCAP_VERSION_MINOR_OFFSET);
  b.writeInt32LE(0, PCAP_THISZONE_OFFSET);
  b.writeUInt32LE(0, PCAP_SIGFIGS_OFFSET);
  b.writeUInt32LE(snaplen, PCAP_SNAPLEN_OFFSET);
  b.writeUInt32LE(linkType, PCAP_LINKTYPE_OFFSET);
  return b;
}

/**
 * parseGlobalHeader reads a global header from the start of `buf`. Throws an Error
 * naming the problem (too short, nanosecond or unknown magic, version) prefixed with
 * `what` (a file name or 'pcap').
 */
export function parseGlobalHeader(buf: Uint8Array, what: string): PcapGlobalHeader {
  if (buf.length < PCAP_GLOBAL_HEADER_LEN) {
    throw new Error(`${what}: not a pcap file: ${buf.length} bytes, shorter than the ${PCAP_GLOBAL_HEADER_LEN}-byte global header`);
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const le = b.readUInt32LE(PCAP_MAGIC_OFFSET);
  let littleEndian: boolean;
  if (le === PCAP_MAGIC_MICROS) littleEndian = true;
  else if (b.readUInt32BE(PCAP_MAGIC_OFFSET) === PCAP_MAGIC_MICROS) littleEndian = false;
  else if (le === PCAP_MAGIC_NANOS || b.readUInt32BE(PCAP_MAGIC_OFFSET) === PCAP_MAGIC_NANOS) {
    throw new Error(`${what}: nanosecond-resolution pcap (magic 0xa1b23c4d) is not supported`);
  } else {
    throw new Error(`${what}: not a pcap file: magic 0x${b.readUInt32BE(0).toString(16).padStart(8, '0')} (bytes as stored), want a1b2c3d4 in either byte order`);
  }
  const u16 = (o: number): number => (littleEndian ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number): number => (littleEndian ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const h: PcapGlobalHeader = {
    littleEndian,
    versionMajor: u16(PCAP_VERSION_MAJOR_OFFSET),
    versionMinor: u16(PCAP_VERSION_MINOR_OFFSET),
    thiszone: littleEndian ? b.readInt32LE(PCAP_THISZONE_OFFSET) : b.readInt32BE(PCAP_THISZONE_OFFSET),
    sigfigs: u32(PCAP_SIGFIGS_OFFSET),
    snaplen: u32(PCAP_SNAPLEN_OFFSET),
    linkType: u32(PCAP_LINKTYPE_OFFSET),
  };
  if (h.versionMajor !== PCAP_VERSION_MAJOR) {
    throw new Error(`${what}: unsupported pcap version ${h.versionMajor}.${h.versionMinor} (want 2.x)`);
  }
  return h;
}
