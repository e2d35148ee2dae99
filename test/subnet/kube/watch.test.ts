// SPDX-License-Identifier: Apache-2.0
// KubeSubnetManager.watchLeases/onLeaseLost against the API double: nodes added, changed
// and deleted become full lease snapshots (ours first included); non-flannel nodes,
// nodes of another backend and nodes with garbage annotations are left out (the last two
// logged with the node name); the watch survives closed streams, 410 Gone and an API
// outage (keeping the last snapshot); our node's deletion is a lost lease.
import t, { type Test } from 'tap';
import { captureLogger, flannelAnnotations, manager, P, recordLeases, request, setup, waitFor } from './helpers.js';

const OWN = '10.244.1.0-24 192.168.1.1 02:aa:00:00:00:01';
const N2 = '10.244.2.0-24 192.168.1.2 02:aa:00:00:00:02';
const N3 = '10.244.3.0-24 192.168.1.3 02:aa:00:00:00:03';

async function started(t: Test) {
  const env = await setup(t);
  env.api.addNode({ name: 'node1', podCIDR: '10.244.1.0/24' });
  env.api.addNode({ name: 'node2', podCIDR: '10.244.2.0/24', annotations: flannelAnnotations('02:aa:00:00:00:02', '192.168.1.2') });
  const { log, lines } = captureLogger();
  const m = await manager(t, env, { log });
  await m.acquireLease(request());
  const rec = recordLeases(m);
  return { env, m, rec, lines };
}

t.test('the first snapshot is immediate and holds our lease and the existing flannel nodes', async (t) => {
  const { rec } = await started(t);
  t.same(rec.snapshots, [[OWN, N2]], 'delivered synchronously by watchLeases');
});

t.test('added, modified and deleted nodes become new snapshots', async (t) => {
  const { env, rec } = await started(t);
  env.api.addNode({ name: 'node3', podCIDR: '10.244.3.0/24', annotations: flannelAnnotations('02:aa:00:00:00:03', '192.168.1.3') });
  await waitFor(() => rec.last().length === 3, 'node3 in a snapshot');
  t.same(rec.last(), [OWN, N2, N3]);
  env.api.setAnnotations('node3', { [`${P}/backend-data`]: '{"VNI":1,"VtepMAC":"02:aa:00:00:00:33"}', [`${P}/public-ip`]: '192.168.1.33' });
  await waitFor(() => rec.last().includes('10.244.3.0-24 192.168.1.33 02:aa:00:00:00:33'), 'node3 changed');
  env.api.deleteNode('node2');
  await waitFor(() => rec.last().length === 2, 'node2 gone');
  t.same(rec.last(), [OWN, '10.244.3.0-24 192.168.1.33 02:aa:00:00:00:33']);
  t.same(rec.snapshots.map((s) => s.length), [2, 3, 3, 2], 'one snapshot per lease change, none in between');
});

t.test('changes that do not touch any lease deliver nothing', async (t) => {
  const { env, rec } = await started(t);
  env.api.updateNode('node2', (n) => { (n['metadata'] as { labels: Record<string, string> }).labels['role'] = 'worker'; });
  env.api.addNode({ name: 'plain', podCIDR: '10.244.9.0/24' });
  env.api.addNode({ name: 'node3', podCIDR: '10.244.3.0/24', annotations: flannelAnnotations('02:aa:00:00:00:03', '192.168.1.3') });
  await waitFor(() => rec.last().length === 3, 'node3');
  t.same(rec.snapshots, [[OWN, N2], [OWN, N2, N3]], 'the label change and the non-flannel node made no snapshot');
});

t.test('garbage backend-data is ignored and logged with the node name, once', async (t) => {
  const { env, rec, lines } = await started(t);
  env.api.addNode({ name: 'badnode', podCIDR: '10.244.4.0/24', annotations: { ...flannelAnnotations('x', '192.168.1.4'), [`${P}/backend-data`]: '{"VNI":1,"VtepMAC":garbage' } });
  env.api.addNode({ name: 'node3', podCIDR: '10.244.3.0/24', annotations: flannelAnnotations('02:aa:00:00:00:03', '192.168.1.3') });
  await waitFor(() => rec.last().length === 3, 'node3');
  t.same(rec.last(), [OWN, N2, N3], 'badnode left out');
  const logged = lines.filter((l) => l['node'] === 'badnode');
  t.equal(logged.length, 1, 'reported once');
  t.equal(logged[0]!['level'], 40, 'a warning');
  t.match(String(logged[0]!['msg']), `node badnode: ${P}/backend-data: "{\\"VNI\\":1,\\"VtepMAC\\":garbage" is not JSON`);
  env.api.setAnnotations('badnode', { [`${P}/backend-data`]: '{"VNI":1,"VtepMAC":"02:aa:00:00:00:04"}' });
  await waitFor(() => rec.last().length === 4, 'badnode fixed');
  t.ok(rec.last().includes('10.244.4.0-24 192.168.1.4 02:aa:00:00:00:04'), 'fixed annotations are picked up');
});

