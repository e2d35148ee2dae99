// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun demo --once` end to end (root): exits 0 after printing what the seed shows from
 * our own cluster (routes, subnet.env, pods, an HTTP answer across nodes, a decoded
 * VXLAN packet) and leaves no namespace with its prefix and no temp directory behind.
 * Also: the flannel.1 preflight refusal, run inside a namespace this test creates.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netns, netnsSkipReason, tryRun, uniqueSuffix } from '../../src/lab/netns.js';
import { etcdSkipReason } from '../../src/lab/etcd.js';
import { execAsync } from '../../src/lab/proc.js';
import { VXTUN_BIN } from '../../src/lab/vxtun.js';
import { readPcapFile } from '../../src/pcap/reader.js';

const skip = netnsSkipReason() ?? (tryRun(['ethtool', '--version']).status !== 0 ? 'needs ethtool' : null)
  ?? (tryRun(['iptables', '-V']).status !== 0 ? 'needs iptables' : null);
const PREFLIGHT_JS = fileURLToPath(new URL('../../src/demo/preflight.js', import.meta.url));

/** Runs the demo as a user would: without the test runner's NODE_OPTIONS (its hooks would load into every node process the demo starts). */
function demo(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { NODE_OPTIONS: _hooks, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [VXTUN_BIN, 'demo', '--once', ...args], { env, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function checkWalkThrough(t: { match(...a: unknown[]): unknown; same(...a: unknown[]): unknown; equal(...a: unknown[]): unknown; ok(...a: unknown[]): unknown }, out: string, pcap: string): void {
  t.match(out, /✓ \[1\/\d+\] preflight/);
  t.match(out, /master \(192\.168\.50\.1\) {2}\$ ip route\n {4}10\.244\.0\.0\/16 dev flannel\.1 /, 'routes: the Network through flannel.1');
  t.match(out, /10\.244\.2\.0\/24 dev cni0 proto kernel scope link src 10\.244\.2\.1/, 'routes: the local subnet on cni0');
  t.match(out, /worker2 {2}\$ cat \/run\/flannel\/subnet\.env.*\n {4}FLANNEL_NETWORK=10\.244\.0\.0\/16\n {4}FLANNEL_SUBNET=10\.244\.3\.1\/24\n {4}FLANNEL_MTU=1450\n {4}FLANNEL_IPMASQ=true\n/, 'subnet.env as in the seed');
  t.match(out, /worker1-pod1 +1\/1 +Running +0 +\d+s +10\.244\.2\.2 +worker1 +kuard :8080/, 'the pods');
  const answer = /\n {4}(\{"pod".*\})\n/.exec(out)?.[1];
  t.same(JSON.parse(answer ?? '{}'), { pod: 'worker1-pod1', ip: '10.244.2.2', path: '/', remote: '10.244.3.2' }, 'the HTTP answer across nodes, pod IP kept');
  t.match(out, /Internet Protocol Version 4, Src: 192\.168\.50\.3, Dst: 192\.168\.50\.2/, 'outer IPs: worker2 → worker1');
  t.match(out, /User Datagram Protocol, Src Port: \d+, Dst Port: 8472, checksum 0x[0-9a-f]{4} good/);
  t.match(out, /VXLAN Network Identifier \(VNI\): 1/);
  t.match(out, /Ethernet II, Src: 02:f1:00:00:00:03, Dst: 02:f1:00:00:00:02/, 'inner MACs: the VtepMACs');
  t.match(out, /Internet Protocol Version 4, Src: 10\.244\.3\.2, Dst: 10\.244\.2\.2/, 'inner IPs: pod to pod');
  t.match(out, /Transmission Control Protocol, Src Port: \d+, Dst Port: 8080, .*Flags: \[SYN\]/);
  t.match(out, new RegExp(`saved: ${pcap.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  t.equal(readPcapFile(pcap).records.length, 1, 'the pcap holds the packet');
  const prefix = /removed lab (vxdemo-[0-9a-f]+)/.exec(out)?.[1];
  t.ok(prefix, 'the lab says what it removed');
  const left = tryRun(['ip', 'netns', 'list']).stdout.split('\n').filter((l) => prefix !== undefined && l.startsWith(prefix));
  t.same(left, [], 'no namespace with its prefix remains');
  const scratch = /\(here: (\/[^)]+)\/master\.subnet\.env\)/.exec(out)?.[1];
  t.ok(scratch !== undefined && !existsSync(scratch), `temp directory removed (${scratch})`);
}

t.test('vxtun demo --once', { skip: skip ?? false }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-demo-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = path.join(dir, 'demo.pcap');
  const r = await demo(['--pcap', pcap]);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.trim()})`);
  checkWalkThrough(t, r.stdout, pcap);
});

t.test('vxtun demo --once --etcd', { skip: skip ?? etcdSkipReason() ?? false }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-demo-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = path.join(dir, 'demo.pcap');
  const r = await demo(['--etcd', '--pcap', pcap]);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.trim()})`);
  t.match(r.stdout, /etcdctl get --prefix \/coreos\.com\/network\/subnets\n {4}\/coreos\.com\/network\/subnets\/10\.244\.1\.0-24\n {4}\{"PublicIP":"192\.168\.50\.1"/);
  checkWalkThrough(t, r.stdout, pcap);
});

t.test('preflight refuses a host that already has a flannel.1 (read only)', { skip: skip ?? false }, async (t) => {
  const ns = Netns.create(`vxdemo-pre-${uniqueSuffix()}`);
  t.teardown(() => ns.delete());
  const script = `import(${JSON.stringify(PREFLIGHT_JS)}).then(m=>m.preflight({install:false})).then(()=>console.log('ok'),e=>console.log(e.name+': '+e.message))`;
  const clean = await execAsync(ns.argv(process.execPath, '-e', script), 30_000);
  t.equal(clean.stdout.trim(), 'ok', 'no flannel.1: preflight passes');
  ns.ip('link', 'add', 'flannel.1', 'type', 'bridge'); // any link of that name (no dummy module everywhere)
  const r = await execAsync(ns.argv(process.execPath, '-e', script), 30_000);
  t.match(r.stdout.trim(), /^UsageError: this host already has a flannel\.1 \(flanneld or vxtun runs here\)/);
  t.equal(ns.tryExec('ip', 'link', 'show', 'flannel.1').status, 0, 'and leaves it alone');
});
