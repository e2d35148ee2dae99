// SPDX-License-Identifier: Apache-2.0
// The etcd manager's config read and every branch of flannel's tryAcquireLease, against
// the MemoryRegistry: reuse (keeping the VtepMAC), previous subnet, random pick among the
// first 100 free subnets, full range, races, and an unreachable store at startup.
import t from 'tap';
import { formatCidr } from '../../../src/config/cidr.js';
import { ConfigError } from '../../../src/config/errors.js';
import { UsageError } from '../../../src/cli/errors.js';
import { ManagerClosedError } from '../../../src/subnet/etcd/manager.js';
import { fixture, HOUR, macSource, MY_IP, MY_IP_N, value } from './helpers.js';

const req = (m = macSource()) => ({ publicIp: MY_IP_N, newMac: m.newMac });

t.test('the network config comes from <prefix>/config with flannel\'s defaults', async (t) => {
  const f = fixture(t);
  const nc = await f.mgr.getNetworkConfig();
  t.equal(formatCidr(nc.network), '10.244.0.0/16');
  t.equal(nc.subnetLen, 24);
  t.equal(nc.backend.vni, 1);
  t.match(f.cap.msgs(), ['Found network config']);
});

t.test('a missing config fails with flannel\'s message; a bad one names the key', async (t) => {
  const missing = fixture(t, { config: null });
  const err = await missing.mgr.getNetworkConfig().catch((e: unknown) => e);
  t.ok(err instanceof ConfigError);
  t.match((err as Error).message, /^flannel config not found in etcd store\. Did you create your config using etcdv3 API\? \(no key \/coreos\.com\/network\/config at memory:\/\/etcd\)$/);
  const bad = fixture(t, { config: '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":"x"}}' });
  const err2 = await bad.mgr.getNetworkConfig().catch((e: unknown) => e);
  t.ok(err2 instanceof ConfigError);
  t.match((err2 as Error).message, /^etcd \/coreos\.com\/network\/config: Backend\.VNI: /);
});

t.test('a fresh node takes a random subnet among the first 100 free ones, with a 24 h TTL', async (t) => {
  for (const [r, expected] of [[0, '10.244.1.0-24'], [0.5, '10.244.51.0-24'], [0.99999, '10.244.100.0-24']] as const) {
    const f = fixture(t, { over: { random: () => r } });
    const m = macSource();
    const lease = await f.mgr.acquireLease(req(m));
    t.equal(lease.key, expected, `random ${r}`);
    t.equal(lease.vtepMac, '02:00:00:00:00:01', 'a fresh MAC');
    const kv = f.reg.get(expected);
    t.equal(kv?.value, value(MY_IP, '02:00:00:00:00:01'), 'flannel\'s exact JSON');
    t.equal(kv?.expiresAt, f.clock.now() + 24 * HOUR, 'attached to a 24 h lease');
    t.same(f.reg.calls, ['config', 'list', `create ${expected}`]);
  }
});

t.test('taken subnets are skipped when filling the bag of 100', async (t) => {
  const f = fixture(t, { over: { random: () => 0.99999 } });
  f.reg.put('10.244.1.0-24', value('192.168.50.2', '02:aa:00:00:00:02'), { ttlSec: 100 });
  f.reg.put('10.244.3.0-24', value('192.168.50.3', '02:aa:00:00:00:03'), { ttlSec: 100 });
  f.reg.put('10.244.8.0-22', '{"garbage"', { ttlSec: 100 }); // any decodable key occupies its range
  const lease = await f.mgr.acquireLease(req());
  t.equal(lease.key, '10.244.106.0-24', 'the 100th free subnet: 2, 4..7, then 12..106');
});

t.test('a lease with our PublicIP is reused with its VtepMAC and a renewed TTL', async (t) => {
  const f = fixture(t, { over: { random: () => 0.7 } });
  f.reg.put('10.244.9.0-24', value(MY_IP, '02:aa:bb:cc:dd:ee'), { ttlSec: 60 });
  const m = macSource();
  const lease = await f.mgr.acquireLease(req(m));
  t.equal(lease.key, '10.244.9.0-24');
  t.equal(lease.vtepMac, '02:aa:bb:cc:dd:ee', 'the MAC is kept (flanneld would draw a new one)');
  t.equal(m.calls(), 0, 'no new MAC drawn');
  t.equal(f.reg.get('10.244.9.0-24')?.expiresAt, f.clock.now() + 24 * HOUR, 'new 24 h lease');
  t.same(f.reg.calls, ['config', 'list', 'update 10.244.9.0-24']);
  t.ok(f.cap.msgs().includes(`Found lease (10.244.9.0/24) for current IP (${MY_IP}), reusing`));
});

t.test('a reused lease without a usable MAC gets a new one; a reservation stays without TTL', async (t) => {
  const f = fixture(t);
  f.reg.put('10.244.20.0-24', `{"PublicIP":"${MY_IP}"}`); // an operator's reservation, no lease
  const lease = await f.mgr.acquireLease(req());
  t.equal(lease.key, '10.244.20.0-24');
  t.equal(lease.vtepMac, '02:00:00:00:00:01');
  const kv = f.reg.get('10.244.20.0-24');
  t.equal(kv?.value, value(MY_IP, '02:00:00:00:00:01'));
  t.equal(kv?.leaseId, null, 'still a reservation');
  t.same(f.clock.pending('renew'), [], 'nothing to renew');
});

