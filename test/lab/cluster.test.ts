// SPDX-License-Identifier: Apache-2.0
// The lab's cluster builder: topology, addresses, spawn hooks, and cleanup (explicit,
// after a failed build, and from the process exit / signal handlers).
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { createCluster } from '../../src/lab/cluster.js';
import { netnsSkipReason, tryRun, uniqueSuffix, type Netns } from '../../src/lab/netns.js';
import { ping } from '../../src/lab/probe.js';

const skip = netnsSkipReason();

function namespaces(prefix: string): string[] {
  return tryRun(['ip', 'netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`${prefix}-`));
}

interface JAddr { ifname: string; mtu: number; operstate: string; flags: string[]; master?: string; addr_info: { family: string; local: string; prefixlen: number }[] }
function link(ns: Netns, dev: string): JAddr {
  const [a] = JSON.parse(ns.ip('-j', 'addr', 'show', 'dev', dev)) as JAddr[];
  if (!a) throw new Error(`no ${dev} in ${ns.name}`);
  return a;
}
function v4(a: JAddr): string[] {
  return a.addr_info.filter((x) => x.family === 'inet').map((x) => `${x.local}/${x.prefixlen}`);
}

t.test('default cluster: master + worker1 + worker2, two pods each', { skip: skip ?? false }, async (t) => {
  const c = createCluster({ name: 'vxlt' });
  t.teardown(() => c.destroy());
  t.match(c.prefix, /^vxlt-[0-9a-f]{6}$/);
  t.same(c.nodes.map((n) => n.name), ['master', 'worker1', 'worker2']);
  t.same(c.nodes.map((n) => n.subnet), ['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24']);
  t.same(c.nodes.map((n) => n.underlayIp), ['192.168.50.1', '192.168.50.2', '192.168.50.3']);
  t.same(c.pods.map((p) => `${p.name}=${p.ip}`), ['master-pod1=10.244.1.2', 'master-pod2=10.244.1.3',
    'worker1-pod1=10.244.2.2', 'worker1-pod2=10.244.2.3', 'worker2-pod1=10.244.3.2', 'worker2-pod2=10.244.3.3']);

  const expected = [`${c.prefix}-wire`, ...c.nodes.map((n) => n.ns.name), ...c.pods.map((p) => p.ns.name)];
  t.same(namespaces(c.prefix).sort(), expected.sort(), 'exactly the wire, node and pod namespaces exist');

  const ports = JSON.parse(c.wire.ip('-j', 'link', 'show', 'master', 'br0')) as { ifname: string }[];
  t.same(ports.map((p) => p.ifname).sort(), ['p0', 'p1', 'p2'], 'one wire port per node on br0');
  t.same(v4(link(c.wire, 'br0')), [], 'the wire has no addresses');

  for (const n of c.nodes) {
    const ul = link(n.ns, 'ul0');
    t.same(v4(ul), [`${n.underlayIp}/24`], `${n.name} ul0 address`);
    t.equal(ul.mtu, 1500);
    t.equal(ul.operstate, 'UP');
    const cni0 = link(n.ns, 'cni0');
    t.same(v4(cni0), [`${n.cni0Ip}/24`], `${n.name} cni0 address`);
    t.equal(cni0.mtu, 1450, 'cni0 mtu = FLANNEL_MTU');
    t.equal(n.ns.exec('sysctl', '-n', 'net.ipv4.ip_forward').trim(), '1');
    t.equal(n.ns.exec('sysctl', '-n', 'net.ipv6.conf.all.disable_ipv6').trim(), '1');
    t.same(link(n.ns, 'ul0').addr_info.filter((x) => x.family === 'inet6'), [], 'no IPv6 on ul0');
    for (const p of n.pods) {
      const eth0 = link(p.ns, 'eth0');
      t.same(v4(eth0), [`${p.ip}/24`], `${p.name} eth0 address`);
      t.equal(eth0.mtu, 1450, `${p.name} eth0 mtu`);
      const routes = JSON.parse(p.ns.ip('-j', 'route', 'show')) as { dst: string; gateway?: string }[];
      t.same(routes.filter((r) => r.gateway).map((r) => `${r.dst} via ${r.gateway}`).sort(),
        [`10.244.0.0/16 via ${n.cni0Ip}`, `default via ${n.cni0Ip}`], `${p.name} routes via cni0`);
      const hv = link(n.ns, p.hostVeth);
      t.equal(hv.master, 'cni0', `${p.hostVeth} is a cni0 port`);
      t.equal(hv.mtu, 1450);
    }
  }

  const [p1, p2] = c.node('worker1').pods;
  if (!p1 || !p2) throw new Error('worker1 pods missing');
  t.match(await ping(p1, c.node('worker1').cni0Ip), { sent: 3, received: 3 }, 'pod pings its cni0 gateway');
  t.match(await ping(p1, p2.ip), { sent: 3, received: 3 }, 'pod pings a pod on the same node');
  // The wire is a switch: frames crossing br0 skip its netfilter hooks (br_netfilter off there).
  c.wire.exec('iptables', '-w', '-A', 'FORWARD');  // no target: the rule only counts
  t.match(await ping(c.node('master'), '192.168.50.3'), { sent: 3, received: 3 }, 'nodes reach each other over the wire');
  const rule = c.wire.exec('iptables', '-w', '-nvxL', 'FORWARD').split('\n')[2] ?? '';
  t.match(rule, /^\s*0\s+0\s/, 'the wire\'s FORWARD chain saw none of the bridged frames');
  t.equal((await ping(p1, c.pod('worker2-pod1').ip, { count: 1 })).received, 0, 'no overlay yet: other nodes\' pods are unreachable');

  const extra = c.node('worker2').addPod('kuard');
  t.equal(extra.ip, '10.244.3.4', 'addPod takes the next address');
  t.equal(c.pod('kuard'), extra);
  t.throws(() => c.node('master').addPod('kuard'), /duplicate pod name/);
  t.match(await ping(extra, c.pod('worker2-pod1').ip, { count: 1 }), { received: 1 }, 'added pod is wired to cni0');

  const sleeper = extra.spawn(['sleep', '300']);
  const nodeSleeper = c.node('master').spawn(['sleep', '300']);
  const exits = [sleeper, nodeSleeper].map((ch) => new Promise<string | null>((r) => ch.once('exit', (_code, sig) => r(sig))));

  c.destroy();
  t.ok(c.destroyed);
  t.same(namespaces(c.prefix), [], 'destroy() removed every namespace');
  t.same(await Promise.all(exits), ['SIGKILL', 'SIGKILL'], 'destroy() killed the spawned children');
  t.doesNotThrow(() => c.destroy(), 'destroy() is idempotent');
  t.throws(() => c.node('master').addPod(), /destroyed/);
});

t.test('a failed build cleans up after itself', { skip: skip ?? false }, async (t) => {
  const name = `vxlf${uniqueSuffix()}`;
  // veth refuses an MTU above 65535: this fails after the wire and the first node exist.
  t.throws(() => createCluster({ name, mtu: 70000 }), /mtu/);
  t.same(tryRun(['ip', 'netns', 'list']).stdout.split('\n').filter((l) => l.startsWith(name)), [], 'nothing left');
  t.throws(() => createCluster({ name, nodes: [{ name: 'a' }, { name: 'a' }] }), /duplicate node name/);
  t.throws(() => createCluster({ name, nodes: [{ name: 'a', pods: ['x', 'x'] }] }), /duplicate pod name/);
  t.same(tryRun(['ip', 'netns', 'list']).stdout.split('\n').filter((l) => l.startsWith(name)), [], 'still nothing left');
});

t.test('exit and signal handlers are installed while a cluster lives', { skip: skip ?? false }, async (t) => {
  const events = ['exit', 'SIGINT', 'SIGTERM', 'SIGALRM', 'SIGHUP'];
  const before = events.map((e) => process.listenerCount(e));
  const c = createCluster({ name: 'vxlt', nodes: [{ name: 'solo', pods: 0 }] });
  t.teardown(() => c.destroy());
  t.same(events.map((e) => process.listenerCount(e)), before.map((n) => n + 1));
  c.destroy();
  t.same(events.map((e) => process.listenerCount(e)), before, 'removed after destroy()');

  const mod = new URL('../../src/lab/cluster.js', import.meta.url).href;
  // Under tap, children inherit NODE_OPTIONS that load signal-exit handlers; plain node has none.
  const plain = { ...process.env, NODE_OPTIONS: '' };
  // SIGALRM: how tap's runner ends a file past its timeout.
  const cases = [['SIGTERM', process.env, 'tap env'], ['SIGALRM', process.env, 'tap env'], ['SIGTERM', plain, 'plain'], ['SIGINT', plain, 'plain'],
    ['SIGALRM', plain, 'plain'], ['SIGHUP', plain, 'plain'], ['exit', plain, 'plain']] as const;
  for (const [how, env, label] of cases) {
    const tag = `${how} (${label})`;
    const script = `import { createCluster } from ${JSON.stringify(mod)};
const c = createCluster({ name: 'vxlc', nodes: [{ name: 'a', pods: 1 }, { name: 'b', pods: 0 }] });
const ch = c.node('a').pod('a-pod1').spawn(['sleep', '300']);
console.log(c.prefix + ' ' + ch.pid);
${how === 'exit' ? 'process.exit(0);' : `process.kill(process.pid, '${how}'); setTimeout(() => {}, 5000);`}`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, env });
    const [prefix, pid] = r.stdout.trim().split(' ');
    t.match(prefix, /^vxlc-/, `${tag}: child built a cluster ${r.stderr.trim()}`);
    t.equal(how === 'exit' ? r.status : r.signal, how === 'exit' ? 0 : how, `${tag}: child ended the default way`);
    t.same(namespaces(prefix ?? 'none'), [], `${tag}: handler removed the namespaces`);
    for (const n of namespaces(prefix ?? 'none')) tryRun(['ip', 'netns', 'del', n]); // only if the handler failed
    let alive = true;
    for (let i = 0; i < 20 && alive; i++) {
      // Gone, or a zombie waiting for a reaper: either way it no longer runs.
      const stat = tryRun(['cat', `/proc/${Number(pid)}/stat`]).stdout;
      alive = stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
      if (alive) await new Promise((res) => setTimeout(res, 100));
    }
    t.notOk(alive, `${tag}: handler killed the spawned child`);
  }
});
