// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun status` against a real control server on a temp socket (memory seams, no root):
 * the human report (aligned peers table, drops by reason, totals), --json, the CLI binary
 * end to end, and the one-sentence exit-2 answer when no daemon runs.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startControlServer, defaultControlSocket } from '../../src/daemon/control.js';
import { silentLogger } from '../../src/daemon/log.js';
import { statusCommand, formatStatus, humanBytes, humanDuration, table, socketPathOf } from '../../src/cli/status.js';
import type { VxtunStatus } from '../../src/daemon/status.js';
import { VXTUN_BIN } from '../../src/lab/vxtun.js';
import { buildIcmpEcho } from '../../src/packet/build.js';
import { memoryPair, settle, tempDir } from '../daemon/fixtures/memory-vtep.js';

function sink(): { stream: Writable; text(): string } {
  let buf = '';
  return { stream: new Writable({ write(c, _e, cb) { buf += String(c); cb(); } }), text: () => buf };
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VXTUN_BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function setup(t: { teardown(fn: () => unknown): void }) {
  const pair = memoryPair();
  const tmp = tempDir('vxtun-st-');
  const srv = await startControlServer({ path: path.join(tmp.dir, 'a.sock'), source: pair.a.source, log: silentLogger() });
  t.teardown(async () => { await srv.close(); pair.close(); tmp.remove(); });
  for (let k = 0; k < 4; k++) pair.a.tun.inject(buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 3, seq: k }));
  pair.a.tun.inject(buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.200.1', id: 3, seq: 5 }));
  await settle();
  pair.b.tun.inject(buildIcmpEcho({ src: '10.244.2.2', dst: '10.244.1.2', id: 3, seq: 1, reply: true }));
  await settle();
  return { ...pair, srv, tmp };
}

t.test('human report: header facts, aligned peers table, totals, drops by reason', async (t) => {
  const { srv } = await setup(t);
  const out = sink();
  await statusCommand({ socket: srv.path }, out.stream);
  const text = out.text();
  t.match(text, /^vxtun \S+ {2}pid \d+ {2}up \d+s/);
  t.match(text, /lease +10\.244\.1\.0\/24 {2}PublicIP 192\.168\.50\.1 {2}VtepMAC 02:aa:00:00:00:01 {2}VNI 1 {2}port 8472/);
  t.match(text, /interface +eth0 {2}192\.168\.50\.1 {2}MTU 1500/);
  t.match(text, /tun +flannel\.1 {2}MTU 1450/);
  t.match(text, /offloads +none/);
  t.match(text, /memory +rss \d/);
  t.match(text, /PEERS \(1\)/);
  const lines = text.split('\n');
  const head = lines.findIndex((l) => l.startsWith('SUBNET'));
  t.ok(head > 0, 'a peers table header');
  const header = lines[head]!;
  const row = lines[head + 1]!;
  t.match(row, /^10\.244\.2\.0\/24 +192\.168\.50\.2 +02:aa:00:00:00:02 +\S+ ago +4 +336 B +1 +84 B$/);
  for (const col of ['PUBLIC IP', 'VTEP MAC', 'LAST SEEN']) {
    t.equal(row[header.indexOf(col) - 1], ' ', `${col}: the row has a column break where the header has one`);
    t.not(row[header.indexOf(col)], ' ', `${col}: value starts under the header`);
  }
  t.equal(row.length, header.length, 'right-aligned numbers end under the last header');
  t.match(text, /read from TUN +5 +420 B/);
  t.match(text, /sent \(VXLAN\) +4 +424 B/, 'VXLAN payload bytes: 22 more per packet');
  t.match(text, /ICMP unreachable sent +1/);
  t.match(text, /dropped +1/);
  t.match(text, /batches: encap \d+ \(mean [\d.]+ pkts\), decap \d+/);
  t.match(text, /DROPS BY REASON\n +REASON +COUNT\n +no-lease +1\n/);
});

