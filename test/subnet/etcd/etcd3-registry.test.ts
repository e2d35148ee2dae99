// SPDX-License-Identifier: Apache-2.0
// Etcd3Registry and the manager against a real etcd (one member on loopback, free ports,
// started and killed by PID): the txn guards, TTLs, the watch across compaction and a
// restart of etcd, flannel's exact key and value, a restart keeping subnet and MAC.
import t from 'tap';
import { parseIpv4 } from '../../../src/config/cidr.js';
import { EtcdCluster, etcdSkipReason } from '../../../src/lab/etcd.js';
import { sleep } from '../../../src/lab/proc.js';
import { etcd3ClientOptions, Etcd3Registry } from '../../../src/subnet/etcd/etcd3-registry.js';
import { EtcdSubnetManager } from '../../../src/subnet/etcd/manager.js';
import { isStoreUnavailable, type SubnetEvent } from '../../../src/subnet/etcd/registry.js';
import { captureLog, NETCONF, value } from './helpers.js';

const skip = etcdSkipReason();

/** Polls `cond` every 100 ms, at most `tries` times; true once it held. */
async function eventually(cond: () => boolean | Promise<boolean>, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return true;
    await sleep(100);
  }
  return false;
}

t.test('client options: TLS files and auth', async (t) => {
  t.throws(() => etcd3ClientOptions({ endpoints: ['https://x:1'], prefix: '/p', cafile: '/nonexistent/ca.pem' }), /--etcd-cafile \/nonexistent\/ca\.pem cannot be read/);
  t.throws(() => etcd3ClientOptions({ endpoints: ['https://x:1'], prefix: '/p', certfile: '/c.pem' }), /--etcd-certfile and --etcd-keyfile must be given together/);
  const o = etcd3ClientOptions({ endpoints: ['http://a:1', 'http://b:2'], prefix: '/p', username: 'flannel', password: 's3cret' });
  t.same(o.hosts, ['http://a:1', 'http://b:2']);
  t.same(o.auth, { username: 'flannel', password: 's3cret' });
  t.equal(o.credentials, undefined, 'plain http without TLS flags');
});

