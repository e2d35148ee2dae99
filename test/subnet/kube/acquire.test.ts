// SPDX-License-Identifier: Apache-2.0
// KubeSubnetManager.acquireLease against the Kubernetes API double on 127.0.0.1: the
// lease comes from spec.podCIDR, the annotations are PATCHed exactly as flanneld writes
// them (strategic merge on nodes/<name>/status, only when they differ), the stored MAC
// is reused, the public-IP annotations are honoured, and every failure says which node
// and which field.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { formatCidr } from '../../../src/config/cidr.js';
import { flanneldStoredMac } from '../../../src/subnet/kube/index.js';
import { captureLogger, flannelAnnotations, IP1, MAC1, manager, P, request, setup, waitFor } from './helpers.js';

const SMP = 'application/strategic-merge-patch+json';

t.test('acquires the node podCIDR and publishes flanneld\'s annotations in one strategic-merge PATCH', async (t) => {
  const env = await setup(t);
  env.api.addNode({ name: 'node1', podCIDR: '10.244.7.0/24' });
  const m = await manager(t, env);
  const req = request();
  const own = await m.acquireLease(req);
  t.equal(formatCidr(own.subnet), '10.244.7.0/24');
  t.equal(own.key, '10.244.7.0-24');
  t.equal(own.vtepMac, MAC1, 'no stored MAC: the fresh one');
  t.equal(req.calls, 1);
  t.equal(own.publicIp, IP1);
  const patches = env.api.requests.filter((r) => r.method === 'PATCH');
  t.equal(patches.length, 2, 'annotations, then the NetworkUnavailable condition');
  t.equal(patches[0]!.url, '/api/v1/nodes/node1/status');
  t.equal(patches[0]!.contentType, SMP);
  t.equal(patches[0]!.body, JSON.stringify({ metadata: { annotations: {
    [`${P}/backend-data`]: '{"VNI":1,"VtepMAC":"02:aa:00:00:00:01"}',
    [`${P}/backend-type`]: 'vxlan',
    [`${P}/kube-subnet-manager`]: 'true',
    [`${P}/public-ip`]: '192.168.1.1',
  } } }), 'exact body: keys sorted as Go marshals a map, values exactly flanneld\'s');
  const ann = (env.api.node('node1')!['metadata'] as { annotations: Record<string, string> }).annotations;
  t.equal(ann[`${P}/backend-data`], '{"VNI":1,"VtepMAC":"02:aa:00:00:00:01"}');
  t.equal(flanneldStoredMac(ann[`${P}/backend-data`]!), MAC1, 'flanneld\'s naive parser reads our backend-data');
});

