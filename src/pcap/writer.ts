// SPDX-License-Identifier: Apache-2.0
/**
 * Classic pcap writers (format in format.ts): PcapWriter appends to a file with
 * synchronous writes; PcapStreamWriter writes to a Node Writable such as
 * process.stdout (e.g. `vxtun ... | tshark -r -`).
 *
 * PcapWriter is append-safe: opening a file that already holds a pcap header checks
 * the header (magic, link type, snaplen) and appends records in that file's byte
 * order without a second header; an empty or new file gets a header first. Each
 * record (header + data) goes to the kernel in one write(2) on an O_APPEND fd, so
 * records are never interleaved with another appender's. Two writers that create the
 * same new file at the same moment could both write a header: don't.
 *
 * The writes are synchronous (fs.writeSync) on purpose: capture is a debugging aid
 * and a record must be on disk when writeRecord returns, even if the process dies
 * right after. Keep it off the hot path, or sample.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import {
  encodeGlobalHeader, parseGlobalHeader, PCAP_DEFAULT_SNAPLEN, PCAP_GLOBAL_HEADER_LEN, PCAP_INCL_LEN_OFFSET,
  PCAP_LINK_TYPES, PCAP_ORIG_LEN_OFFSET, PCAP_RECORD_HEADER_LEN, PCAP_TS_SEC_OFFSET, PCAP_TS_USEC_OFFSET,
  LINKTYPE_ETHERNET, type PcapLinkType,
} from './format.js';

export interface PcapWriterOptions {
  /** LINKTYPE_ETHERNET (1, default), LINKTYPE_RAW (101) or LINKTYPE_IPV4 (228). */
  linkType?: PcapLinkType;
  /** Bytes kept per record (default 65535); longer packets are truncated, keeping orig_len. */
  snaplen?: number;
}

function checkOptions(o: PcapWriterOptions): { linkType: number; snaplen: number } {
  const linkType = o.linkType ?? LINKTYPE_ETHERNET;
  const snaplen = o.snaplen ?? PCAP_DEFAULT_SNAPLEN;
  if (!PCAP_LINK_TYPES.includes(linkType)) throw new RangeError(`pcap: unsupported link type ${linkType} (want 1, 101 or 228)`);
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0x7fffffff) throw new RangeError(`pcap: snaplen ${snaplen} must be a positive integer`);
  return { linkType, snaplen };
}

/** nowMicros returns the wall-clock time in microseconds since the Unix epoch. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * encodeRecord returns a record (16-byte header + data truncated to snaplen) in the
 * given byte order. timestampMicros counts microseconds since the epoch (default:
 * now); origLen is the packet's length on the wire (default data.length; it may not be
 * less). Throws a RangeError on a negative or out-of-range timestamp or origLen.
 */
export function encodeRecord(
  data: Uint8Array, timestampMicros: bigint | number | undefined, origLen: number | undefined, snaplen: number, littleEndian = true,
): Buffer {
  const ts = timestampMicros ?? nowMicros();
  let sec: number;
  let usec: number;
  if (typeof ts === 'bigint') {
    if (ts < 0n) throw new RangeError(`pcap: negative timestamp ${ts}`);
    sec = Number(ts / 1_000_000n);
    usec = Number(ts % 1_000_000n);
  } else {
    if (!Number.isFinite(ts) || ts < 0) throw new RangeError(`pcap: timestamp ${ts} must be a non-negative number of microseconds`);
    sec = Math.floor(ts / 1e6);
    usec = Math.floor(ts - sec * 1e6);
  }
  if (sec > 0xffffffff) throw new RangeError(`pcap: timestamp ${ts} is beyond 2106`);
  const orig = origLen ?? data.length;
  if (!Number.isInteger(orig) || orig < data.length || orig > 0xffffffff) {
    throw new RangeError(`pcap: origLen ${orig} must be an integer >= the ${data.length} bytes given`);
  }
  const incl = Math.min(data.length, snaplen);
  const rec = Buffer.alloc(PCAP_RECORD_HEADER_LEN + incl);
  const w = (v: number, o: number): void => void (littleEndian ? rec.writeUInt32LE(v, o) : rec.writeUInt32BE(v, o));
  w(sec, PCAP_TS_SEC_OFFSET);
  w(usec, PCAP_TS_USEC_OFFSET);
  w(incl, PCAP_INCL_LEN_OFFSET);
  w(orig, PCAP_ORIG_LEN_OFFSET);
  rec.set(data.subarray(0, incl), PCAP_RECORD_HEADER_LEN);
  return rec;
}

