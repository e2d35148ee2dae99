// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readPcap, readPcapFile } from '../../src/pcap/reader.js';
import { encodeGlobalHeader, parseGlobalHeader, LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_RAW } from '../../src/pcap/format.js';
import { encodeRecord } from '../../src/pcap/writer.js';
import { hexBytes } from '../../src/packet/bytes.js';

/** A big-endian file, as a big-endian host's libpcap writes it: raw IP, snaplen 96, one 4-byte record. */
const BIG_ENDIAN = hexBytes(`
  a1 b2 c3 d4 00 02 00 04 ff ff ff c4 00 00 00 00 00 00 00 60 00 00 00 65
  00 00 00 0a 00 00 00 0b 00 00 00 04 00 00 05 dc de ad be ef`);

function file(linkType: number, ...records: Buffer[]): Buffer {
  return Buffer.concat([encodeGlobalHeader(linkType, 65535), ...records]);
}

t.test('reads both byte orders', async (t) => {
  const be = readPcap(BIG_ENDIAN);
  t.match(be, { linkType: LINKTYPE_RAW, snaplen: 96, littleEndian: false, versionMajor: 2, versionMinor: 4 });
  t.match(be.records, [{ tsSec: 10, tsUsec: 11, inclLen: 4, origLen: 1500 }]);
  t.same(be.records[0]!.data, hexBytes('de ad be ef'));
  t.equal(parseGlobalHeader(BIG_ENDIAN, 'x').thiszone, -60, 'thiszone is signed');

  const le = readPcap(file(LINKTYPE_IPV4, encodeRecord(Buffer.from([1, 2, 3]), 7, 9, 65535)));
  t.match(le, { linkType: LINKTYPE_IPV4, littleEndian: true });
  t.match(le.records, [{ tsSec: 0, tsUsec: 7, inclLen: 3, origLen: 9 }]);
  t.same(readPcap(file(LINKTYPE_ETHERNET)).records, [], 'a header alone is an empty capture');
});

t.test('records are views into the input', async (t) => {
  const buf = file(LINKTYPE_RAW, encodeRecord(Buffer.from([1, 2, 3]), 0, undefined, 65535));
  const p = readPcap(buf);
  buf[buf.length - 1] = 9;
  t.equal(p.records[0]!.data[2], 9);
});

t.test('corrupt files throw errors that name the problem', async (t) => {
  const rec = encodeRecord(Buffer.alloc(10, 1), 0, undefined, 65535);
  const withRec = (patch: (r: Buffer) => void): Buffer => {
    const r = Buffer.from(rec);
    patch(r);
    return file(LINKTYPE_ETHERNET, r);
  };
  const nanos = encodeGlobalHeader(1, 65535);
  nanos.writeUInt32LE(0xa1b23c4d, 0);
  const v1 = encodeGlobalHeader(1, 65535);
  v1.writeUInt16LE(1, 4);
  const snap = Buffer.concat([encodeGlobalHeader(1, 5), rec]);
  const cases: [string, Buffer, RegExp][] = [
    ['short header', Buffer.alloc(23), /^pcap: not a pcap file: 23 bytes, shorter than the 24-byte global header$/],
    ['pcapng', hexBytes('0a 0d 0d 0a 1c 00 00 00 4d 3c 2b 1a 01 00 00 00 ff ff ff ff ff ff ff ff'), /not a pcap file: magic 0x0a0d0d0a/],
    ['nanosecond', nanos, /nanosecond-resolution pcap/],
    ['version 1', v1, /unsupported pcap version 1\.4/],
    ['link type 113', file(113), /unsupported link type 113/],
    ['record header cut', file(1, rec.subarray(0, 10)), /^pcap: record 0 at offset 24: record header truncated \(10 of 16 bytes\)$/],
    ['data cut', file(1, rec, rec.subarray(0, 20)), /^pcap: record 1 at offset 50: data truncated \(4 of 10 bytes\)$/],
    ['incl > orig', withRec((r) => r.writeUInt32LE(5, 12)), /incl_len 10 exceeds orig_len 5/],
    ['incl > snaplen', snap, /incl_len 10 exceeds snaplen 5/],
    ['usec', withRec((r) => r.writeUInt32LE(1_000_000, 4)), /ts_usec 1000000 is not below 1000000/],
  ];
  for (const [name, bytes, msg] of cases) t.throws(() => readPcap(bytes), { message: msg }, name);
});

t.test('readPcapFile names the path', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-pcap-reader-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'broken.pcap');
  writeFileSync(f, 'nope');
  t.throws(() => readPcapFile(f), { message: `${f}: not a pcap file: 4 bytes, shorter than the 24-byte global header` });
  const g = path.join(dir, 'ok.pcap');
  writeFileSync(g, BIG_ENDIAN);
  t.equal(readPcapFile(g).records.length, 1);
});
