// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { hexBytes, inBounds, readU16, readU32, writeU16, writeU32 } from '../../src/packet/bytes.js';

t.test('big-endian reads and writes', async (t) => {
  const b = new Uint8Array(8);
  writeU16(b, 1, 0xabcd);
  t.same([...b.subarray(0, 4)], [0, 0xab, 0xcd, 0]);
  t.equal(readU16(b, 1), 0xabcd);
  writeU16(b, 1, 0x12345);
  t.equal(readU16(b, 1), 0x2345, 'keeps the low 16 bits');
  writeU32(b, 3, 0xc0a83201);
  t.same([...b.subarray(3, 7)], [0xc0, 0xa8, 0x32, 0x01]);
  t.equal(readU32(b, 3), 0xc0a83201, 'unsigned even with the top bit set');
  writeU32(b, 0, 0xffffffff);
  t.equal(readU32(b, 0), 0xffffffff);
  t.equal(Buffer.from(b).readUInt32BE(0), readU32(b, 0), 'agrees with Buffer');
});

t.test('inBounds', async (t) => {
  const b = new Uint8Array(10);
  t.ok(inBounds(b, 0, 10));
  t.ok(inBounds(b, 10, 0), 'empty range at the end');
  t.notOk(inBounds(b, 1, 10));
  t.notOk(inBounds(b, -1, 2));
  t.notOk(inBounds(b, 0, -1));
  t.notOk(inBounds(b, 0.5, 2));
  t.notOk(inBounds(b, Number.NaN, 2));
  t.notOk(inBounds(b, 0, Number.POSITIVE_INFINITY));
});

t.test('hexBytes', async (t) => {
  t.same(hexBytes('08 00\n00:01'), Buffer.from([8, 0, 0, 1]));
  t.same(hexBytes(''), Buffer.alloc(0));
  t.throws(() => hexBytes('abc'), /not an even-length hex string: "abc"/);
  t.throws(() => hexBytes('zz'), /"zz"/);
});

t.test('reads and writes agree with Buffer at random offsets', async (t) => {
  let x = 0x9e3779b9;
  const next = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
  const b = Buffer.alloc(64);
  let bad = 0;
  for (let n = 0; n < 2000; n++) {
    const off = next() % 60;
    const v32 = next();
    const v16 = next() & 0xffff;
    writeU32(b, off, v32);
    if (b.readUInt32BE(off) !== v32 || readU32(b, off) !== v32) bad++;
    b.writeUInt16BE(v16, off);
    if (readU16(b, off) !== v16) bad++;
    writeU16(b, off, v16);
    if (b.readUInt16BE(off) !== v16) bad++;
  }
  t.equal(bad, 0);
});
