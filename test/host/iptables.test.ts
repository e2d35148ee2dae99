// SPDX-License-Identifier: Apache-2.0
/**
 * flanneld's iptables rules: the exact rule text and commands with RecordingExec, then
 * (root only) real iptables inside a namespace this test creates: install, a rule deleted
 * by hand comes back in order on resync, `vxtun down` removes everything.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cidr } from '../../src/config/cidr.js';
import { silentLogger } from '../../src/daemon/log.js';
import { startTraffic } from '../../src/daemon/traffic.js';
import { downCommand, removeIptablesRules } from '../../src/cli/down.js';
import { RealExec, RecordingExec } from '../../src/host/exec.js';
import { capsFromVersion, detectIptables, forwardRules, Iptables, masqRules, ruleLine, type IptablesCaps } from '../../src/host/iptables.js';
import { Netns, netnsSkipReason, uniqueSuffix } from '../../src/lab/netns.js';
import { collect } from '../../src/lab/proc.js';
import { VXTUN_BIN } from '../../src/lab/vxtun.js';

const C = cidr('10.244.0.0/16');
const P = cidr('10.244.1.0/24');
const MODERN: IptablesCaps = capsFromVersion('iptables v1.8.9 (nf_tables)')!;

const MASQ_LINES = [
  '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
  '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
  '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
  '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
];
const FWD_LINES = [
  '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
  '-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
  '-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
];
const NAT_POLICIES = '-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n';
const FILTER_POLICIES = '-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n';

/** A RecordingExec that answers like an empty host and keeps each iptables-restore input. */
function recorder(): { exec: RecordingExec; payloads: string[]; restoreArgv: string[][] } {
  const payloads: string[] = [];
  const restoreArgv: string[][] = [];
  const exec = new RecordingExec()
    .on('iptables --version', { stdout: 'iptables v1.8.9 (nf_tables)\n' })
    .on('iptables --wait -t nat -S', { stdout: NAT_POLICIES })
    .on('iptables --wait -t filter -S', { stdout: FILTER_POLICIES })
    .on('iptables --wait -t nat -C', { code: 1, stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).' })
    .on('iptables --wait -t filter -C', { code: 1 })
    .on('iptables-restore', (argv) => {
      restoreArgv.push([...argv]);
      payloads.push(readFileSync(argv[argv.length - 1]!, 'utf8'));
      return { code: 0 };
    });
  return { exec, payloads, restoreArgv };
}

t.test('the masquerade rules are flanneld\'s seven, in order', async (t) => {
  t.same(masqRules(C, P, true).map((r) => ruleLine('-A', r)), MASQ_LINES);
  t.same(masqRules(C, P, false).map((r) => ruleLine('-A', r)), MASQ_LINES.map((l) => l.replace(' --random-fully', '')), 'without --random-fully');
  t.same(masqRules(cidr('10.244.3.3/16'), cidr('10.244.1.9/24'), true).map((r) => ruleLine('-A', r)), MASQ_LINES, 'host bits cleared');
  t.ok(masqRules(C, P, true).every((r) => r.table === 'nat'));
});

t.test('the forward rules are flanneld\'s three', async (t) => {
  t.same(forwardRules(C).map((r) => ruleLine('-A', r)), FWD_LINES);
  t.ok(forwardRules(C).every((r) => r.table === 'filter'));
});

t.test('iptables version decides --wait and --random-fully', async (t) => {
  t.same(capsFromVersion('iptables v1.8.9 (nf_tables)'), { version: '1.8.9', wait: true, restoreWait: true, randomFully: true });
  t.same(capsFromVersion('iptables v1.6.2'), { version: '1.6.2', wait: true, restoreWait: true, randomFully: true });
  t.same(capsFromVersion('iptables v1.6.1'), { version: '1.6.1', wait: true, restoreWait: false, randomFully: false });
  t.same(capsFromVersion('iptables v1.4.19.1'), { version: '1.4.19', wait: false, restoreWait: false, randomFully: false });
  t.equal(capsFromVersion('command not found'), null);
  await t.rejects(detectIptables(new RecordingExec().on('iptables --version', { stdout: 'nonsense' })), /cannot tell the iptables version/);
});

t.test('bootstrap on a clean host: chain created, one iptables-restore --noflush --wait of -A lines', async (t) => {
  const { exec, payloads, restoreArgv } = recorder();
  await new Iptables(exec, MODERN).bootstrap(masqRules(C, P, true));
  t.equal(exec.commands()[0], 'iptables --wait -t nat -S');
  t.equal(exec.commands()[1], 'iptables --wait -t nat -N FLANNEL-POSTRTG');
  t.equal(exec.commands().filter((c) => c.startsWith('iptables --wait -t nat -C ')).length, 7, 'each rule checked with -C');
  t.same(restoreArgv[0]?.slice(0, 4), ['iptables-restore', '--noflush', '--wait', '--'], 'input file after --');
  t.same(payloads, [`*nat\n${MASQ_LINES.join('\n')}\nCOMMIT\n`]);
});

t.test('old iptables: no --wait, no --random-fully', async (t) => {
  const caps = capsFromVersion('iptables v1.4.7')!;
  const exec = new RecordingExec().on('iptables -t filter -C', { code: 1 });
  await new Iptables(exec, caps).bootstrap(forwardRules(C));
  t.ok(exec.commands().every((c) => !c.includes('--wait')));
  t.match(exec.commands().at(-1), /^iptables-restore --noflush -- \//);
});

t.test('ensure: nothing to do when every rule exists; else the whole set is deleted and re-added in order', async (t) => {
  const listing = `${NAT_POLICIES}-N FLANNEL-POSTRTG\n`;
  const whole = new RecordingExec().on('iptables --wait -t nat -S', { stdout: listing });
  t.equal(await new Iptables(whole, MODERN).ensure(masqRules(C, P, true)), false);
  t.notOk(whole.commands().some((c) => c.startsWith('iptables-restore')), 'no restore');

  const { exec, payloads } = recorder();
  exec.on('iptables --wait -t nat -S', { stdout: listing })
    .on('iptables --wait -t nat -C', { code: 0 })
    .on('iptables --wait -t nat -C FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24', { code: 1 });
  t.equal(await new Iptables(exec, MODERN).ensure(masqRules(C, P, true)), true);
  const expected = MASQ_LINES.flatMap((l) => (l === MASQ_LINES[3] ? [l] : [l.replace(/^-A/, '-D'), l]));
  t.same(payloads, [`*nat\n${expected.join('\n')}\nCOMMIT\n`]);
});

t.test('ensure: a missing chain counts as missing rules', async (t) => {
  const { exec, payloads } = recorder();
  exec.on('iptables --wait -t filter -C', { code: 0 });
  t.equal(await new Iptables(exec, MODERN).ensure(forwardRules(C)), true);
  t.ok(exec.commands().includes('iptables --wait -t filter -N FLANNEL-FWD'));
  t.equal(payloads.length, 1);
});

t.test('removeChains: every jump to our chains, then flush and delete', async (t) => {
  const { exec, payloads } = recorder();
  exec.on('iptables --wait -t nat -S', { stdout: `${NAT_POLICIES}-N FLANNEL-POSTRTG\n-N KUBE-POSTROUTING\n${MASQ_LINES.join('\n')}\n-A POSTROUTING -j KUBE-POSTROUTING\n` });
  const removed = await new Iptables(exec, MODERN).removeChains([{ table: 'nat', chain: 'FLANNEL-POSTRTG' }, { table: 'filter', chain: 'FLANNEL-FWD' }]);
  t.same(payloads, ['*nat\n-D POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG\n-F FLANNEL-POSTRTG\n-X FLANNEL-POSTRTG\nCOMMIT\n']);
  t.equal(removed.length, 3);
  const clean = recorder();
  t.same(await new Iptables(clean.exec, MODERN).removeChains([{ table: 'filter', chain: 'FLANNEL-FWD' }]), []);
  t.equal(clean.payloads.length, 0, 'nothing to remove: no restore');
});

t.test('startTraffic: the previous network/subnet from subnet.env are recycled first, then the chain is flushed', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-traffic-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const subnetFile = path.join(dir, 'subnet.env');
  writeFileSync(subnetFile, 'FLANNEL_NETWORK=10.243.0.0/16\nFLANNEL_SUBNET=10.243.5.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
  const { exec, payloads } = recorder();
  exec.on('iptables --wait -t nat -S', { stdout: `${NAT_POLICIES}-N FLANNEL-POSTRTG\n` })
    .on('iptables --wait -t nat -C', { code: 0 })
    .on('iptables --wait -t nat -N FLANNEL-POSTRTG', { code: 1, stderr: 'Chain already exists.' });
  const traffic = await startTraffic({ exec, log: silentLogger(), ipMasq: true, ipMasqFullyRandomDisable: true, forwardRules: false, resyncSeconds: 3600, subnetFile }, C, P);
  t.ok(traffic);
  const old = masqRules(cidr('10.243.0.0/16'), cidr('10.243.5.0/24'), false).map((r) => ruleLine('-D', r));
  t.same(payloads[0], `*nat\n${old.join('\n')}\nCOMMIT\n`, 'old rules deleted (random-fully disabled: plain MASQUERADE)');
  t.ok(exec.commands().includes('iptables --wait -t nat -F FLANNEL-POSTRTG'), 'existing chain flushed');
  t.match(payloads[1], /-A FLANNEL-POSTRTG ! -s 10.244.0.0\/16 -d 10.244.0.0\/16 -m comment --comment "flanneld masq" -j MASQUERADE\n/);
  t.notMatch(payloads[1], /random-fully/);
  await traffic!.stop();
  await traffic!.stop();
});

t.test('startTraffic: nothing to do with --ip-masq off and forward rules off; a missing iptables is refused by flag', async (t) => {
  const opts = { log: silentLogger(), ipMasqFullyRandomDisable: false, resyncSeconds: 5, subnetFile: '/nonexistent/subnet.env' };
  t.equal(await startTraffic({ ...opts, exec: new RecordingExec(), ipMasq: false, forwardRules: false }, C, P), null);
  const missing = { run: () => Promise.reject(new Error('`iptables --version` could not be started: spawn iptables ENOENT')) };
  await t.rejects(startTraffic({ ...opts, exec: missing, ipMasq: true, forwardRules: true }, C, P),
    { name: 'UsageError', exitCode: 2, message: /--ip-masq and --iptables-forward-rules \(on by default\) need iptables: .*ENOENT.*--iptables-forward-rules=false/ });
});

const skip = netnsSkipReason();

t.test('real iptables in a fresh namespace', { skip: skip ?? false }, async (t) => {
  const ns = Netns.create(`vxipt-${uniqueSuffix()}`);
  t.teardown(() => ns.delete());
  const exec = new RealExec(['ip', 'netns', 'exec', ns.name]);
  const caps = await detectIptables(exec);
  const natS = (): string => ns.exec('iptables', '-t', 'nat', '-S');
  const filterS = (): string => ns.exec('iptables', '-t', 'filter', '-S');
  const masqLines = caps.randomFully ? MASQ_LINES : MASQ_LINES.map((l) => l.replace(' --random-fully', ''));
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-ipt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const traffic = await startTraffic({ exec, log: silentLogger(), ipMasq: true, ipMasqFullyRandomDisable: false, forwardRules: true,
    resyncSeconds: 3600, subnetFile: path.join(dir, 'subnet.env') }, C, P);
  t.equal(natS(), `${NAT_POLICIES}-N FLANNEL-POSTRTG\n${masqLines.join('\n')}\n`, 'exactly flanneld\'s nat rules');
  t.equal(filterS(), `${FILTER_POLICIES}-N FLANNEL-FWD\n${FWD_LINES.join('\n')}\n`, 'exactly flanneld\'s filter rules');
  t.equal(caps.randomFully, true, `iptables ${caps.version} supports --random-fully, and it is used`);

  ns.exec('iptables', '-t', 'nat', '-D', 'FLANNEL-POSTRTG', '-s', '10.244.1.0/24', '-d', '10.244.0.0/16', '-m', 'comment', '--comment', 'flanneld masq', '-j', 'RETURN');
  ns.exec('iptables', '-t', 'filter', '-F', 'FLANNEL-FWD');
  t.not(natS(), `${NAT_POLICIES}-N FLANNEL-POSTRTG\n${masqLines.join('\n')}\n`, 'a rule deleted by hand');
  t.equal(await traffic!.resync(), true, 'resync saw missing rules');
  t.equal(natS(), `${NAT_POLICIES}-N FLANNEL-POSTRTG\n${masqLines.join('\n')}\n`, 'nat set restored, in order');
  t.equal(filterS(), `${FILTER_POLICIES}-N FLANNEL-FWD\n${FWD_LINES.join('\n')}\n`, 'filter set restored');
  t.equal(await traffic!.resync(), false, 'a second resync has nothing to do');

  await traffic!.stop();
  t.equal(natS(), NAT_POLICIES, 'stop removed the nat rules and chain');
  t.equal(filterS(), FILTER_POLICIES, 'stop removed the filter rules and chain');

  // Rules left by a run that died: `vxtun down` removes them.
  const again = new Iptables(exec, caps);
  await again.clearChain('nat', 'FLANNEL-POSTRTG');
  await again.bootstrap(masqRules(cidr('10.99.0.0/16'), cidr('10.99.4.0/24'), true));
  await again.clearChain('filter', 'FLANNEL-FWD');
  await again.bootstrap(forwardRules(cidr('10.99.0.0/16')));
  const netConf = path.join(dir, 'net-conf.json');
  writeFileSync(netConf, JSON.stringify({ Network: '10.99.0.0/16', Backend: { Type: 'vxlan' } }));
  const r = await collect(ns.spawn([process.execPath, VXTUN_BIN, 'down', '--net-config-path', netConf]), 30_000);
  t.equal(r.status, 0, `vxtun down exits 0 (${r.stderr.trim()})`);
  t.match(r.stdout, /removed iptables rules: nat: -D POSTROUTING/);
  t.equal(natS(), NAT_POLICIES, 'down removed the nat rules and chain');
  t.equal(filterS(), FILTER_POLICIES, 'down removed the filter rules and chain');
  const r2 = await collect(ns.spawn([process.execPath, VXTUN_BIN, 'down', '--net-config-path', netConf]), 30_000);
  t.equal(r2.status, 0, 'down on a clean namespace is fine');
  t.match(r2.stdout, /no FLANNEL-POSTRTG\/FLANNEL-FWD iptables rules found/);
});

t.test('vxtun down: rules first (skipped when iptables is not installed), then the overlay', async (t) => {
  const missing = { run: (argv: readonly string[]) => (argv[0] === 'iptables' ? Promise.reject(new Error('spawn iptables ENOENT')) : Promise.resolve({ stdout: '', stderr: 'Cannot find device "flannel.1"', code: 1 })) };
  t.equal(await removeIptablesRules(missing), null);
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-down-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const netConfigPath = path.join(dir, 'net-conf.json');
  writeFileSync(netConfigPath, JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4 } }));
  const lines: string[] = [];
  await downCommand({ netConfigPath }, { exec: missing, out: (l) => lines.push(l) });
  t.same(lines, ['iptables is not installed: no iptables rules to remove', 'removed vxtun host state for flannel.4']);

  const { exec, payloads } = recorder();
  exec.on('iptables --wait -t filter -S', { stdout: `${FILTER_POLICIES}-N FLANNEL-FWD\n${FWD_LINES.join('\n')}\n` })
    .on('ip route del', { code: 2, stderr: 'RTNETLINK answers: No such process' })
    .on('ip -j addr show dev', { code: 1, stderr: 'Device "flannel.4" does not exist.' });
  lines.length = 0;
  await downCommand({ netConfigPath }, { exec, out: (l) => lines.push(l) });
  t.same(payloads, ['*filter\n-D FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD\n-F FLANNEL-FWD\n-X FLANNEL-FWD\nCOMMIT\n']);
  t.match(lines[0], /^removed iptables rules: filter: -D FORWARD/);
  await t.rejects(downCommand({ netConfigPath: path.join(dir, 'nope.json') }, { exec, out: () => undefined }), { name: 'ConfigError', message: /nope\.json.*cannot be read/ });
});
