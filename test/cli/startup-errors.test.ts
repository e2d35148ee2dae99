// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun run` refusing to start: exit 2 and one sentence naming the file/key/value, the
 * flag, or the port and device at fault, with nothing left behind. Config errors happen
 * before anything touches the host; everything past that runs inside a namespace this
 * test creates.
 */
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { checkBrNetfilter } from '../../src/daemon/traffic.js';
import { Netns, netnsSkipReason, uniqueSuffix, vethPair } from '../../src/lab/netns.js';
import { collect, stopChild, waitForOutput } from '../../src/lab/proc.js';
import { VXTUN_BIN } from '../../src/lab/vxtun.js';

const GOOD_NETCONF = { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } };
const OWN_LEASE = { '10.244.1.0-24': { PublicIP: '192.168.77.1', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '02:aa:00:00:00:01' } } };
interface Teardown { teardown(fn: () => unknown): void }
const childEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLANNELD_')));

/** A scratch directory with net-conf.json, leases.json and the subnet.env path. */
function scratch(t: Teardown, netconf: unknown = GOOD_NETCONF, leases: unknown = OWN_LEASE): { dir: string; netConf: string; leases: string; subnetFile: string; args: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = { dir, netConf: path.join(dir, 'net-conf.json'), leases: path.join(dir, 'leases.json'), subnetFile: path.join(dir, 'run', 'subnet.env') };
  writeFileSync(f.netConf, typeof netconf === 'string' ? netconf : JSON.stringify(netconf));
  writeFileSync(f.leases, typeof leases === 'string' ? leases : JSON.stringify(leases));
  return { ...f, args: ['--subnet-mgr', 'static', '--leases', f.leases, '--net-config-path', f.netConf, '--subnet-file', f.subnetFile] };
}

/** A fresh namespace with ul0 192.168.77.1/24 up (a veth pair ul0/ul1, both inside) and ip_forward on. */
function nodeNs(t: Teardown): Netns {
  const ns = Netns.create(`vxstart-${uniqueSuffix()}`);
  t.teardown(() => ns.delete());
  vethPair(ns, 'ul0', ns, 'ul1');
  ns.ip('addr', 'add', '192.168.77.1/24', 'dev', 'ul0');
  ns.ip('link', 'set', 'ul0', 'up');
  ns.ip('link', 'set', 'ul1', 'up');
  ns.sysctl('net.ipv4.ip_forward', '1');
  return ns;
}

const runIn = (ns: Netns | null, args: string[]): ReturnType<typeof collect> => {
  const argv = [process.execPath, VXTUN_BIN, 'run', ...args];
  const opts = { stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'], env: childEnv() };
  return collect(ns === null ? spawn(argv[0]!, argv.slice(1), opts) : ns.spawn(argv, opts), 30_000);
};

/** The last line of stderr (the refusal), after the JSON log lines. */
const refusalOf = (stderr: string): string => stderr.trim().split('\n').filter((l) => l.startsWith('vxtun: ')).join('\n');

t.test('a bad net-conf.json: exit 2 naming file, key and value (nothing privileged happens first)', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ Network: '10.244.0.0/33', Backend: { Type: 'vxlan' } }, /net-conf\.json: Network: "10\.244\.0\.0\/33" is not an IPv4 CIDR/],
    [{ Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 'one' } }, /net-conf\.json: Backend\.VNI: "one" /],
    [{ Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } }, /net-conf\.json: Backend\.Type: "host-gw" is not supported/],
    ['{"Network": "10.244.0.0/16",\n  "Backend": {"Type": "vxlan",}}', /net-conf\.json: line 2 column \d+/],
  ];
  for (const [netconf, re] of cases) {
    const f = scratch(t, netconf);
    const r = await runIn(null, f.args);
    t.equal(r.status, 2, `exit 2 (${refusalOf(r.stderr)})`);
    t.match(refusalOf(r.stderr), re);
    t.ok(refusalOf(r.stderr).includes(f.netConf), 'names the file by its path');
    t.notOk(existsSync(f.subnetFile), 'no subnet.env');
  }
});

t.test('br_netfilter missing is refused as flanneld refuses it', async (t) => {
  const proc = mkdtempSync(path.join(tmpdir(), 'vxtun-proc-'));
  t.teardown(() => rmSync(proc, { recursive: true, force: true }));
  t.match(await checkBrNetfilter(proc), /sys\/net\/bridge\/bridge-nf-call-iptables is missing: the br_netfilter kernel module is not loaded.*modprobe br_netfilter/);
  mkdirSync(path.join(proc, 'sys/net/bridge'), { recursive: true });
  writeFileSync(path.join(proc, 'sys/net/bridge/bridge-nf-call-iptables'), '1\n');
  t.equal(await checkBrNetfilter(proc), null);
});