t.test('a lease with our PublicIP that no longer fits the config is deleted', async (t) => {
  const f = fixture(t, { config: '{"Network":"10.244.0.0/16","SubnetMin":"10.244.10.0","Backend":{"Type":"vxlan"}}' });
  f.reg.put('10.244.2.0-24', value(MY_IP, '02:aa:bb:cc:dd:ee'), { ttlSec: 60 });
  const lease = await f.mgr.acquireLease(req());
  t.equal(lease.key, '10.244.10.0-24');
  t.equal(f.reg.get('10.244.2.0-24'), undefined, 'the old lease is gone');
  t.same(f.reg.calls, ['config', 'list', 'delete 10.244.2.0-24', 'create 10.244.10.0-24']);
});

t.test('the previous subnet from subnet.env is taken when free and compatible', async (t) => {
  const f = fixture(t);
  f.writeSubnetEnv('10.244.77.1/24');
  t.equal((await f.mgr.acquireLease(req())).key, '10.244.77.0-24');
  t.ok(f.cap.msgs().includes('Found previously leased subnet (10.244.77.0/24), reusing'));

  const taken = fixture(t);
  taken.writeSubnetEnv('10.244.77.1/24');
  taken.reg.put('10.244.77.0-24', value('192.168.50.9', '02:aa:00:00:00:09'), { ttlSec: 60 });
  t.equal((await taken.mgr.acquireLease(req())).key, '10.244.1.0-24');
  t.ok(taken.cap.msgs().includes('Found previously leased subnet (10.244.77.0/24) that is already leased, ignoring'));

  const odd = fixture(t);
  odd.writeSubnetEnv('10.244.77.1/25');
  t.equal((await odd.mgr.acquireLease(req())).key, '10.244.1.0-24');
  t.ok(odd.cap.msgs().includes('Found previously leased subnet (10.244.77.0/25) that is not compatible with the network config in etcd, ignoring'));
});

t.test('a full range fails with a clear error', async (t) => {
  const f = fixture(t, { config: '{"Network":"10.244.0.0/22","Backend":{"Type":"vxlan"}}' });
  for (const n of [1, 2, 3]) f.reg.put(`10.244.${n}.0-24`, value(`192.168.50.${n + 10}`, `02:aa:00:00:00:0${n}`), { ttlSec: 60 });
  const err = await f.mgr.acquireLease(req()).catch((e: unknown) => e);
  t.ok(err instanceof UsageError);
  t.match((err as Error).message, 'out of subnets: every /24 from 10.244.1.0 to 10.244.3.0 in Network 10.244.0.0/22 is leased (3 keys under /coreos.com/network/subnets/)');
});

t.test('a subnet created by another node between list and txn makes it try again', async (t) => {
  const f = fixture(t);
  let raced = 0;
  f.reg.beforeTxn = (key) => { if (raced++ === 0) f.reg.put(key, value('192.168.50.2', '02:aa:00:00:00:02'), { ttlSec: 60 }); };
  const lease = await f.mgr.acquireLease(req());
  t.equal(lease.key, '10.244.2.0-24', 'the second round skips the subnet the other node took');
  t.same(f.reg.calls, ['config', 'list', 'create 10.244.1.0-24', 'list', 'create 10.244.2.0-24']);

  const always = fixture(t);
  always.reg.beforeTxn = (key) => always.reg.put(key, value('192.168.50.2', '02:aa:00:00:00:02'));
  const err = await always.mgr.acquireLease(req()).catch((e: unknown) => e);
  t.match((err as Error).message, /Max retries reached trying to acquire a subnet \(10 races lost/);
  t.equal(always.reg.calls.filter((c) => c.startsWith('create')).length, 10);
});

t.test('an unreachable store at startup is retried with capped backoff, each attempt logged', async (t) => {
  const f = fixture(t);
  f.reg.setReachable(false);
  let done = false;
  const p = f.mgr.acquireLease(req()).then((l) => { done = true; return l; });
  for (let i = 0; i < 7; i++) await f.clock.advance(i < 5 ? 1000 * 2 ** i : 30_000);
  t.equal(done, false, 'still waiting');
  const waits = f.cap.lines().filter((l) => /unreachable, retrying in/.test(String(l.msg))).map((l) => String(l.msg));
  t.same(waits, [1, 2, 4, 8, 16, 30, 30, 30].map((s) => `etcd at memory://etcd unreachable, retrying in ${s}s`));
  f.reg.setReachable(true);
  await f.clock.advance(30_000);
  t.equal((await p).key, '10.244.1.0-24');
  t.ok(f.cap.msgs().includes('etcd at memory://etcd answered again'));
});

t.test('close() ends a startup wait', async (t) => {
  const f = fixture(t);
  f.reg.setReachable(false);
  const p = f.mgr.getNetworkConfig().catch((e: unknown) => e);
  await f.clock.advance(0);
  await f.mgr.close();
  t.ok((await p) instanceof ManagerClosedError);
});