t.test('against a real etcd', { skip: skip ?? false }, async (t) => {
  const etcd = await EtcdCluster.start();
  const reg = new Etcd3Registry({ endpoints: etcd.endpoints, prefix: '/vxtun-test/network/' });
  t.teardown(async () => { await reg.close(); etcd.destroy(); });

  t.test('config, create/exists, update guards, list with leases', async (t) => {
    t.equal(await reg.getNetworkConfig(), null);
    await etcd.put('/vxtun-test/network/config', NETCONF);
    t.equal(await reg.getNetworkConfig(), NETCONF);
    t.equal(await reg.createSubnet('10.244.1.0-24', 'v1', 60), 'created');
    t.equal(await reg.createSubnet('10.244.1.0-24', 'v2', 60), 'exists', 'If(Version == 0) fails for an existing key');
    t.same(await reg.updateSubnet('10.244.1.0-24', 'v3', 60, 'not-v1'), { result: 'changed', current: 'v1' });
    t.same(await reg.updateSubnet('10.244.9.0-24', 'v3', 60, 'v1'), { result: 'missing' });
    t.same(await reg.updateSubnet('10.244.1.0-24', 'v3', 60, 'v1'), { result: 'updated' });
    t.equal(await reg.createSubnet('10.244.2.0-24', 'r', 0), 'created', 'ttl 0: no lease');
    const l = await reg.listSubnets();
    t.same(l.entries.map((e) => [e.key, e.value, e.leaseId !== null]), [['10.244.1.0-24', 'v3', true], ['10.244.2.0-24', 'r', false]]);
    t.ok(l.revision > 1);
    const raw = await etcd.list('/vxtun-test/network/subnets/');
    t.same(raw.map((kv) => kv.key), ['/vxtun-test/network/subnets/10.244.1.0-24', '/vxtun-test/network/subnets/10.244.2.0-24'], 'flannel\'s key layout');
    t.equal(raw[0]?.lease, l.entries[0]?.leaseId, 'the lease ID as etcd reports it');
    await reg.deleteSubnet('10.244.1.0-24');
    await reg.deleteSubnet('10.244.2.0-24');
  });

  t.test('a key attached to a 1 s lease disappears by itself', async (t) => {
    t.equal(await reg.createSubnet('10.244.3.0-24', 'short', 1), 'created');
    t.ok(await eventually(async () => (await reg.listSubnets()).entries.length === 0), 'expired');
  });

  t.test('watch: batches, compaction, and a restart of etcd', async (t) => {
    const { revision } = await reg.listSubnets();
    const got: Array<{ events: readonly SubnetEvent[]; rev: number }> = [];
    const status: string[] = [];
    const h = {
      onEvents: (events: readonly SubnetEvent[], rev: number) => got.push({ events, rev }),
      onCompacted: () => status.push('compacted'),
      onError: (e: Error) => status.push(`error ${e.message}`),
      onDisconnected: () => { if (status.at(-1) !== 'disconnected') status.push('disconnected'); },
      onConnected: () => status.push('connected'),
    };
    let stop = reg.watchSubnets(revision + 1, h);
    await reg.createSubnet('10.244.4.0-24', 'a', 0);
    await reg.deleteSubnet('10.244.4.0-24');
    t.ok(await eventually(() => got.flatMap((g) => g.events).length === 2));
    t.same(got.flatMap((g) => g.events), [{ type: 'put', key: '10.244.4.0-24', value: 'a', leaseId: null }, { type: 'delete', key: '10.244.4.0-24' }], 'in order (one or two batches)');
    t.ok(got.every((g) => g.rev > revision));
    stop();

    await reg.createSubnet('10.244.5.0-24', 'b', 0);
    await reg.createSubnet('10.244.6.0-24', 'c', 0);
    await etcd.compact();
    status.length = 0;
    stop = reg.watchSubnets(revision + 1, h);
    t.ok(await eventually(() => status.includes('compacted')), 'a watch from a compacted revision reports compaction');
    stop();

    const now = await reg.listSubnets();
    got.length = 0;
    status.length = 0;
    stop = reg.watchSubnets(now.revision + 1, h);
    t.ok(await eventually(() => status.includes('connected')));
    await etcd.members[0]!.kill();
    const err = await reg.listSubnets().catch((e: unknown) => e);
    t.ok(isStoreUnavailable(err), 'an unreachable store is StoreUnavailableError');
    t.match((err as Error).message, `etcd at ${etcd.endpoints[0]!} unreachable`);
    t.ok(await eventually(() => status.includes('disconnected')), 'the watch reports the disconnect');
    await etcd.members[0]!.restart();
    t.ok(await eventually(async () => (await reg.createSubnet('10.244.7.0-24', 'd', 0).catch(() => 'down')) === 'created', 150), 'etcd is back');
    t.ok(await eventually(() => got.some((g) => g.events.some((e) => e.key === '10.244.7.0-24')), 150), 'the watch resumed by itself');
    t.same(status.filter((s) => s.startsWith('error') || s === 'compacted'), []);
    stop();
  });

  t.test('the manager writes flannel\'s lease, keeps subnet and MAC across a restart, and notices revocation', async (t) => {
    await etcd.del('/vxtun-test/network/subnets/', { prefix: true });
    const cap = captureLog();
    const make = () => new EtcdSubnetManager({ registry: new Etcd3Registry({ endpoints: etcd.endpoints, prefix: '/vxtun-test/network' }), log: cap.log, subnetFile: '/nonexistent/subnet.env', renewMarginSec: 3600 });
    const req = { publicIp: parseIpv4('192.168.50.1')!, newMac: () => '02:ab:cd:00:00:01' };
    const m1 = make();
    const lease = await m1.acquireLease(req);
    const [kv] = await etcd.list('/vxtun-test/network/subnets/');
    t.equal(kv?.key, `/vxtun-test/network/subnets/${lease.key}`);
    t.equal(kv?.value, value('192.168.50.1', '02:ab:cd:00:00:01'), 'byte for byte what flanneld writes');
    t.not(kv?.lease, '0', 'attached to an etcd lease');
    const ttl = await etcd.ctl(['lease', 'timetolive', BigInt(kv!.lease).toString(16)]);
    t.match(ttl.stdout, /granted with TTL\(86400s\)/, 'a 24 h TTL');
    await m1.close();

    const m2 = make();
    const again = await m2.acquireLease({ ...req, newMac: () => '02:ff:ff:ff:ff:ff' });
    t.equal(again.key, lease.key, 'same subnet');
    t.equal(again.vtepMac, '02:ab:cd:00:00:01', 'same MAC');
    const lost: string[] = [];
    m2.onLeaseLost((r) => lost.push(r));
    const snaps: number[] = [];
    m2.watchLeases((ls) => snaps.push(ls.length));
    await etcd.del(`/vxtun-test/network/subnets/${lease.key}`);
    t.ok(await eventually(() => lost.length === 1), 'lease lost');
    t.match(lost[0], /was deleted from etcd before it expired/);
    await m2.close();
  });
});