const skip = netnsSkipReason();

t.test('past config parsing, in a fresh namespace', { skip: skip ?? false }, async (t) => {
  t.test('a malformed leases.json: exit 2 naming file, key and value', async (t) => {
    const ns = nodeNs(t);
    const bad = { '10.244.1.0-24': { ...OWN_LEASE['10.244.1.0-24'], BackendData: { VNI: 1, VtepMAC: 'not-a-mac' } } };
    const f = scratch(t, GOOD_NETCONF, bad);
    const r = await runIn(ns, ['--iface', 'ul0', ...f.args]);
    t.equal(r.status, 2);
    t.match(refusalOf(r.stderr), /leases\.json: 10\.244\.1\.0-24\/BackendData\.VtepMAC: "not-a-mac" /);
    t.ok(refusalOf(r.stderr).includes(f.leases), 'names the file by its path');
    const syntax = scratch(t, GOOD_NETCONF, '{"10.244.1.0-24": {"PublicIP": "192.168.77.1",\n "BackendType": vxlan}}');
    const r2 = await runIn(ns, ['--iface', 'ul0', ...syntax.args]);
    t.equal(r2.status, 2);
    t.match(refusalOf(r2.stderr), /leases\.json: line 2 column \d+/);
    t.notOk(existsSync(f.subnetFile) || existsSync(syntax.subnetFile), 'no subnet.env');
  });

  t.test('--iface nosuch0: exit 2 "interface nosuch0 not found"', async (t) => {
    const ns = nodeNs(t);
    const f = scratch(t);
    const r = await runIn(ns, ['--iface', 'nosuch0', ...f.args]);
    t.equal(r.status, 2);
    t.match(refusalOf(r.stderr), /interface nosuch0 not found/);
  });

  t.test('--healthz-port already in use: exit 2 naming the flag', async (t) => {
    const ns = nodeNs(t);
    const f = scratch(t);
    const holder = ns.spawn([process.execPath, '-e', "require('net').createServer().listen(18081,'127.0.0.1',()=>console.log('listening'))"]);
    t.teardown(() => stopChild(holder));
    await waitForOutput(holder, holder.stdout, /listening/, 10_000);
    const r = await runIn(ns, ['--iface', 'ul0', '--healthz-ip', '127.0.0.1', '--healthz-port', '18081', ...f.args]);
    t.equal(r.status, 2);
    t.match(refusalOf(r.stderr), /^vxtun: --healthz-port 18081: 127\.0\.0\.1:18081 is already in use/);
  });

  t.test('UDP 8472 held by a kernel flannel.1: exit 2 naming port and device, nothing left behind', async (t) => {
    const ns = nodeNs(t);
    ns.ip('link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'local', '192.168.77.1', 'dev', 'ul0', 'nolearning');
    ns.ip('link', 'set', 'flannel.1', 'up');
    const f = scratch(t);
    const r = await runIn(ns, ['--iface', 'ul0', '--ip-masq', ...f.args]); // default TUN name flannel.1: the port check comes first
    t.equal(r.status, 2, `exit 2 (${refusalOf(r.stderr)})`);
    t.match(refusalOf(r.stderr), /UDP port 8472 is already in use: is a kernel flannel\.1 .*`ip link del flannel\.1`/);
    const links = JSON.parse(ns.ip('-j', '-d', 'link', 'show')) as Array<{ ifname: string; linkinfo?: { info_kind?: string } }>;
    t.same(links.map((l) => l.ifname).sort(), ['flannel.1', 'lo', 'ul0', 'ul1'], 'no TUN device');
    t.equal(links.find((l) => l.ifname === 'flannel.1')?.linkinfo?.info_kind, 'vxlan', 'the kernel flannel.1 untouched');
    t.notMatch(ns.ip('-4', 'route', 'show'), /10\.244\./, 'no overlay route');
    t.notMatch(ns.exec('iptables', '-t', 'nat', '-S') + ns.exec('iptables', '-t', 'filter', '-S'), /FLANNEL/, 'no iptables rules');
    t.notOk(existsSync(f.subnetFile), 'no subnet.env');
  });
  t.end();
});
