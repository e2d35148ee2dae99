// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { SubnetTable, maskOf, type PeerLease } from '../../src/dataplane/table.js';

function lease(network: number, prefixLen: number, publicIp: number, macLast = 1): PeerLease {
  const mask = maskOf(prefixLen);
  return { key: `${network >>> 0}-${prefixLen}`, network: network & mask, prefixLen, publicIp, vtepMac: Uint8Array.of(2, 0xaa, 0, 0, 0, macLast) };
}

const ip = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

t.test('finds the lease holding an address, by prefix and by PublicIP', async (t) => {
  const table = new SubnetTable();
  table.replace([lease(ip(10, 244, 1, 0), 24, ip(192, 168, 50, 1), 1), lease(ip(10, 244, 2, 0), 24, ip(192, 168, 50, 2), 2)]);
  t.equal(table.lookup(ip(10, 244, 2, 7))?.publicIp, ip(192, 168, 50, 2));
  t.equal(table.lookup(ip(10, 244, 1, 0))?.publicIp, ip(192, 168, 50, 1), 'the .0 VTEP address belongs to its subnet');
  t.equal(table.lookup(ip(10, 244, 3, 1)), undefined);
  t.equal(table.lookup(ip(10, 245, 1, 1)), undefined);
  t.equal(table.byPublicIp(ip(192, 168, 50, 1))?.key, table.lookup(ip(10, 244, 1, 9))?.key);
  t.equal(table.byPublicIp(ip(192, 168, 50, 9)), undefined);
  t.same(table.prefixLengths, [24]);
});

t.test('replace keeps unchanged peers (and their counters), swaps changed ones', async (t) => {
  const table = new SubnetTable();
  table.replace([lease(ip(10, 244, 1, 0), 24, ip(192, 168, 50, 1), 1), lease(ip(10, 244, 2, 0), 24, ip(192, 168, 50, 2), 2)]);
  const a = table.lookup(ip(10, 244, 1, 5))!;
  const b = table.lookup(ip(10, 244, 2, 5))!;
  a.txPackets = 7;
  b.txPackets = 9;
  const gen = table.generation;
  table.replace([lease(ip(10, 244, 1, 0), 24, ip(192, 168, 50, 1), 1), lease(ip(10, 244, 2, 0), 24, ip(192, 168, 50, 22), 2)]);
  t.equal(table.lookup(ip(10, 244, 1, 5)), a, 'same object for an unchanged lease');
  const b2 = table.lookup(ip(10, 244, 2, 5))!;
  t.not(b2, b, 'new object for a changed lease');
  t.equal(b2.publicIp, ip(192, 168, 50, 22));
  t.equal(b2.txPackets, 9, 'counters carried over');
  t.equal(table.byPublicIp(ip(192, 168, 50, 2)), undefined, 'old PublicIP gone');
  t.ok(table.generation > gen);
  table.replace([]);
  t.equal(table.lookup(ip(10, 244, 1, 5)), undefined);
  t.equal(table.size, 0);
});

/** The reference model: a linear scan for the longest matching prefix (wireguard-go's SlowRouter idea). */
function slowLookup(leases: PeerLease[], dst: number): PeerLease | undefined {
  let best: PeerLease | undefined;
  for (const l of leases) {
    const m = maskOf(l.prefixLen);
    if ((dst & m) === (l.network & m) && (best === undefined || l.prefixLen > best.prefixLen)) best = l;
  }
  return best;
}

t.test('longest-prefix match agrees with a linear reference model on random tables', async (t) => {
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  let mismatches = 0;
  let hits = 0;
  for (let round = 0; round < 20; round++) {
    const mixed = round % 2 === 0;
    const leases: PeerLease[] = [];
    const seen = new Set<string>();
    const count = 50 + Math.floor(rand() * 500);
    for (let k = 0; k < count; k++) {
      const len = mixed ? 8 + Math.floor(rand() * 25) : 24;
      const net = (ip(10, Math.floor(rand() * 4), Math.floor(rand() * 256), Math.floor(rand() * 256)) & maskOf(len)) >>> 0;
      const key = `${net}-${len}`;
      if (seen.has(key)) continue;
      seen.add(key);
      leases.push({ ...lease(net, len, ip(192, 168, Math.floor(k / 250), k % 250), k % 250), key });
    }
    const table = new SubnetTable(mixed ? 64 : 0);
    table.replace(leases);
    for (let q = 0; q < 1000; q++) {
      // Bias queries toward existing subnets so hits are common, and repeat some for the cache front.
      const base = leases[Math.floor(rand() * leases.length)]!;
      const dst = rand() < 0.7 ? (base.network | Math.floor(rand() * 256)) >>> 0 : Math.floor(rand() * 4294967296);
      const want = slowLookup(leases, dst);
      const got = table.lookup(dst);
      if (want !== undefined) hits++;
      if ((want?.key ?? null) !== (got?.key ?? null)) mismatches++;
      // Asking twice exercises the lru-cache front when prefix lengths differ.
      if ((table.lookup(dst)?.key ?? null) !== (want?.key ?? null)) mismatches++;
    }
  }
  t.equal(mismatches, 0, 'no disagreement with the reference model');
  t.ok(hits > 5000, `most queries hit a lease (${hits})`);
});

t.test('a peer refuses a malformed lease', async (t) => {
  const table = new SubnetTable();
  t.throws(() => table.replace([{ key: 'x', network: 0, prefixLen: 24, publicIp: 1, vtepMac: new Uint8Array(5) }]), /VtepMAC must be 6 bytes/);
  t.throws(() => table.replace([{ key: 'y', network: 0, prefixLen: 33, publicIp: 1, vtepMac: new Uint8Array(6) }]), /prefix length 33/);
});
