// SPDX-License-Identifier: Apache-2.0
// The lab's etcd helper: members started and killed by PID, temp data dirs removed,
// 1 or 3 members on loopback, and a 3-member cluster across lab node namespaces that
// keeps serving when one member is killed.
import t from 'tap';
import { existsSync } from 'node:fs';
import { createCluster } from '../../src/lab/cluster.js';
import { EtcdCluster, etcdSkipReason } from '../../src/lab/etcd.js';
import { netnsSkipReason } from '../../src/lab/netns.js';

const skip = etcdSkipReason();

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('one member on loopback: by PID, restartable, destroyed without a trace', { skip: skip ?? false }, async (t) => {
  const etcd = await EtcdCluster.start();
  t.teardown(() => etcd.destroy());
  const m = etcd.members[0]!;
  t.match(m.clientUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.not(m.clientUrl, 'http://127.0.0.1:2379', 'never the default port');
  const pid = m.pid;
  t.ok(alive(pid), `etcd runs as pid ${pid}`);
  t.match(m.log(), /serving client traffic/);
  await etcd.put('/k', 'v1');
  await etcd.put('/leased', 'v2', { ttlSec: 60 });
  const kvs = await etcd.list('/');
  t.same(kvs.map((kv) => [kv.key, kv.value]), [['/k', 'v1'], ['/leased', 'v2']]);
  t.equal(kvs[0]!.lease, '0');
  t.match(kvs[1]!.lease, /^[1-9]\d+$/, 'a lease ID, as a decimal string');
  await m.kill();
  t.notOk(alive(pid), 'killed by PID');
  t.equal(m.pid, undefined);
  await m.restart();
  t.ok(alive(m.pid));
  t.same((await etcd.list('/k')).map((kv) => kv.value), ['v1'], 'data kept across the restart');
  t.equal(await etcd.del('/', { prefix: true }), 2);
  const dir = m.dataDir;
  const again = m.pid;
  etcd.destroy();
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(alive(again), 'destroy() killed it');
  t.notOk(existsSync(dir), 'data dir removed');
});

t.test('three members on loopback survive the loss of one', { skip: skip ?? false }, async (t) => {
  const etcd = await EtcdCluster.start({ members: 3 });
  t.teardown(() => etcd.destroy());
  t.equal(etcd.endpoints.length, 3);
  t.equal(new Set(etcd.endpoints).size, 3);
  await etcd.put('/a', '1');
  await etcd.member('m0').kill();
  await etcd.put('/b', '2');
  t.same((await etcd.list('/')).map((kv) => kv.key), ['/a', '/b'], 'quorum of two still writes');
  t.equal(etcd.member('m0').pid, undefined);
});

t.test('a member per lab node, on the underlay', { skip: skip ?? netnsSkipReason() ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vxetcd', podsPerNode: 0 });
  t.teardown(() => cluster.destroy());
  const etcd = await EtcdCluster.start({ nodes: cluster.nodes });
  t.teardown(() => etcd.destroy());
  t.same(etcd.endpoints, ['http://192.168.50.1:23791', 'http://192.168.50.2:23791', 'http://192.168.50.3:23791']);
  const health = await etcd.ctl(['endpoint', 'health']);
  t.equal(health.status, 0, health.stderr);
  t.equal((health.stdout + health.stderr).match(/is healthy/g)?.length, 3, 'every member healthy, reached over the underlay');
  await etcd.put('/x', 'y');
  const leader = await etcd.leader();
  t.ok(cluster.nodes.some((n) => n.name === leader.name), `the leader is ${leader.name}`);
  const pid = leader.pid;
  await leader.kill();
  t.notOk(alive(pid), 'the leader was killed by PID');
  await etcd.put('/z', 'w');
  t.same((await etcd.list('/')).map((kv) => kv.key), ['/x', '/z'], 'the two others elect a new leader and still write');
  t.not((await etcd.leader()).name, leader.name);
});
