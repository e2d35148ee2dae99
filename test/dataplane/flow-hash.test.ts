// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { FlowPortHasher } from '../../src/dataplane/flow-hash.js';

/** A minimal IPv4 + UDP/TCP header (checksums irrelevant to hashing). */
function packet(src: number, dst: number, proto: number, sport: number, dport: number, fragOffset = 0, mf = false): DataView {
  const b = Buffer.alloc(40);
  b[0] = 0x45;
  b.writeUInt16BE(40, 2);
  b.writeUInt16BE((mf ? 0x2000 : 0) | fragOffset, 6);
  b[8] = 64;
  b[9] = proto;
  b.writeUInt32BE(src >>> 0, 12);
  b.writeUInt32BE(dst >>> 0, 16);
  b.writeUInt16BE(sport, 20);
  b.writeUInt16BE(dport, 22);
  return new DataView(b.buffer, b.byteOffset, b.length);
}

const A = 0x0af40102; // 10.244.1.2
const B = 0x0af40202; // 10.244.2.2

t.test('same flow, same port; in range; symmetric', async (t) => {
  const h = new FlowPortHasher(32768, 60999, 42);
  const p1 = h.portFor(packet(A, B, 17, 40000, 7000), 0, 40);
  t.equal(h.portFor(packet(A, B, 17, 40000, 7000), 0, 40), p1, 'stable for the same 5-tuple');
  t.equal(h.portFor(packet(B, A, 17, 7000, 40000), 0, 40), p1, 'both directions hash alike');
  t.ok(p1 >= 32768 && p1 <= 60999);
});

t.test('different flows spread over the whole range', async (t) => {
  const h = new FlowPortHasher(32768, 60999, 7);
  const ports = new Set<number>();
  let min = 65535;
  let max = 0;
  for (let sport = 1024; sport < 1024 + 2000; sport++) {
    const p = h.portFor(packet(A, B, 6, sport, 80), 0, 40);
    ports.add(p);
    min = Math.min(min, p);
    max = Math.max(max, p);
  }
  t.ok(ports.size > 1900, `2000 flows gave ${ports.size} distinct ports`);
  t.ok(min >= 32768 && max <= 60999, `all in range (${min}..${max})`);
  t.ok(min < 34000 && max > 59000, `spread over the range (${min}..${max})`);
  // Buckets: no eighth of the range is empty.
  const buckets = new Array(8).fill(0);
  for (const p of ports) buckets[Math.floor(((p - 32768) * 8) / (60999 - 32768 + 1))]++;
  t.ok(buckets.every((c) => c > 150), `even spread: ${buckets.join(',')}`);
});

t.test('fragments and non-port protocols hash by addresses only', async (t) => {
  const h = new FlowPortHasher(32768, 60999, 9);
  const first = h.portFor(packet(A, B, 17, 1111, 2222, 0, true), 0, 40);
  const later = h.portFor(packet(A, B, 17, 9999, 9999, 185, false), 0, 40);
  t.equal(first, later, 'all fragments of a datagram share a port (ports ignored when fragmented)');
  const icmp1 = h.portFor(packet(A, B, 1, 1, 2), 0, 40);
  const icmp2 = h.portFor(packet(A, B, 1, 3, 4), 0, 40);
  t.equal(icmp1, icmp2, 'ICMP hashes by addresses');
  t.not(h.portFor(packet(A, B, 17, 1, 2), 0, 40), h.portFor(packet(A, B, 17, 1, 3), 0, 40), 'UDP ports matter');
});

t.test('a custom range and bad ranges', async (t) => {
  const h = new FlowPortHasher(50000, 50003, 1);
  for (let s = 0; s < 100; s++) {
    const p = h.portFor(packet(A, B, 17, s, 53), 0, 40);
    t.ok(p >= 50000 && p <= 50003);
  }
  t.equal(new FlowPortHasher(4000, 4000).portFor(packet(A, B, 6, 1, 2), 0, 40), 4000);
  t.throws(() => new FlowPortHasher(60000, 50000), /source port range 60000-50000/);
  t.throws(() => new FlowPortHasher(0, 10), RangeError);
});
