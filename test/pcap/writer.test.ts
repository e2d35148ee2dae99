// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { PcapStreamWriter, PcapWriter, encodeRecord } from '../../src/pcap/writer.js';
import { readPcap, readPcapFile } from '../../src/pcap/reader.js';
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_RAW } from '../../src/pcap/format.js';
import { hexBytes } from '../../src/packet/bytes.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-pcap-writer-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (): string => path.join(dir, `f${n++}.pcap`);

const P1 = Buffer.from('first packet');
const P2 = Buffer.alloc(300, 7);

t.test('a new file: exact global header, then records', async (t) => {
  const f = tmp();
  const w = new PcapWriter(f);
  t.equal(w.appended, false);
  w.writeRecord(P1, 1_700_000_000_123_456n);
  w.close();
  w.close();
  const bytes = readFileSync(f);
  t.same(bytes.subarray(0, 24), hexBytes('d4 c3 b2 a1 02 00 04 00 00 00 00 00 00 00 00 00 ff ff 00 00 01 00 00 00'), 'LE magic, 2.4, zone 0, sigfigs 0, snaplen 65535, linktype 1');
  t.equal(bytes.readUInt32LE(24), 1_700_000_000, 'ts_sec');
  t.equal(bytes.readUInt32LE(28), 123_456, 'ts_usec');
  t.equal(bytes.readUInt32LE(32), P1.length, 'incl_len');
  t.equal(bytes.readUInt32LE(36), P1.length, 'orig_len');
  t.same(bytes.subarray(40), P1);
  t.throws(() => w.writeRecord(P1), /write after close/);
});

t.test('write then read back, every link type', async (t) => {
  for (const linkType of [LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4] as const) {
    const f = tmp();
    const w = new PcapWriter(f, { linkType });
    w.writeRecord(P1, 2_500_000);
    w.writeRecord(P2, 3_000_001n);
    t.equal(w.recordCount, 2);
    w.close();
    const p = readPcapFile(f);
    t.equal(p.linkType, linkType);
    t.equal(p.snaplen, 65535);
    t.match(p.records, [
      { tsSec: 2, tsUsec: 500_000, inclLen: P1.length, origLen: P1.length },
      { tsSec: 3, tsUsec: 1, inclLen: 300, origLen: 300 },
    ]);
    t.same(p.records[0]!.data, P1);
    t.same(p.records[1]!.data, P2);
  }
});

t.test('append keeps one header and all records', async (t) => {
  const f = tmp();
  let w = new PcapWriter(f, { linkType: LINKTYPE_RAW });
  w.writeRecord(P1, 1);
  w.close();
  w = new PcapWriter(f, { linkType: LINKTYPE_RAW });
  t.equal(w.appended, true);
  w.writeRecord(P2, 2);
  w.writeRecord(P1, 3);
  w.close();
  const bytes = readFileSync(f);
  t.equal(bytes.length, 24 + 3 * 16 + P1.length * 2 + P2.length, 'exactly one global header');
  const p = readPcap(bytes);
  t.same(p.records.map((r) => r.tsUsec), [1, 2, 3]);
  t.same(p.records[1]!.data, P2);
});

t.test('an empty existing file gets a header', async (t) => {
  const f = tmp();
  writeFileSync(f, '');
  const w = new PcapWriter(f);
  t.equal(w.appended, false);
  w.writeRecord(P1, 0);
  w.close();
  t.equal(readPcapFile(f).records.length, 1);
});

