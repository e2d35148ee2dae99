// SPDX-License-Identifier: Apache-2.0
// The Kubernetes API test double: the wire format of list/get/watch/patch of Nodes and get
// of a Pod, checked with plain HTTP on 127.0.0.1 and with @kubernetes/client-node through
// its kubeconfig; and (root only) the double running inside a lab node, reached from
// another node over the lab underlay.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'node:http';
import { KubeApiDouble } from '../../src/lab/kube-api-double.js';
import { NsKubeApiDouble } from '../../src/lab/kube-api-double-ns.js';
import { createCluster } from '../../src/lab/cluster.js';
import { netnsSkipReason } from '../../src/lab/netns.js';
import { execAsync } from '../../src/lab/proc.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function http(url: string, method = 'GET', body?: string, contentType?: string): Promise<{ status: number; json: Obj; type: string }> {
  const res = await fetch(url, { method, ...(body !== undefined ? { body } : {}), headers: contentType ? { 'Content-Type': contentType } : {} });
  return { status: res.status, json: (await res.json()) as Obj, type: res.headers.get('content-type') ?? '' };
}

/** Opens a watch and collects its lines until `count` arrived or the stream ends. */
function watchLines(url: string, count: number): Promise<{ lines: Obj[]; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const lines: Obj[] = [];
    let buf = '';
    const req = request(url, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buf.slice(0, i)) as Obj);
          buf = buf.slice(i + 1);
        }
        if (lines.length >= count) { req.destroy(); resolve({ lines, ended: false }); }
      });
      res.on('end', () => resolve({ lines, ended: true }));
    });
    req.on('error', (err) => { if (lines.length < count) reject(err); });
    req.end();
  });
}

t.test('list, get, 404 Status, pods', async (t) => {
  const d = await KubeApiDouble.start();
  t.teardown(() => d.close());
  t.match(d.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  d.addNode({ name: 'a', podCIDR: '10.244.1.0/24', annotations: { x: 'y' } });
  d.addNode({ name: 'b' });
  const list = await http(`${d.url}/api/v1/nodes`);
  t.equal(list.status, 200);
  t.equal(list.type, 'application/json');
  t.equal(list.json['kind'], 'NodeList');
  t.equal(list.json['metadata']['resourceVersion'], String(d.resourceVersion));
  t.same(list.json['items'].map((n: Obj) => n['metadata']['name']), ['a', 'b']);
  const a = await http(`${d.url}/api/v1/nodes/a`);
  t.same(a.json['spec'], { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] });
  t.same(a.json['metadata']['annotations'], { x: 'y' });
  const missing = await http(`${d.url}/api/v1/nodes/zz`);
  t.equal(missing.status, 404);
  t.match(missing.json, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: 'nodes "zz" not found' });
  d.addPod('kube-flannel', 'p1', 'a');
  t.equal((await http(`${d.url}/api/v1/namespaces/kube-flannel/pods/p1`)).json['spec']['nodeName'], 'a');
  t.equal((await http(`${d.url}/api/v1/namespaces/kube-flannel/pods/p2`)).status, 404);
  t.equal((await http(`${d.url}/api/v1/services`)).status, 404, 'nothing else is served');
  t.equal(d.requests.length, 6, 'every request recorded');
  t.same(d.requests[0], { method: 'GET', url: '/api/v1/nodes', contentType: undefined, body: '' });
});

t.test('PATCH: strategic merge (conditions by type), merge patch, json patch, status subresource', async (t) => {
  const d = await KubeApiDouble.start();
  t.teardown(() => d.close());
  d.addNode({ name: 'a', podCIDR: '10.244.1.0/24', annotations: { keep: '1', drop: '2' } });
  const rv0 = d.resourceVersion;
  const smp = await http(`${d.url}/api/v1/nodes/a/status`, 'PATCH', JSON.stringify({
    metadata: { annotations: { added: '3', drop: null } },
    spec: { podCIDR: '10.9.9.0/24' },
    status: { conditions: [{ type: 'NetworkUnavailable', status: 'False', reason: 'FlannelIsUp' }, { type: 'Ready', status: 'False' }] },
  }), 'application/strategic-merge-patch+json');
  t.equal(smp.status, 200);
  t.same(smp.json['metadata']['annotations'], { keep: '1', added: '3' });
  t.equal(smp.json['spec']['podCIDR'], '10.244.1.0/24', 'the status subresource ignores spec');
  t.same(smp.json['status']['conditions'].map((c: Obj) => [c['type'], c['status']]), [['Ready', 'False'], ['NetworkUnavailable', 'False']]);
  t.equal(smp.json['status']['conditions'][0]['reason'], 'KubeletReady', 'merged into the existing Ready condition');
  t.equal(smp.json['metadata']['resourceVersion'], String(rv0 + 1));
  const same = await http(`${d.url}/api/v1/nodes/a/status`, 'PATCH', '{"metadata":{"annotations":{"keep":"1"}}}', 'application/strategic-merge-patch+json');
  t.equal(same.json['metadata']['resourceVersion'], String(rv0 + 1), 'a no-op patch writes nothing');
  const mp = await http(`${d.url}/api/v1/nodes/a`, 'PATCH', '{"metadata":{"labels":{"r":"w"}},"status":{"conditions":[]}}', 'application/merge-patch+json');
  t.equal(mp.json['metadata']['labels']['r'], 'w');
  t.equal(mp.json['status']['conditions'].length, 2, 'the main resource ignores status');
  const jp = await http(`${d.url}/api/v1/nodes/a/status`, 'PATCH',
    JSON.stringify([{ op: 'test', path: '/metadata/annotations/keep', value: '1' }, { op: 'replace', path: '/metadata/annotations/keep', value: 'k' },
      { op: 'add', path: '/metadata/annotations/a~1b', value: 'slash' }, { op: 'remove', path: '/metadata/annotations/added' }]), 'application/json-patch+json');
  t.same(jp.json['metadata']['annotations'], { keep: 'k', 'a/b': 'slash' });
  const failed = await http(`${d.url}/api/v1/nodes/a/status`, 'PATCH', '[{"op":"test","path":"/metadata/name","value":"b"}]', 'application/json-patch+json');
  t.equal(failed.status, 422);
  t.equal((await http(`${d.url}/api/v1/nodes/a/status`, 'PATCH', '{}', 'application/json')).status, 415);
  t.equal((await http(`${d.url}/api/v1/nodes/a/status`, 'PATCH', '{', 'application/merge-patch+json')).status, 400);
  t.equal((await http(`${d.url}/api/v1/nodes/zz/status`, 'PATCH', '{}', 'application/merge-patch+json')).status, 404);
  const rec = d.requests.find((r) => r.method === 'PATCH')!;
  t.equal(rec.contentType, 'application/strategic-merge-patch+json');
  t.match(rec.body, /"drop":null/);
});

