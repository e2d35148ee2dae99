// SPDX-License-Identifier: Apache-2.0
/**
 * deploy/kube-vxtun.yml and deploy/vxtun.service: the YAML parses (with the YAML loader
 * of @kubernetes/client-node, already a dependency) into flannel's objects, its
 * net-conf.json is accepted by vxtun's own parser, and the container's and the unit's
 * flags are accepted by `vxtun run`'s own flag parser. The unit is also checked by
 * `systemd-analyze verify` when that tool exists (with the binary paths pointed at
 * /bin/true, since vxtun need not be installed here).
 */
import t from 'tap';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllYaml } from '@kubernetes/client-node';
import { parseNetConf } from '../../src/config/netconf.js';
import { parseRunArgs } from '../../src/cli/run-command.js';
import { tryRun } from '../../src/lab/netns.js';

const DEPLOY = fileURLToPath(new URL('../../../deploy/', import.meta.url));
type Obj = Record<string, any>;

t.test('kube-vxtun.yml: flannel\'s objects, valid config, flags vxtun accepts', async (t) => {
  const docs = loadAllYaml(readFileSync(path.join(DEPLOY, 'kube-vxtun.yml'), 'utf8')).filter((d) => d !== null) as Obj[];
  t.same(docs.map((d) => d.kind), ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ServiceAccount', 'ConfigMap', 'DaemonSet']);
  const by = (kind: string): Obj => docs.find((d) => d.kind === kind)!;
  t.equal(by('Namespace').metadata.name, 'kube-flannel');
  t.same(by('ClusterRole').rules, [
    { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
    { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
  ]);
  t.match(by('ClusterRoleBinding'), { roleRef: { kind: 'ClusterRole', name: 'flannel' }, subjects: [{ kind: 'ServiceAccount', name: 'flannel', namespace: 'kube-flannel' }] });
  t.match(by('ServiceAccount').metadata, { name: 'flannel', namespace: 'kube-flannel' });

  const cm = by('ConfigMap');
  t.match(cm.metadata, { name: 'kube-flannel-cfg', namespace: 'kube-flannel' });
  const net = parseNetConf('net-conf.json', cm.data['net-conf.json'] as string);
  t.equal(net.backend.vni, 1, 'vxtun accepts the net-conf.json (VNI 1)');
  t.equal(net.backend.port, 8472);
  const cni = JSON.parse(cm.data['cni-conf.json'] as string) as Obj;
  t.match(cni, { name: 'cbr0', cniVersion: '0.3.1', plugins: [{ type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } }, { type: 'portmap', capabilities: { portMappings: true } }] });

  const ds = by('DaemonSet');
  t.equal(ds.metadata.namespace, 'kube-flannel');
  const pod = ds.spec.template.spec as Obj;
  t.same(ds.spec.selector.matchLabels, { app: ds.spec.template.metadata.labels.app }, 'selector matches the template');
  t.equal(pod.hostNetwork, true);
  t.equal(pod.serviceAccountName, 'flannel');
  const main = pod.containers[0] as Obj;
  t.same(main.securityContext.capabilities.add, ['NET_ADMIN', 'NET_RAW']);
  t.same(main.args, ['--ip-masq', '--kube-subnet-mgr', '--healthz-port=8081']);
  const parsed = parseRunArgs(main.args as string[], { NODE_NAME: 'n1', EVENT_QUEUE_DEPTH: '5000' });
  t.match(parsed, { kind: 'run', flags: { ipMasq: true, kubeSubnetMgr: true, subnetMgr: 'kube', healthzPort: 8081 } }, 'vxtun run accepts the args');
  t.match(main.livenessProbe, { httpGet: { path: '/healthz', port: 8081 } });
  t.same((main.env as Obj[]).find((e) => e.name === 'NODE_NAME')?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
  const mounts = Object.fromEntries((main.volumeMounts as Obj[]).map((m) => [m.mountPath, m.name]));
  for (const p of ['/run/flannel', '/etc/kube-flannel/', '/dev/net/tun', '/run/xtables.lock']) t.ok(mounts[p], `mounts ${p}`);
  const volumes = Object.fromEntries((pod.volumes as Obj[]).map((v) => [v.name, v]));
  t.equal(volumes[mounts['/dev/net/tun']!].hostPath.type, 'CharDevice');
  t.equal(volumes[mounts['/run/xtables.lock']!].hostPath.type, 'FileOrCreate');
  const hostPaths = (pod.volumes as Obj[]).map((v) => v.hostPath?.path).filter(Boolean);
  for (const p of ['/run/flannel', '/etc/cni/net.d', '/opt/cni/bin', '/dev/net/tun', '/run/xtables.lock']) t.ok(hostPaths.includes(p), `hostPath ${p}`);
  for (const c of [...(pod.initContainers as Obj[]), main]) {
    for (const m of c.volumeMounts as Obj[]) t.ok(volumes[m.name], `${c.name}: volume ${m.name} exists`);
  }
  const installer = (pod.initContainers as Obj[]).find((c) => c.name === 'install-cni-plugin')!;
  t.match(installer.command.join(' '), /\/opt\/cni\/bin\/flannel/, 'installs the CNI plugin as /opt/cni/bin/flannel');
  t.match(installer.command.join(' '), /vxtun-cni\.js/);
  const conflist = (pod.initContainers as Obj[]).find((c) => c.name === 'install-cni')!;
  t.same(conflist.args, ['-f', '/etc/kube-flannel/cni-conf.json', '/etc/cni/net.d/10-flannel.conflist']);
});

/** The unit's [Section] → key → values (continuation lines joined). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n');
  for (const line of lines) {
    if (/^\s*(#|;|$)/.test(line)) continue;
    const s = /^\[(\w+)\]$/.exec(line.trim());
    if (s) { section = s[1]!; out[section] = {}; continue; }
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (!kv || section === '') throw new Error(`not a unit line: ${line}`);
    ((out[section]![kv[1]!] ??= [])).push(kv[2]!.trim());
  }
  return out;
}

t.test('vxtun.service: flanneld-like flags vxtun accepts, restart, cleanup, capabilities', async (t) => {
  const text = readFileSync(path.join(DEPLOY, 'vxtun.service'), 'utf8');
  const u = parseUnit(text);
  t.same(Object.keys(u), ['Unit', 'Service', 'Install']);
  const svc = u.Service!;
  const exec = svc.ExecStart![0]!.split(/\s+/);
  t.same(exec.slice(0, 2), ['/usr/local/bin/vxtun', 'run']);
  const parsed = parseRunArgs(exec.slice(2), {});
  t.match(parsed, { kind: 'run', flags: { subnetMgr: 'etcd', etcdEndpoints: ['http://127.0.0.1:2379'], ipMasq: true, healthzPort: 8081,
    subnetFile: '/run/flannel/subnet.env', controlSocket: '/run/vxtun/flannel.1.sock', metricsAddress: '127.0.0.1:9472' } }, 'vxtun run accepts the flags');
  t.same(svc.Restart, ['on-failure']);
  t.match(svc.ExecStopPost![0], /^\/usr\/local\/bin\/vxtun down /);
  t.same(svc.CapabilityBoundingSet, ['CAP_NET_ADMIN CAP_NET_RAW']);
  t.same(u.Install!.WantedBy, ['multi-user.target']);

  const analyze = tryRun(['systemd-analyze', '--version']);
  if (analyze.status !== 0) { t.comment('systemd-analyze not installed: unit syntax not verified by systemd'); return; }
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const copy = path.join(dir, 'vxtun.service');
  writeFileSync(copy, text.replaceAll('/usr/local/bin/vxtun', '/bin/true'));
  const r = tryRun(['systemd-analyze', 'verify', copy]);
  t.equal(r.status, 0, `systemd-analyze verify: ${r.stderr.trim()}`);
  t.notMatch(r.stderr, /Unknown (key|section)|Invalid|Failed to parse/i, 'no unknown or invalid settings');
});
