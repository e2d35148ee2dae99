// SPDX-License-Identifier: Apache-2.0
// The etcd manager's lease watch: snapshot then changes, malformed entries left out and
// logged once with their key, compaction → re-list, an unreachable store keeps the last
// table, a watch that ends is re-listed with backoff, stop() ends deliveries.
import t from 'tap';
import type { Lease } from '../../../src/config/lease.js';
import { fixture, macSource, MY_IP, MY_IP_N, value } from './helpers.js';

const OTHER = value('192.168.50.2', '02:aa:00:00:00:02');
const THIRD = value('192.168.50.3', '02:aa:00:00:00:03');
const keys = (ls: readonly Lease[]) => ls.map((l) => l.key);

async function watching(t: Parameters<typeof fixture>[0], before: (f: ReturnType<typeof fixture>) => void = () => undefined) {
  const f = fixture(t);
  before(f);
  await f.mgr.acquireLease({ publicIp: MY_IP_N, newMac: macSource().newMac });
  const snaps: Lease[][] = [];
  const stop = f.mgr.watchLeases((ls) => snaps.push([...ls]));
  return { ...f, snaps, stop, last: () => keys(snaps.at(-1) ?? []) };
}

t.test('the first snapshot is delivered at once, then one per batch of changes', async (t) => {
  const f = await watching(t, (f) => f.reg.put('10.244.2.0-24', OTHER, { ttlSec: 100 }));
  t.equal(f.snaps.length, 1, 'synchronously, from the acquire listing');
  t.same(f.last(), ['10.244.1.0-24', '10.244.2.0-24'], 'ours first');
  t.match(f.snaps[0]![1], { publicIp: 0xc0a83202, vtepMac: '02:aa:00:00:00:02', vni: 1 });
  f.reg.put('10.244.3.0-24', THIRD, { ttlSec: 100 });
  await f.clock.advance(0);
  t.same(f.last(), ['10.244.1.0-24', '10.244.2.0-24', '10.244.3.0-24'], 'added');
  f.reg.remove('10.244.2.0-24');
  await f.clock.advance(0);
  t.same(f.last(), ['10.244.1.0-24', '10.244.3.0-24'], 'removed');
  await f.clock.advance(100_000);
  t.same(f.last(), ['10.244.1.0-24'], 'expired in the store → gone');
  t.same(f.reg.calls, ['config', 'list', 'create 10.244.1.0-24'], 'no re-list needed');
});

t.test('malformed entries are left out, logged once with their key, and never crash', async (t) => {
  const f = await watching(t, (f) => f.reg.put('10.244.2.0-24', OTHER));
  const bad: Record<string, string> = {
    '10.244.5.0-24': '{"PublicIP":"192.168.50.5",',
    '10.244.6.0-24': '{"PublicIP":"192.168.50.6","BackendType":"udp"}',
    '10.244.0.0-16': value('192.168.50.16', '02:aa:00:00:00:16'),
    '10.244.7.0-24': value(MY_IP, '02:aa:00:00:00:77'),
    '10.244.8.0-24': value('192.168.50.8', '02:aa:00:00:00:02'),
    'not-a-key': OTHER,
  };
  for (const [k, v] of Object.entries(bad)) f.reg.put(k, v);
  f.reg.put('10.244.1.0-24', value('192.168.50.99', '02:aa:00:00:00:99')); // our subnet claimed by another PublicIP
  await f.clock.advance(0);
  t.same(f.last(), ['10.244.1.0-24'], 'only our lease: every other entry is bad or in conflict');
  t.equal(f.snaps.at(-1)?.[0]?.publicIp, MY_IP_N, 'our lease is kept as we acquired it');
  const errors = f.cap.lines().filter((l) => l.level === 50 && String(l.msg).startsWith('ignoring lease'));
  const byKey = new Map(errors.map((l) => [String(l.key), String(l.msg)]));
  const full = (k: string) => `/coreos.com/network/subnets/${k}`;
  t.match(byKey.get(full('10.244.5.0-24')), /value is not JSON/);
  t.match(byKey.get(full('10.244.6.0-24')), /BackendType: "udp" is not "vxlan"/);
  t.match(byKey.get(full('10.244.0.0-16')), /10\.244\.0\.0-16/);
  t.match(byKey.get(full('10.244.7.0-24')), /PublicIP.*is also the PublicIP of our own lease 10\.244\.1\.0-24/);
  t.match(byKey.get(full('10.244.8.0-24')), /VtepMAC.*is also the VtepMAC of entry "10\.244\.2\.0-24"/);
  t.match(byKey.get(full('not-a-key')), /is not a subnet key/);
  t.match(byKey.get(full('10.244.1.0-24')), /our subnet is claimed by PublicIP 192\.168\.50\.99; keeping our lease/);
  const count = errors.length;
  f.reg.put('10.244.3.0-24', THIRD);
  await f.clock.advance(0);
  t.same(f.last(), ['10.244.1.0-24', '10.244.3.0-24'], 'good entries still flow');
  t.equal(f.cap.lines().filter((l) => l.level === 50 && String(l.msg).startsWith('ignoring lease')).length, count, 'not logged again');
});

