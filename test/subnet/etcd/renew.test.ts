// SPDX-License-Identifier: Apache-2.0
// Keeping our lease: renewal at expiration − margin (manual clock), retries after a
// failure, an expired key re-created, a taken or deleted key reported as lease lost.
import t from 'tap';
import { fixture, HOUR, macSource, MY_IP, MY_IP_N, value } from './helpers.js';
import { controlPlaneMetrics } from '../../../src/subnet/metrics.js';

const KEY = '10.244.1.0-24';
const MINE = value(MY_IP, '02:00:00:00:00:01');

async function started(t: Parameters<typeof fixture>[0], margin = 3600) {
  const f = fixture(t, { over: { renewMarginSec: margin } });
  const lease = await f.mgr.acquireLease({ publicIp: MY_IP_N, newMac: macSource().newMac });
  const lost: string[] = [];
  f.mgr.onLeaseLost((r) => lost.push(r));
  const snaps: string[][] = [];
  f.mgr.watchLeases((ls) => snaps.push(ls.map((l) => l.key)));
  return { ...f, lease, lost, snaps };
}

t.test('renewal happens at expiration minus the margin, then every 23 h', async (t) => {
  const f = await started(t);
  const t0 = f.clock.now();
  const renewalsBefore = controlPlaneMetrics.leaseRenewals;
  t.equal(controlPlaneMetrics.storeWatchUp, true, 'the watch reports itself up (metrics, status)');
  t.same(f.clock.pending('renew'), [23 * HOUR]);
  await f.clock.advance(23 * HOUR - 1);
  t.notOk(f.reg.calls.includes(`update ${KEY}`), 'not before it is due');
  await f.clock.advance(1);
  t.equal(f.reg.calls.filter((c) => c === `update ${KEY}`).length, 1, 'renewed when due');
  t.equal(f.reg.get(KEY)?.expiresAt, t0 + 47 * HOUR, 'a new 24 h etcd lease');
  t.equal(f.reg.get(KEY)?.value, MINE, 'same value');
  t.ok(f.cap.msgs().includes(`Lease renewed, new expiration: ${new Date(t0 + 47 * HOUR).toISOString()}`));
  t.same(f.clock.pending('renew'), [23 * HOUR], 'next renewal in 23 h');
  await f.clock.advance(23 * HOUR);
  t.equal(f.reg.calls.filter((c) => c === `update ${KEY}`).length, 2);
  t.equal(controlPlaneMetrics.leaseRenewals - renewalsBefore, 2, 'each renewal counted for vxtun_lease_renewals_total');
  t.same(f.lost, []);
});

t.test('the margin is honoured (10 min margin: renewal after 23 h 50 min)', async (t) => {
  const f = await started(t, 600);
  t.same(f.clock.pending('renew'), [24 * HOUR - 600_000]);
});

t.test('a failed renewal is logged and retried every minute until it succeeds', async (t) => {
  const f = await started(t);
  f.reg.setReachable(false);
  await f.clock.advance(23 * HOUR);
  await f.clock.advance(60_000);
  const errors = f.cap.lines().filter((l) => l.msg === 'Error renewing lease (trying again in 60s)');
  t.equal(errors.length, 2, 'each failed attempt logged');
  t.match(errors[0], { key: `/coreos.com/network/subnets/${KEY}`, err: /unreachable/ });
  f.reg.setReachable(true);
  await f.clock.advance(60_000);
  t.equal(f.reg.get(KEY)?.expiresAt, f.clock.now() + 24 * HOUR, 'renewed once etcd answered');
  t.same(f.lost, []);
  t.same(f.snaps.at(-1), [KEY], 'the table was never emptied');
});

t.test('a key that expired while etcd was unreachable is granted and written again', async (t) => {
  const f = await started(t);
  f.reg.setReachable(false);
  await f.clock.advance(25 * HOUR); // past the TTL: the store expires the key
  t.equal(f.reg.get(KEY), undefined, 'etcd dropped the expired key');
  const back = f.clock.now();
  f.reg.setReachable(true);
  await f.clock.advance(0);
  t.equal(f.reg.get(KEY)?.value, MINE, 'our key is back with our value (the watch saw the delete at once)');
  t.equal(f.reg.get(KEY)?.expiresAt, back + 24 * HOUR, 'under a new 24 h lease');
  t.same(f.clock.pending('renew'), [23 * HOUR], 'renewal rescheduled');
  t.ok(f.cap.msgs().some((m) => /our lease had expired in etcd/.test(m)));
  t.same(f.lost, [], 'not reported as lost');
  t.same(f.snaps.at(-1), [KEY]);
});

t.test('a key that expired and was taken by another node means the lease is lost', async (t) => {
  const f = await started(t);
  f.reg.setReachable(false);
  await f.clock.advance(25 * HOUR);
  f.reg.put(KEY, value('192.168.50.7', '02:aa:00:00:00:07'), { ttlSec: 86400 });
  f.reg.setReachable(true);
  await f.clock.advance(60_000);
  t.same(f.lost, ['our subnet /coreos.com/network/subnets/10.244.1.0-24 is now held by PublicIP 192.168.50.7']);
  t.equal(f.reg.get(KEY)?.value, value('192.168.50.7', '02:aa:00:00:00:07'), 'the other node keeps it');
  t.same(f.clock.pending('renew'), [], 'no more renewals');
});

t.test('our key deleted by the operator means the lease is lost ("revoked"), once', async (t) => {
  const f = await started(t);
  f.reg.remove(KEY);
  await f.clock.advance(0);
  t.same(f.lost, ['our lease /coreos.com/network/subnets/10.244.1.0-24 was deleted from etcd before it expired']);
  t.ok(f.cap.msgs().includes('Lease has been revoked'));
  f.reg.put(KEY, MINE);
  f.reg.remove(KEY);
  await f.clock.advance(0);
  t.equal(f.lost.length, 1, 'reported once');
  t.same(f.snaps.at(-1), [KEY], 'our lease stays in the table until the daemon stops');
});

t.test('a stale delete (the key is ours again when checked) is ignored', async (t) => {
  const f = await started(t);
  f.reg.remove(KEY);
  f.reg.put(KEY, MINE, { ttlSec: 86400 });
  await f.clock.advance(0);
  t.same(f.lost, []);
});

t.test('our key rewritten with our PublicIP but another value is restored at renewal', async (t) => {
  const f = await started(t);
  f.reg.put(KEY, value(MY_IP, '02:99:00:00:00:01'), { ttlSec: 86400 });
  await f.clock.advance(0);
  t.ok(f.cap.lines().some((l) => /rewritten by someone else/.test(String(l.msg)) && l.key === `/coreos.com/network/subnets/${KEY}`));
  await f.clock.advance(23 * HOUR);
  t.equal(f.reg.get(KEY)?.value, MINE, 'ours again');
  t.same(f.lost, []);
});

t.test('close() stops renewals', async (t) => {
  const f = await started(t);
  await f.mgr.close();
  await f.clock.advance(48 * HOUR);
  t.notOk(f.reg.calls.includes(`update ${KEY}`));
});
