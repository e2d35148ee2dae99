// SPDX-License-Identifier: Apache-2.0
/**
 * The control socket and the status it serves, against two VTEPs over in-memory seams
 * (no root): counters and peers move with traffic, the socket is 0600 and removed on
 * close, a stale socket is replaced, a live one refused, bad requests get an error.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { statSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startControlServer, parseCaptureRequest, defaultControlSocket, currentNetnsTag } from '../../src/daemon/control.js';
import { buildStatus } from '../../src/daemon/status.js';
import { ControlPlaneState } from '../../src/daemon/metrics.js';
import { silentLogger } from '../../src/daemon/log.js';
import { controlRequest, fetchStatus } from '../../src/cli/status.js';
import { buildIcmpEcho } from '../../src/packet/build.js';
import { memoryPair, settle, tempDir } from './fixtures/memory-vtep.js';

const log = silentLogger();

t.test('status over the socket: lease, peers, counters, drops, batches', async (t) => {
  const pair = memoryPair();
  const tmp = tempDir();
  const cp = new ControlPlaneState();
  const srv = await startControlServer({ path: path.join(tmp.dir, 'a.sock'), source: pair.a.source, log, controlPlane: cp });
  t.teardown(async () => { await srv.close(); pair.close(); tmp.remove(); });

  for (let k = 0; k < 3; k++) pair.a.tun.inject(buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 7, seq: k }));
  pair.a.tun.inject(buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.9.9', id: 7, seq: 9 })); // no lease
  pair.a.tun.inject(buildIcmpEcho({ src: '10.244.1.2', dst: '8.8.8.8', id: 7, seq: 9 }));   // not in Network
  await settle();
  for (let k = 0; k < 2; k++) pair.b.tun.inject(buildIcmpEcho({ src: '10.244.2.2', dst: '10.244.1.2', id: 8, seq: k, reply: true }));
  await settle();
  cp.leaseRenewed();
  cp.setWatchUp(true);

  const s = await fetchStatus(srv.path);
  t.same(s.lease, { subnet: '10.244.1.0/24', publicIp: '192.168.50.1', vtepMac: '02:aa:00:00:00:01', vni: 1, port: 8472, network: '10.244.0.0/16' });
  t.same(s.interface, { name: 'eth0', ifaceAddr: '192.168.50.1', publicIp: '192.168.50.1', mtu: 1500 });
  t.same(s.tun, { name: 'flannel.1', mtu: 1450 });
  t.equal(s.peers.length, 1);
  const p = s.peers[0]!;
  t.match(p, { subnet: '10.244.2.0/24', publicIp: '192.168.50.2', vtepMac: '02:aa:00:00:00:02', txPackets: 3, rxPackets: 2 });
  t.equal(p.txBytes, 3 * 84, 'inner bytes sent');
  t.equal(p.rxBytes, 2 * 84, 'inner bytes received');
  t.type(p.lastRx, 'string', 'last seen is set after a packet arrived');
  t.ok(p.lastRxAgoSeconds !== null && p.lastRxAgoSeconds >= 0);
  t.same(s.drops, { 'no-lease': 1, 'not-in-network': 1 });
  t.equal(s.totals.drops, 2);
  t.equal(s.totals.tunRxPackets, 5);
  t.equal(s.totals.udpTxPackets, 3);
  t.equal(s.totals.udpRxPackets, 2);
  t.equal(s.totals.tunTxPackets, 2, 'the two decapsulated packets (ICMP errors are counted apart)');
  t.equal(s.totals.icmpUnreachSent, 1);
  t.ok(s.batches.encap >= 1 && s.batches.decap >= 1);
  t.equal(s.batches.meanEncapSize, Math.round((5 / s.batches.encap) * 100) / 100);
  t.same(s.offloads, [], 'memory seams have no offloads');
  t.ok(s.memory.rss > 0 && s.memory.heapUsed > 0);
  t.same(s.controlPlane, { leaseRenewals: 1, storeWatchUp: true });
  t.same(s.capture, { sessions: 0, captured: 0, dropped: 0 });
  t.equal(s.pid, process.pid);
  t.ok(s.uptimeSeconds >= 0);

  const b = buildStatus(pair.b.source);
  t.same(b.offloads, [], 'the Device reports no offloads on memory seams');
  t.same(b.offloadStats, {});
  t.equal(b.peers[0]!.lastRx !== null, true, 'B saw A');
  t.same(b.controlPlane, { leaseRenewals: 0, storeWatchUp: null });
});

t.test('status with gc: a full collection first when the daemon exposes gc, a clear refusal when not', async (t) => {
  const pair = memoryPair();
  const tmp = tempDir();
  const g = globalThis as { gc?: () => void };
  const saved = g.gc;
  t.teardown(() => { pair.close(); tmp.remove(); g.gc = saved; });
  const srv = await startControlServer({ path: path.join(tmp.dir, 'gc.sock'), source: pair.a.source, log });
  t.teardown(() => srv.close());
  delete g.gc;
  await t.rejects(fetchStatus(srv.path, { gc: true }), /not started with NODE_OPTIONS=--expose-gc/);
  let collections = 0;
  g.gc = () => { collections++; };
  const s = await fetchStatus(srv.path, { gc: true });
  t.equal(collections, 1, 'collected before the report');
  t.ok(s.memory.heapOld > 0 && s.memory.heapOld <= s.memory.heapUsed, 'old generation reported within the heap');
  await fetchStatus(srv.path);
  t.equal(collections, 1, 'a plain status does not collect');
});

t.test('the socket file: 0600, removed on close, default path', async (t) => {
  const pair = memoryPair();
  const tmp = tempDir();
  t.teardown(() => { pair.close(); tmp.remove(); });
  const p = path.join(tmp.dir, 'sub', 'dir', 'x.sock');
  const srv = await startControlServer({ path: p, source: pair.a.source, log });
  t.ok(statSync(p).isSocket(), 'a unix socket, its directory created');
  t.equal(statSync(p).mode & 0o777, 0o600, 'mode 0600');
  await srv.close();
  await srv.close();
  t.notOk(existsSync(p), 'removed on close');
  t.equal(defaultControlSocket('flannel.1', null), '/run/vxtun/flannel.1.sock', 'in the host network namespace');
  t.equal(defaultControlSocket('flannel.42', null), '/run/vxtun/flannel.42.sock');
  t.equal(defaultControlSocket('flannel.1', '4026532999'), '/run/vxtun/netns-4026532999/flannel.1.sock', 'in any other: per namespace');
  const tag = currentNetnsTag();
  t.equal(defaultControlSocket('flannel.1'), defaultControlSocket('flannel.1', tag), 'the current namespace by default');
});

t.test('a stale socket from a crash is replaced; a live one is refused', async (t) => {
  const pair = memoryPair();
  const tmp = tempDir();
  t.teardown(() => { pair.close(); tmp.remove(); });
  const p = path.join(tmp.dir, 'stale.sock');
  // A process that listens and dies by SIGKILL leaves its socket file behind.
  const r = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(p)},()=>process.kill(process.pid,'SIGKILL'))`]);
  t.equal(r.signal, 'SIGKILL');
  t.ok(statSync(p).isSocket(), 'stale socket file left behind');
  const srv = await startControlServer({ path: p, source: pair.a.source, log });
  t.teardown(() => srv.close());
  t.equal((await fetchStatus(p)).lease.subnet, '10.244.1.0/24', 'serving on the replaced socket');
  await t.rejects(startControlServer({ path: p, source: pair.b.source, log }), { name: 'UsageError', message: /is in use/ });
  t.equal((await fetchStatus(p)).lease.subnet, '10.244.1.0/24', 'the first daemon still serves');

  const file = path.join(tmp.dir, 'plain');
  writeFileSync(file, 'x');
  await t.rejects(startControlServer({ path: file, source: pair.a.source, log }), { name: 'UsageError', message: /not a socket/ });
});

t.test('bad requests get an error line', async (t) => {
  const pair = memoryPair();
  const tmp = tempDir();
  const srv = await startControlServer({ path: path.join(tmp.dir, 'c.sock'), source: pair.a.source, log });
  t.teardown(async () => { await srv.close(); pair.close(); tmp.remove(); });
  t.match(await controlRequest(srv.path, { cmd: 'reboot' }), { ok: false, error: /unknown command "reboot"/ });
  t.match(await controlRequest(srv.path, [1, 2]), { ok: false, error: /not a JSON object/ });
  t.match(await controlRequest(srv.path, { cmd: 'capture', mode: 'sideways' }), { ok: false, error: /want "outer" or "inner"/ });
  t.match(await controlRequest(srv.path, { cmd: 'capture', count: 0 }), { ok: false, error: /positive integer/ });
  t.match(await controlRequest(srv.path, { cmd: 'capture', filter: '10.244.300.0/24' }), { ok: false, error: /IPv4 subnet/ });
});

t.test('parseCaptureRequest', async (t) => {
  t.same(parseCaptureRequest({}), { mode: 'outer' });
  t.same(parseCaptureRequest({ mode: 'inner', count: 5, filter: '10.244.2.0/24' }), { mode: 'inner', count: 5, filter: { network: 0x0af40200, prefixLen: 24 } });
  t.same(parseCaptureRequest({ filter: '10.244.2.7' }), { mode: 'outer', filter: { network: 0x0af40207, prefixLen: 32 } }, 'an address is a /32');
  t.throws(() => parseCaptureRequest({ count: 1.5 }), /positive integer/);
});