t.test('--json is the daemon status, parseable', async (t) => {
  const { srv } = await setup(t);
  const out = sink();
  await statusCommand({ socket: srv.path, json: true }, out.stream);
  const s = JSON.parse(out.text()) as VxtunStatus;
  t.equal(s.peers[0]!.txPackets, 4);
  t.same(s.drops, { 'no-lease': 1 });
  t.equal(s.lease.subnet, '10.244.1.0/24');
});

t.test('the binary: vxtun status --json / human, and no daemon → exit 2', async (t) => {
  const { srv, tmp } = await setup(t);
  const j = await cli(['status', '--json', '--socket', srv.path]);
  t.equal(j.code, 0, j.stderr);
  t.equal((JSON.parse(j.stdout) as VxtunStatus).peers[0]!.subnet, '10.244.2.0/24');
  const h = await cli(['status', '--socket', srv.path]);
  t.equal(h.code, 0, h.stderr);
  t.match(h.stdout, /PEERS \(1\)/);
  const none = path.join(tmp.dir, 'nobody.sock');
  const n = await cli(['status', '--socket', none]);
  t.equal(n.code, 2);
  t.equal(n.stderr, `vxtun: no vxtun running: cannot connect to ${none}\n`);
  t.equal(n.stdout, '');
  const d = await cli(['status', '--tun-name', 'vxtest-none']);
  t.equal(d.code, 2);
  t.equal(d.stderr, `vxtun: no vxtun running: cannot connect to ${defaultControlSocket('vxtest-none')}\n`, 'the default path follows --tun-name');
});

t.test('formatting helpers', async (t) => {
  t.equal(socketPathOf({}), defaultControlSocket('flannel.1'));
  t.equal(socketPathOf({ socket: '/x.sock', tunName: 'a' }), '/x.sock');
  t.equal(humanBytes(512), '512 B');
  t.equal(humanBytes(1536), '1.5 KiB');
  t.equal(humanBytes(3 * 1024 ** 3), '3.0 GiB');
  t.equal(humanDuration(42), '42s');
  t.equal(humanDuration(125), '2m5s');
  t.equal(humanDuration(3725), '1h2m');
  t.equal(humanDuration(90000), '1d1h');
  t.equal(table(['A', 'NUM'], [['xyz', '1'], ['q', '100']], [false, true]), 'A    NUM\nxyz    1\nq    100');
  const empty = formatStatus({
    version: '0', pid: 1, startedAt: 'x', uptimeSeconds: 0,
    lease: { subnet: 's', publicIp: 'p', vtepMac: 'm', vni: 1, port: 8472, network: 'n' },
    interface: { name: 'eth0', ifaceAddr: 'a', publicIp: 'a', mtu: 1500 }, tun: { name: 'flannel.1', mtu: 1450 },
    peers: [], drops: {}, offloads: ['gso', 'gro'], offloadStats: { tun: { superRead: 3 } }, memory: { rss: 1, heapUsed: 1, heapOld: 1, gcMinor: 7, gcMajor: 2 },
    totals: { tunRxPackets: 0, tunRxBytes: 0, udpTxPackets: 0, udpTxBytes: 0, udpRxPackets: 0, udpRxBytes: 0, tunTxPackets: 0, tunTxBytes: 0, checksumsFinished: 0, overMtu: 0, icmpUnreachSent: 0, drops: 0 },
    batches: { encap: 0, decap: 0, meanEncapSize: 0, meanDecapSize: 0 },
    controlPlane: { leaseRenewals: 0, storeWatchUp: false }, capture: { sessions: 0, captured: 0, dropped: 0 },
  });
  t.match(empty, /PEERS \(0\)\n {2}\(none: no other lease in the store yet\)/);
  t.match(empty, /DROPS BY REASON\n {2}\(none\)/);
  t.match(empty, /GCs 7 minor \/ 2 major/);
  t.match(empty, /offloads +gso, gro\n +tun +superRead 3\n/);
  t.match(empty, /store watch DOWN/);
});