t.test('compaction under the watch → re-list, and the changes are all there', async (t) => {
  const f = await watching(t);
  f.reg.setReachable(false);
  f.reg.put('10.244.2.0-24', OTHER);
  f.reg.put('10.244.3.0-24', THIRD);
  f.reg.compact();
  f.reg.setReachable(true);
  await f.clock.advance(0);
  t.ok(f.cap.msgs().includes('etcd history compacted under our watch; re-listing leases'));
  t.same(f.last(), ['10.244.1.0-24', '10.244.2.0-24', '10.244.3.0-24']);
  t.equal(f.reg.watchCount, 1, 'watching again');
  f.reg.remove('10.244.3.0-24');
  await f.clock.advance(0);
  t.same(f.last(), ['10.244.1.0-24', '10.244.2.0-24']);
});

t.test('an unreachable store never empties the table; missed changes arrive after', async (t) => {
  const f = await watching(t, (f) => f.reg.put('10.244.2.0-24', OTHER));
  const n = f.snaps.length;
  f.reg.setReachable(false);
  await f.clock.advance(0);
  f.reg.put('10.244.3.0-24', THIRD);
  await f.clock.advance(10 * 60_000);
  t.equal(f.snaps.length, n, 'nothing delivered while unreachable');
  t.equal(f.cap.msgs().filter((m) => /unreachable from the lease watch/.test(m)).length, 1, 'logged once');
  f.reg.setReachable(true);
  await f.clock.advance(0);
  t.same(f.last(), ['10.244.1.0-24', '10.244.2.0-24', '10.244.3.0-24']);
  t.ok(f.cap.msgs().includes('etcd lease watch re-established'));
});

t.test('a watch that ends is re-listed with backoff; list failures keep the last table', async (t) => {
  const f = await watching(t, (f) => f.reg.put('10.244.2.0-24', OTHER));
  f.reg.setReachable(false);
  f.reg.failWatches(new Error('watch stream reset'));
  await f.clock.advance(0);
  const n = f.snaps.length;
  await f.clock.advance(1000 + 2000 + 4000);
  t.equal(f.reg.calls.filter((c) => c === 'list').length, 1 + 3, 'three re-list attempts (1 s, 2 s, 4 s)');
  t.equal(f.snaps.length, n, 'no delivery without a listing');
  t.same(f.last(), ['10.244.1.0-24', '10.244.2.0-24']);
  f.reg.put('10.244.3.0-24', THIRD);
  f.reg.setReachable(true);
  await f.clock.advance(8000);
  t.same(f.last(), ['10.244.1.0-24', '10.244.2.0-24', '10.244.3.0-24'], 'recovered');
  t.ok(f.cap.msgs().includes('leases listed from etcd again'));
  t.equal(f.reg.watchCount, 1);
});

t.test('stop() ends deliveries', async (t) => {
  const f = await watching(t);
  f.stop();
  const n = f.snaps.length;
  f.reg.put('10.244.2.0-24', OTHER);
  await f.clock.advance(0);
  t.equal(f.snaps.length, n);
  t.equal(f.reg.watchCount, 0);
});

t.test('a second watch starts from a fresh listing', async (t) => {
  const f = await watching(t, (f) => f.reg.put('10.244.2.0-24', OTHER));
  const second: string[][] = [];
  f.mgr.watchLeases((ls) => second.push(keys(ls)));
  t.same(second, [], 'asynchronous');
  await f.clock.advance(0);
  t.same(second, [['10.244.1.0-24', '10.244.2.0-24']]);
});