t.test('refuses to append to a file of another link type, snaplen, or format, naming it', async (t) => {
  const f = tmp();
  new PcapWriter(f, { linkType: LINKTYPE_ETHERNET }).close();
  const before = readFileSync(f);
  t.throws(() => new PcapWriter(f, { linkType: LINKTYPE_RAW }), { message: `cannot append to ${f}: its link type is 1, not 101` });
  t.throws(() => new PcapWriter(f, { snaplen: 1000 }), { message: `cannot append to ${f}: its snaplen is 65535, not 1000` });
  t.same(readFileSync(f), before, 'the file is untouched');

  const text = tmp();
  writeFileSync(text, 'this is not a capture, just text\n');
  t.throws(() => new PcapWriter(text), { message: new RegExp(`^cannot append to ${text}: not a pcap file: magic`) });
  const short = tmp();
  writeFileSync(short, 'abc');
  t.throws(() => new PcapWriter(short), { message: new RegExp(`^cannot append to ${short}: not a pcap file: 3 bytes`) });
  t.equal(readFileSync(short, 'latin1'), 'abc', 'untouched');
  t.throws(() => new PcapWriter(tmp(), { linkType: 113 as never }), RangeError);
  t.throws(() => new PcapWriter(tmp(), { snaplen: 0 }), RangeError);
});

t.test('appends to a big-endian file in its byte order', async (t) => {
  const f = tmp();
  writeFileSync(f, hexBytes('a1 b2 c3 d4 00 02 00 04 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 65'));
  const w = new PcapWriter(f, { linkType: LINKTYPE_RAW });
  t.equal(w.snaplen, 256, 'the file\'s snaplen is kept');
  w.writeRecord(P2, 5_000_006);
  w.close();
  const p = readPcapFile(f);
  t.equal(p.littleEndian, false);
  t.match(p.records, [{ tsSec: 5, tsUsec: 6, inclLen: 256, origLen: 300 }]);
});

t.test('snaplen truncation and origLen', async (t) => {
  const f = tmp();
  const w = new PcapWriter(f, { snaplen: 100 });
  w.writeRecord(P2, 0);
  w.writeRecord(P1, 0, 1500);
  w.writeRecord(P2.subarray(0, 100), 0);
  w.close();
  const p = readPcapFile(f);
  t.equal(p.snaplen, 100);
  t.match(p.records, [
    { inclLen: 100, origLen: 300 },
    { inclLen: P1.length, origLen: 1500 },
    { inclLen: 100, origLen: 100 },
  ]);
  t.same(p.records[0]!.data, P2.subarray(0, 100));
  t.throws(() => encodeRecord(P1, 0, P1.length - 1, 65535), RangeError, 'origLen below the data given');
  t.throws(() => encodeRecord(P1, -1, undefined, 65535), RangeError);
  t.throws(() => encodeRecord(P1, -1n, undefined, 65535), RangeError);
  t.throws(() => encodeRecord(P1, 2n ** 33n * 1_000_000n, undefined, 65535), RangeError);
  const now = Date.now() / 1000;
  const rec = encodeRecord(P1, undefined, undefined, 65535);
  t.ok(Math.abs(rec.readUInt32LE(0) - now) < 600, 'default timestamp is the wall clock');
});

t.test('PcapStreamWriter: header then records', async (t) => {
  const s = new PassThrough();
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  const w = new PcapStreamWriter(s, { linkType: LINKTYPE_RAW, snaplen: 200 });
  const reused = Buffer.from(P1);
  t.equal(w.writeRecord(reused, 10n), true);
  reused.fill(0);
  w.writeRecord(P2, 11n);
  await w.close();
  await w.close();
  t.throws(() => w.writeRecord(P1), /write after close/);
  const p = readPcap(Buffer.concat(chunks));
  t.equal(p.linkType, LINKTYPE_RAW);
  t.equal(p.snaplen, 200);
  t.same(p.records[0]!.data, P1, 'the record was copied before the caller reused its buffer');
  t.match(p.records[1], { inclLen: 200, origLen: 300, tsUsec: 11 });
  t.ok(s.writableEnded, 'end: true (default) ends the stream');

  const keep = new PassThrough();
  keep.resume();
  const w2 = new PcapStreamWriter(keep, { end: false });
  await w2.close();
  t.notOk(keep.writableEnded, 'end: false leaves the stream open (process.stdout)');
});