t.test('watch: from a resourceVersion, from 0, 410 after compact, timeoutSeconds, closeWatches', async (t) => {
  const d = await KubeApiDouble.start();
  t.teardown(() => d.close());
  d.addNode({ name: 'a' });
  const rv = d.resourceVersion;
  const live = watchLines(`${d.url}/api/v1/nodes?watch=true&resourceVersion=${rv}`, 3);
  await new Promise((r) => setTimeout(r, 50));
  d.addNode({ name: 'b' });
  d.setAnnotations('b', { k: 'v' });
  d.deleteNode('a');
  const got = await live;
  t.same(got.lines.map((l) => [l['type'], l['object']['metadata']['name'], l['object']['metadata']['resourceVersion']]),
    [['ADDED', 'b', String(rv + 1)], ['MODIFIED', 'b', String(rv + 2)], ['DELETED', 'a', String(rv + 3)]]);
  const replay = await watchLines(`${d.url}/api/v1/nodes?watch=1&resourceVersion=${rv + 1}`, 2);
  t.same(replay.lines.map((l) => l['type']), ['MODIFIED', 'DELETED'], 'history after the given resourceVersion');
  const initial = await watchLines(`${d.url}/api/v1/nodes?watch=true&resourceVersion=0`, 1);
  t.same(initial.lines.map((l) => [l['type'], l['object']['metadata']['name']]), [['ADDED', 'b']], '"0": the current nodes first');
  d.compact();
  const gone = await watchLines(`${d.url}/api/v1/nodes?watch=true&resourceVersion=${rv}`, 5);
  t.equal(gone.ended, true);
  t.match(gone.lines, [{ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }]);
  const timed = await watchLines(`${d.url}/api/v1/nodes?watch=true&resourceVersion=${d.resourceVersion}&timeoutSeconds=1`, 1);
  t.same(timed, { lines: [], ended: true }, 'timeoutSeconds ends the stream');
  const closed = watchLines(`${d.url}/api/v1/nodes?watch=true&resourceVersion=${d.resourceVersion}`, 1);
  while (d.watchCount === 0) await new Promise((r) => setTimeout(r, 10));
  d.closeWatches();
  t.same(await closed, { lines: [], ended: true }, 'closeWatches ends open streams');
  d.setAvailable(false);
  t.equal((await http(`${d.url}/api/v1/nodes`)).status, 503);
  d.setAvailable(true);
  t.equal((await http(`${d.url}/api/v1/nodes`)).status, 200);
});

t.test('@kubernetes/client-node works against it through writeKubeconfig', async (t) => {
  const d = await KubeApiDouble.start();
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-kc-'));
  t.teardown(async () => { await d.close(); rmSync(dir, { recursive: true, force: true }); });
  d.addNode({ name: 'a', podCIDR: '10.244.1.0/24' });
  const file = path.join(dir, 'kubeconfig');
  d.writeKubeconfig(file);
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const list = await core.listNode();
  t.equal(list.items[0]?.spec?.podCIDR, '10.244.1.0/24');
  const patched = await core.patchNodeStatus({ name: 'a', body: { metadata: { annotations: { z: '1' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
  t.equal(patched.metadata?.annotations?.['z'], '1');
  t.equal(d.requests.at(-1)?.contentType, 'application/strategic-merge-patch+json');
});

t.test('inside a lab node, reached from another node over the underlay', { skip: netnsSkipReason() ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vxkd', nodes: [{ name: 'api', pods: 0 }, { name: 'client', pods: 0 }] });
  t.teardown(() => cluster.destroy());
  const [apiNode, client] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const d = await NsKubeApiDouble.start(apiNode, { port: 6443 });
  t.teardown(() => d.stop());
  t.equal(d.url, `http://${apiNode.underlayIp}:6443`);
  await d.addNode({ name: 'n1', podCIDR: '10.244.1.0/24' });
  const script = `fetch(${JSON.stringify(`${d.url}/api/v1/nodes/n1`)}).then(r => r.json()).then(n => console.log(n.spec.podCIDR))`;
  const r = await execAsync(client.ns.argv(process.execPath, '-e', script));
  t.equal(r.stdout.trim(), '10.244.1.0/24', r.stderr);
  await d.setAnnotations('n1', { a: 'b' });
  t.equal(((await d.node('n1'))?.['metadata'] as Obj)['annotations']['a'], 'b');
  t.equal((await d.requests()).length, 1);
  await t.rejects(d.deleteNode('nope'), /kube API double: no node nope/);
  await d.stop();
  t.not(d.child.exitCode, null, 'the child exits when stopped');
});