function writeAll(fd: number, buf: Uint8Array): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
}

/** PcapWriter appends pcap records to a file with synchronous writes (see the module comment). */
export class PcapWriter {
  readonly path: string;
  readonly linkType: number;
  readonly snaplen: number;
  /** True when the file already had a valid header and records are being appended to it. */
  readonly appended: boolean;
  #fd: number | undefined;
  #littleEndian = true;
  #records = 0;

  /**
   * Opens (creating if needed) `path` for appending. Throws an Error naming the file if
   * it is non-empty and not a microsecond pcap, or its link type (or an explicitly given
   * snaplen) differs; an existing file's snaplen is kept when none is given.
   */
  constructor(path: string, options: PcapWriterOptions = {}) {
    const { linkType, snaplen } = checkOptions(options);
    this.path = path;
    this.linkType = linkType;
    const fd = openSync(path, 'a+');
    try {
      const size = fstatSync(fd).size;
      if (size > 0) {
        const head = Buffer.alloc(Math.min(size, PCAP_GLOBAL_HEADER_LEN));
        readSync(fd, head, 0, head.length, 0);
        const h = parseGlobalHeader(head, `cannot append to ${path}`);
        if (h.linkType !== linkType) {
          throw new Error(`cannot append to ${path}: its link type is ${h.linkType}, not ${linkType}`);
        }
        if (options.snaplen !== undefined && h.snaplen !== options.snaplen) {
          throw new Error(`cannot append to ${path}: its snaplen is ${h.snaplen}, not ${options.snaplen}`);
        }
        this.snaplen = h.snaplen;
        this.#littleEndian = h.littleEndian;
        this.appended = true;
      } else {
        writeAll(fd, encodeGlobalHeader(linkType, snaplen));
        this.snaplen = snaplen;
        this.appended = false;
      }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.#fd = fd;
  }

  /** Records written by this writer (not counting ones already in the file). */
  get recordCount(): number {
    return this.#records;
  }

  /** writeRecord appends one packet (see encodeRecord for the arguments). Throws after close(). */
  writeRecord(data: Uint8Array, timestampMicros?: bigint | number, origLen?: number): void {
    if (this.#fd === undefined) throw new Error(`pcap ${this.path}: write after close`);
    writeAll(this.#fd, encodeRecord(data, timestampMicros, origLen, this.snaplen, this.#littleEndian));
    this.#records++;
  }

  /** close closes the file. Idempotent. */
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    closeSync(fd);
  }
}

/**
 * PcapStreamWriter writes a little-endian pcap (header first, at construction) to a
 * Writable. Records are copied, so the caller may reuse its buffer at once.
 */
export class PcapStreamWriter {
  readonly linkType: number;
  readonly snaplen: number;
  #stream: Writable | undefined;
  readonly #end: boolean;

  /** `end` (default true): whether close() ends the stream; pass false for process.stdout. */
  constructor(stream: Writable, options: PcapWriterOptions & { end?: boolean } = {}) {
    const { linkType, snaplen } = checkOptions(options);
    this.linkType = linkType;
    this.snaplen = snaplen;
    this.#end = options.end ?? true;
    this.#stream = stream;
    stream.write(encodeGlobalHeader(linkType, snaplen));
  }

  /** writeRecord writes one packet; returns stream.write's result (false: wait for 'drain'). Throws after close(). */
  writeRecord(data: Uint8Array, timestampMicros?: bigint | number, origLen?: number): boolean {
    if (!this.#stream) throw new Error('pcap stream: write after close');
    return this.#stream.write(encodeRecord(data, timestampMicros, origLen, this.snaplen));
  }

  /** close stops writing and, if `end`, ends the stream; resolves once it has finished. Idempotent. */
  close(): Promise<void> {
    const s = this.#stream;
    this.#stream = undefined;
    if (!s || !this.#end) return Promise.resolve();
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      s.end(() => resolve());
    });
  }
}