t.test('sets NetworkUnavailable=False (FlannelIsUp) and keeps the other conditions', async (t) => {
  const env = await setup(t);
  env.api.addNode({ name: 'node1', podCIDR: '10.244.1.0/24' });
  const m = await manager(t, env);
  await m.acquireLease(request());
  const patch = env.api.requests.filter((r) => r.method === 'PATCH')[1]!;
  t.equal(patch.url, '/api/v1/nodes/node1/status');
  t.equal(patch.contentType, SMP);
  t.match(patch.body, /^\{"status":\{"conditions":\[\{"type":"NetworkUnavailable","status":"False","lastHeartbeatTime":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","lastTransitionTime":"[^"]+","reason":"FlannelIsUp","message":"Flannel is running on this node"\}\]\}\}$/,
    'flanneld\'s CompleteLease body, Go field order and metav1.Time format');
  const conds = ((env.api.node('node1')!['status'] as { conditions: Array<{ type: string; status: string; reason?: string }> }).conditions);
  t.same(conds.map((c) => [c.type, c.status]), [['Ready', 'True'], ['NetworkUnavailable', 'False']], 'merged by type');
  t.equal(conds[1]!.reason, 'FlannelIsUp');
});

t.test('with setNodeNetworkUnavailable false no condition is written', async (t) => {
  const env = await setup(t);
  env.api.addNode({ name: 'node1', podCIDR: '10.244.1.0/24' });
  const m = await manager(t, env, { setNodeNetworkUnavailable: false });
  await m.acquireLease(request());
  t.equal(env.api.requests.filter((r) => r.method === 'PATCH' && r.body.includes('conditions')).length, 0);
});

t.test('a restart reuses the VtepMAC stored in backend-data and patches nothing when nothing differs', async (t) => {
  const env = await setup(t);
  env.api.addNode({ name: 'node1', podCIDR: '10.244.1.0/24', annotations: flannelAnnotations('0e:11:22:33:44:55', '192.168.1.1') });
  const m = await manager(t, env, { setNodeNetworkUnavailable: false });
  const req = request();
  const own = await m.acquireLease(req);
  t.equal(own.vtepMac, '0e:11:22:33:44:55', 'the stored MAC');
  t.equal(req.calls, 0, 'no new MAC drawn');
  t.equal(env.api.requests.filter((r) => r.method === 'PATCH').length, 0, 'annotations already right: no PATCH');
});

t.test('a stored MAC that is not usable is replaced by a new one', async (t) => {
  for (const bad of ['{"VNI":1,"VtepMAC":"ff:ff:ff:ff:ff:ff"}', 'not json', '{"VNI":1}']) {
    const env = await setup(t);
    env.api.addNode({ name: 'node1', podCIDR: '10.244.1.0/24', annotations: { [`${P}/backend-data`]: bad } });
    const m = await manager(t, env);
    const own = await m.acquireLease(request());
    t.equal(own.vtepMac, MAC1, `backend-data ${bad}`);
  }
});

t.test('only the annotations that differ are sent', async (t) => {
  const env = await setup(t);
  const ann = flannelAnnotations(MAC1, '192.168.1.99');
  env.api.addNode({ name: 'node1', podCIDR: '10.244.1.0/24', annotations: ann });
  const m = await manager(t, env, { setNodeNetworkUnavailable: false });
  await m.acquireLease(request());
  const patches = env.api.requests.filter((r) => r.method === 'PATCH');
  t.equal(patches.length, 1);
  t.equal(patches[0]!.body, JSON.stringify({ metadata: { annotations: { [`${P}/public-ip`]: '192.168.1.1' } } }));
});

t.test('public-ip-overwrite is advertised; node-public-ip replaces our address', async (t) => {
  const env = await setup(t);
  env.api.addNode({ name: 'node1', podCIDR: '10.244.1.0/24', annotations: { [`${P}/public-ip-overwrite`]: '203.0.113.9' } });
  const { log, lines } = captureLogger();
  const m = await manager(t, env, { log, setNodeNetworkUnavailable: false });
  const own = await m.acquireLease(request());
  t.equal(own.publicIp, 0xcb007109, 'our lease carries the advertised address');
  t.match(env.api.requests.find((r) => r.method === 'PATCH')!.body, `"${P}/public-ip":"203.0.113.9"`);
  t.ok(lines.some((l) => l['annotation'] === `${P}/public-ip-overwrite`), 'the override is logged');

  const env2 = await setup(t);
  env2.api.addNode({ name: 'node1', podCIDR: '10.244.1.0/24', annotations: { [`${P}/node-public-ip`]: '198.51.100.4' } });
  const m2 = await manager(t, env2, { setNodeNetworkUnavailable: false });
  const own2 = await m2.acquireLease(request());
  t.equal(own2.publicIp, 0xc6336404);
  t.match(env2.api.requests.find((r) => r.method === 'PATCH')!.body, `"${P}/public-ip":"198.51.100.4"`);
});

t.test('a malformed public-ip annotation is refused by name', async (t) => {
  const env = await setup(t);
  env.api.addNode({ name: 'node1', podCIDR: '10.244.1.0/24', annotations: { [`${P}/public-ip-overwrite`]: 'nat-gw' } });
  const m = await manager(t, env);
  await t.rejects(m.acquireLease(request()), { name: 'ConfigError', message: `node node1: ${P}/public-ip-overwrite: "nat-gw" is not an IPv4 address` });
});

t.test('no podCIDR: "node <name> pod cidr not assigned", nothing published', async (t) => {
  const env = await setup(t);
  env.api.addNode({ name: 'node1' });
  const m = await manager(t, env);
  await t.rejects(m.acquireLease(request()), { name: 'ConfigError', message: /^node "node1" pod cidr not assigned: spec\.podCIDR is empty/ });
  t.equal(env.api.requests.filter((r) => r.method === 'PATCH').length, 0);
  await waitFor(() => env.api.watchCount === 0, 'the node watch stopped after the failed acquire');
  t.pass('a failed acquire leaves no watch behind (the daemon can exit)');
});

t.test('a podCIDR outside Network is refused naming node, field, value and file', async (t) => {
  const env = await setup(t);
  env.api.addNode({ name: 'node1', podCIDR: '10.99.1.0/24' });
  const m = await manager(t, env);
  await t.rejects(m.acquireLease(request()), { message: `node node1: spec.podCIDR: "10.99.1.0/24" is not inside Network 10.244.0.0/16 of ${env.netConf}` });
  t.equal(env.api.requests.filter((r) => r.method === 'PATCH').length, 0);
});

t.test('waits for a node registered late, and gives up with a clear error', async (t) => {
  const env = await setup(t);
  const { log, lines } = captureLogger();
  const m = await manager(t, env, { log });
  const pending = m.acquireLease(request());
  setTimeout(() => env.api.addNode({ name: 'node1', podCIDR: '10.244.3.0/24' }), 200);
  t.equal((await pending).key, '10.244.3.0-24');
  t.ok(lines.some((l) => l['msg'] === 'our node is not in the Kubernetes API yet; waiting for it'), 'the wait is logged');

  const env2 = await setup(t);
  const m2 = await manager(t, env2, { nodeName: 'ghost', tuning: { nodeWaitMs: 300 } });
  await t.rejects(m2.acquireLease(request()), { name: 'UsageError', message: /^node "ghost" is not registered in the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ \(waited 0.3 s\)/ });
});

t.test('the node name comes from POD_NAME/POD_NAMESPACE when NODE_NAME is unset', async (t) => {
  const env = await setup(t);
  env.api.addNode({ name: 'worker7', podCIDR: '10.244.9.0/24' });
  env.api.addPod('kube-flannel', 'kube-flannel-ds-abcde', 'worker7');
  const vars = ['NODE_NAME', 'POD_NAME', 'POD_NAMESPACE'] as const;
  const saved = vars.map((k) => process.env[k]);
  t.teardown(() => vars.forEach((k, i) => { if (saved[i] === undefined) delete process.env[k]; else process.env[k] = saved[i]; }));
  delete process.env['NODE_NAME'];
  process.env['POD_NAME'] = 'kube-flannel-ds-abcde';
  process.env['POD_NAMESPACE'] = 'kube-flannel';
  const m = await manager(t, env, { nodeName: undefined as unknown as string });
  t.equal((await m.acquireLease(request())).key, '10.244.9.0-24');
  t.ok(env.api.requests.some((r) => r.url === '/api/v1/namespaces/kube-flannel/pods/kube-flannel-ds-abcde'));
  process.env['POD_NAME'] = 'missing';
  await t.rejects(manager(t, env, { nodeName: undefined as unknown as string }), { message: /error retrieving pod spec for 'kube-flannel\/missing'.*HTTP 404: pods "missing" not found/ });
  delete process.env['POD_NAME'];
  await t.rejects(manager(t, env, { nodeName: undefined as unknown as string }), { name: 'UsageError', message: /set NODE_NAME, or POD_NAME and POD_NAMESPACE/ });
});

t.test('net-conf.json problems are ConfigErrors naming the file', async (t) => {
  const env = await setup(t, { Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } });
  const m = await manager(t, env);
  await t.rejects(m.getNetworkConfig(), { name: 'ConfigError', file: env.netConf, key: 'Backend.Type' });
  writeFileSync(env.netConf, JSON.stringify({ Network: '10.244.0.0/28', Backend: { Type: 'vxlan' } }));
  const m2 = await manager(t, env);
  t.equal((await m2.getNetworkConfig()).network.prefixLen, 28, 'kube mode applies no SubnetLen checks (flanneld neither)');
});

t.test('a bad --kube-annotation-prefix is refused by name', async (t) => {
  const env = await setup(t);
  await t.rejects(manager(t, env, { annotationPrefix: 'a/b/c' }), { name: 'ConfigError', key: '--kube-annotation-prefix' });
});

t.test('an unreachable API server fails the acquire after the wait, with the server\'s answer', async (t) => {
  const env = await setup(t);
  env.api.addNode({ name: 'node1', podCIDR: '10.244.1.0/24' });
  env.api.setAvailable(false);
  const m = await manager(t, env, { tuning: { nodeWaitMs: 300 } });
  await t.rejects(m.acquireLease(request()), { message: /^cannot list nodes from the Kubernetes API within 0\.3 s: GET nodes \(http:\/\/127\.0\.0\.1:\d+\): HTTP 503: the API test double is set unavailable$/ });
});
