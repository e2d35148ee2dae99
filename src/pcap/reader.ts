// SPDX-License-Identifier: Apache-2.0
/**
 * A strict reader for classic microsecond pcap files (format in format.ts), in either
 * byte order, for our own tests and tools. It loads the whole file: captures we read
 * are small. Unlike the codecs it throws: a corrupt file is an error, and the message
 * names the record, its offset and what is wrong.
 *
 *   file:  | global header (24) | rec hdr (16) | data (incl_len) | rec hdr (16) | data | ...
 */
import { readFileSync } from 'node:fs';
import {
  parseGlobalHeader, PCAP_GLOBAL_HEADER_LEN, PCAP_INCL_LEN_OFFSET, PCAP_LINK_TYPES, PCAP_ORIG_LEN_OFFSET,
  PCAP_RECORD_HEADER_LEN, PCAP_TS_SEC_OFFSET, PCAP_TS_USEC_OFFSET,
} from './format.js';

export interface PcapRecord {
  tsSec: number;
  tsUsec: number;
  inclLen: number;
  origLen: number;
  /** The captured bytes: a view into the buffer given to readPcap (not a copy). */
  data: Buffer;
}

export interface PcapFile {
  linkType: number;
  snaplen: number;
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  records: PcapRecord[];
}

/**
 * readPcap parses a whole pcap file held in `buffer`. Accepts link types 1 (Ethernet),
 * 101 (raw IP) and 228 (raw IPv4). Throws an Error prefixed with `name` (default
 * 'pcap') naming the problem: a short or unknown global header, an unsupported link
 * type, a truncated record header or data, incl_len > orig_len, incl_len > snaplen,
 * or ts_usec >= 1,000,000.
 */
export function readPcap(buffer: Uint8Array, name = 'pcap'): PcapFile {
  const h = parseGlobalHeader(buffer, name);
  if (!PCAP_LINK_TYPES.includes(h.linkType)) {
    throw new Error(`${name}: unsupported link type ${h.linkType} (want 1, 101 or 228)`);
  }
  const b = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.length);
  const u32 = (o: number): number => (h.littleEndian ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const records: PcapRecord[] = [];
  let off = PCAP_GLOBAL_HEADER_LEN;
  while (off < b.length) {
    const where = `${name}: record ${records.length} at offset ${off}`;
    if (b.length - off < PCAP_RECORD_HEADER_LEN) {
      throw new Error(`${where}: record header truncated (${b.length - off} of ${PCAP_RECORD_HEADER_LEN} bytes)`);
    }
    const tsSec = u32(off + PCAP_TS_SEC_OFFSET);
    const tsUsec = u32(off + PCAP_TS_USEC_OFFSET);
    const inclLen = u32(off + PCAP_INCL_LEN_OFFSET);
    const origLen = u32(off + PCAP_ORIG_LEN_OFFSET);
    if (tsUsec >= 1_000_000) throw new Error(`${where}: ts_usec ${tsUsec} is not below 1000000`);
    if (inclLen > origLen) throw new Error(`${where}: incl_len ${inclLen} exceeds orig_len ${origLen}`);
    if (h.snaplen > 0 && inclLen > h.snaplen) throw new Error(`${where}: incl_len ${inclLen} exceeds snaplen ${h.snaplen}`);
    const start = off + PCAP_RECORD_HEADER_LEN;
    if (b.length - start < inclLen) {
      throw new Error(`${where}: data truncated (${b.length - start} of ${inclLen} bytes)`);
    }
    records.push({ tsSec, tsUsec, inclLen, origLen, data: b.subarray(start, start + inclLen) });
    off = start + inclLen;
  }
  return {
    linkType: h.linkType,
    snaplen: h.snaplen,
    littleEndian: h.littleEndian,
    versionMajor: h.versionMajor,
    versionMinor: h.versionMinor,
    records,
  };
}

/** readPcapFile reads and parses the pcap file at `path`; errors name the path (see readPcap). */
export function readPcapFile(path: string): PcapFile {
  return readPcap(readFileSync(path), path);
}