t.test('a node of another backend type is ignored (and said so), as flanneld\'s vxlan backend does', async (t) => {
  const { env, rec, lines } = await started(t);
  env.api.addNode({ name: 'hostgw', podCIDR: '10.244.5.0/24', annotations: flannelAnnotations('02:aa:00:00:00:05', '192.168.1.5', { type: 'host-gw' }) });
  env.api.addNode({ name: 'node3', podCIDR: '10.244.3.0/24', annotations: flannelAnnotations('02:aa:00:00:00:03', '192.168.1.3') });
  await waitFor(() => rec.last().length === 3, 'node3');
  t.same(rec.last(), [OWN, N2, N3]);
  t.match(String(lines.find((l) => l['node'] === 'hostgw')?.['msg']), `node hostgw: ${P}/backend-type: "host-gw" is not "vxlan"`);
});

t.test('other unusable flannel nodes are reported by field', async (t) => {
  const { env, rec, lines } = await started(t);
  env.api.addNode({ name: 'nocidr', annotations: flannelAnnotations('02:aa:00:00:00:06', '192.168.1.6') });
  env.api.addNode({ name: 'outside', podCIDR: '10.99.0.0/24', annotations: flannelAnnotations('02:aa:00:00:00:07', '192.168.1.7') });
  env.api.addNode({ name: 'badip', podCIDR: '10.244.8.0/24', annotations: flannelAnnotations('02:aa:00:00:00:08', '224.0.0.1') });
  env.api.addNode({ name: 'dup', podCIDR: '10.244.2.0/24', annotations: flannelAnnotations('02:aa:00:00:00:09', '192.168.1.9') });
  env.api.addNode({ name: 'node3', podCIDR: '10.244.3.0/24', annotations: flannelAnnotations('02:aa:00:00:00:03', '192.168.1.3') });
  await waitFor(() => rec.last().length === 3, 'node3');
  t.same(rec.last(), [OWN, N2, N3]);
  const msg = (node: string): string => String(lines.find((l) => l['node'] === node)?.['msg']);
  t.match(msg('nocidr'), 'node nocidr: spec.podCIDR: (missing) is not assigned');
  t.match(msg('outside'), 'node outside: spec.podCIDR: "10.99.0.0/24" is not inside Network 10.244.0.0/16');
  t.match(msg('badip'), `node badip: ${P}/public-ip: "224.0.0.1" is a multicast address`);
  t.match(msg('dup'), 'node dup: spec.podCIDR: 10.244.2.0/24 is also node node2\'s');
});

t.test('the watch survives streams closed by the server and a 410 Gone re-list', async (t) => {
  const { env, rec } = await started(t);
  env.api.closeWatches();
  env.api.addNode({ name: 'node3', podCIDR: '10.244.3.0/24', annotations: flannelAnnotations('02:aa:00:00:00:03', '192.168.1.3') });
  await waitFor(() => rec.last().length === 3, 'node3 after a closed watch');
  // Close and, in the same tick, change + compact: the re-watch asks for a resourceVersion the server forgot.
  env.api.closeWatches();
  env.api.deleteNode('node2');
  env.api.compact();
  await waitFor(() => rec.last().length === 2, 'node2 gone after 410');
  t.same(rec.last(), [OWN, N3]);
  const lists = env.api.requests.filter((r) => r.method === 'GET' && r.url === '/api/v1/nodes');
  t.equal(lists.length, 2, 'one initial list, one re-list after 410');
});

t.test('an API outage keeps the last snapshot and the watch resumes afterwards', async (t) => {
  const { env, rec, lines } = await started(t);
  env.api.setAvailable(false);
  await waitFor(() => lines.some((l) => l['msg'] === 'listing/watching nodes failed; keeping the last known nodes and leases'), 'a failed re-list');
  t.same(rec.snapshots, [[OWN, N2]], 'nothing delivered while the API is down');
  env.api.addNode({ name: 'node3', podCIDR: '10.244.3.0/24', annotations: flannelAnnotations('02:aa:00:00:00:03', '192.168.1.3') });
  env.api.setAvailable(true);
  await waitFor(() => rec.last().length === 3, 'node3 after the outage');
  t.same(rec.last(), [OWN, N2, N3]);
});

t.test('our node deleted: onLeaseLost runs once with the reason; other nodes do not trigger it', async (t) => {
  const { env, m } = await started(t);
  const reasons: string[] = [];
  m.onLeaseLost((r) => reasons.push(r));
  env.api.deleteNode('node2');
  env.api.deleteNode('node1');
  await waitFor(() => reasons.length > 0, 'lease lost');
  t.same(reasons, ['node node1 was deleted from the Kubernetes API']);
});

t.test('stop() ends deliveries and close() ends the watch', async (t) => {
  const { env, m, rec } = await started(t);
  rec.stop();
  env.api.addNode({ name: 'node3', podCIDR: '10.244.3.0/24', annotations: flannelAnnotations('02:aa:00:00:00:03', '192.168.1.3') });
  await m.close();
  await waitFor(() => env.api.watchCount === 0, 'the watch stream closed');
  t.same(rec.snapshots, [[OWN, N2]]);
});

t.test('watchLeases before acquireLease is a programming error', async (t) => {
  const env = await setup(t);
  const m = await manager(t, env);
  t.throws(() => m.watchLeases(() => {}), /watchLeases before acquireLease/);
});
