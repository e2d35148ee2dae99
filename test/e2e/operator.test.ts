// SPDX-License-Identifier: Apache-2.0
/**
 * The operator's view of a running lab cluster (root; namespaces this test creates):
 * `vxtun status --json` shows the peers and counters moving after pings; `vxtun capture
 * --outer --count 5` while pinging gives a pcap tshark decodes as VXLAN VNI 1 with the
 * right inner IPs and good checksums; /metrics, fetched inside a node's namespace, has
 * per-peer packets and drops; the socket goes away with the daemon.
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCluster } from '../../src/lab/cluster.js';
import { netnsSkipReason, tryRun } from '../../src/lab/netns.js';
import { dissect, ping } from '../../src/lab/probe.js';
import { LabFiles, startVxtun, VXTUN_BIN, type LabVxtun } from '../../src/lab/vxtun.js';
import { peerOf, vtepMacFor } from '../../src/lab/kernel-flannel.js';
import { execAsync, waitForOutput } from '../../src/lab/proc.js';
import type { LabNode } from '../../src/lab/node.js';
import type { VxtunStatus } from '../../src/daemon/status.js';

const skip = netnsSkipReason() ?? (tryRun(['tshark', '-v']).status !== 0 ? 'needs tshark' : null);
const CONTROL_JS = fileURLToPath(new URL('../../src/daemon/control.js', import.meta.url));

t.test('status, capture and metrics of a running lab cluster', { skip: skip ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vxop', podsPerNode: 1, txOffloadOff: true });
  const files = new LabFiles();
  const tmp = mkdtempSync(path.join(tmpdir(), 'vxtun-op-'));
  const runs: LabVxtun[] = [];
  t.teardown(async () => {
    for (const r of runs) await r.stop();
    cluster.destroy();
    files.remove();
    rmSync(tmp, { recursive: true, force: true });
  });
  files.writeLeases(cluster.nodes.map((n, i) => peerOf(n, vtepMacFor(i))));
  for (const node of cluster.nodes) runs.push(await startVxtun(node, { files }));
  const [master, worker1] = cluster.nodes as [LabNode, LabNode, LabNode];
  const vxtun = (node: LabNode, args: string[]) => execAsync(node.ns.argv(process.execPath, VXTUN_BIN, ...args), 30_000);
  const status = async (node: LabNode): Promise<VxtunStatus> => {
    const r = await vxtun(node, ['status', '--json', '--socket', files.controlSocket(node)]);
    if (r.status !== 0) throw new Error(`vxtun status: ${r.stderr}`);
    return JSON.parse(r.stdout) as VxtunStatus;
  };
  const from = master.pods[0]!;
  const to = worker1.pods[0]!;

  await t.test('vxtun status --json: peers, then counters moving after pings', async (t) => {
    const before = await status(master);
    t.equal(before.lease.subnet, master.subnet);
    t.equal(before.interface.name, 'ul0');
    t.same(before.peers.map((p) => p.subnet).sort(), [cluster.nodes[1]!.subnet, cluster.nodes[2]!.subnet].sort(), 'the two other nodes');
    const peerBefore = before.peers.find((p) => p.subnet === worker1.subnet)!;
    const r = await ping(from, to.ip, { count: 4, timeoutSec: 2 });
    t.equal(r.received, 4, 'pings answered');
    const after = await status(master);
    const peer = after.peers.find((p) => p.subnet === worker1.subnet)!;
    t.equal(peer.publicIp, worker1.underlayIp);
    t.equal(peer.vtepMac, vtepMacFor(1));
    t.ok(peer.txPackets >= peerBefore.txPackets + 4, `tx to worker1 moved: ${peerBefore.txPackets} → ${peer.txPackets}`);
    t.ok(peer.rxPackets >= peerBefore.rxPackets + 4, `rx from worker1 moved: ${peerBefore.rxPackets} → ${peer.rxPackets}`);
    t.type(peer.lastRx, 'string', 'last seen set');
    t.ok(after.totals.udpTxPackets > before.totals.udpTxPackets);
    t.ok(after.batches.encap > 0 && after.batches.meanEncapSize > 0);
    const human = await vxtun(master, ['status', '--socket', files.controlSocket(master)]);
    t.equal(human.status, 0);
    t.match(human.stdout, new RegExp(`${worker1.subnet.replace(/[./]/g, '\\$&')} +${worker1.underlayIp.replace(/\./g, '\\.')} +${vtepMacFor(1)}`));
  });

  await t.test('vxtun capture --outer -w file --count 5 while pinging: tshark reads VXLAN VNI 1, inner IPs, good checksums', async (t) => {
    const file = path.join(tmp, 'outer.pcap');
    const cap = master.spawn([process.execPath, VXTUN_BIN, 'capture', '--outer', '-w', file, '--count', '5', '--socket', files.controlSocket(master)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    cap.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<number | null>((r) => cap.once('exit', (code) => r(code)));
    await waitForOutput(cap, cap.stderr, /capturing outer/, 10_000);
    const r = await ping(from, to.ip, { count: 5, timeoutSec: 2 });
    t.equal(r.received, 5);
    t.equal(await exited, 0, `capture exits by itself after 5 packets: ${err}`);
    t.match(err, /5 packets written/);
    const rows = await dissect(file, ['ip.src', 'ip.dst', 'udp.dstport', 'vxlan.vni', 'udp.checksum.status', 'ip.checksum.status', 'icmp.type']);
    t.equal(rows.length, 5);
    for (const [k, row] of rows.entries()) {
      t.same(row['vxlan.vni'], ['1'], `packet ${k}: VNI 1`);
      t.same(row['udp.dstport'], ['8472']);
      t.same(row['udp.checksum.status'], ['1'], `packet ${k}: outer UDP checksum Good`);
      t.equal(row['ip.checksum.status']?.[0], '1', 'outer IPv4 header checksum Good');
      const request = row['icmp.type']?.[0] === '8';
      const expect = request ? [master.underlayIp, from.ip, worker1.underlayIp, to.ip] : [worker1.underlayIp, to.ip, master.underlayIp, from.ip];
      t.same([...(row['ip.src'] ?? []), ...(row['ip.dst'] ?? [])], [expect[0], expect[1], expect[2], expect[3]],
        `packet ${k} (${request ? 'encapsulated request' : 'decapsulated reply'}): outer and inner addresses`);
    }
    t.ok(rows.some((r) => r['icmp.type']?.[0] === '8') && rows.some((r) => r['icmp.type']?.[0] === '0'), 'both directions captured');
    t.equal((await status(master)).capture.sessions, 0, 'the session ended');
  });

  await t.test('/metrics inside the node namespace: per-peer packets and drops', async (t) => {
    const script = "fetch('http://127.0.0.1:9472/metrics').then(r=>r.text()).then(x=>process.stdout.write(x),e=>{console.error(e.message);process.exit(1)})";
    const r = await execAsync(master.ns.argv(process.execPath, '-e', script), 15_000);
    t.equal(r.status, 0, r.stderr);
    const m = new RegExp(`^vxtun_peer_packets_total\\{peer="${worker1.subnet}",direction="tx"\\} (\\d+)$`, 'm').exec(r.stdout);
    t.ok(m !== null && Number(m[1]) >= 9, `per-peer tx packets: ${m?.[1]}`);
    t.match(r.stdout, /^vxtun_peer_packets_total\{peer="[^"]+",direction="rx"\} \d+$/m);
    t.match(r.stdout, /^vxtun_drops_total\{reason="unknown-peer"\} \d+$/m);
    t.match(r.stdout, /^vxtun_build_info\{/m);
    t.match(r.stdout, /^nodejs_eventloop_lag_seconds /m);
  });

  await t.test('the default socket is per network namespace; the socket goes with the daemon', async (t) => {
    const show = `import(${JSON.stringify(CONTROL_JS)}).then(m=>console.log(m.defaultControlSocket('flannel.1')))`;
    const inNode = await execAsync(master.ns.argv(process.execPath, '-e', show), 15_000);
    t.match(inNode.stdout.trim(), /^\/run\/vxtun\/netns-\d+\/flannel\.1\.sock$/, 'inside a node namespace');
    const sock = files.controlSocket(worker1);
    t.ok(existsSync(sock));
    t.equal(await runs[1]!.stop(), 0, 'clean exit');
    t.notOk(existsSync(sock), 'socket removed on exit');
    const r = await vxtun(worker1, ['status', '--socket', sock]);
    t.equal(r.status, 2);
    t.equal(r.stderr, `vxtun: no vxtun running: cannot connect to ${sock}\n`);
  });

  await t.test('without --control-socket, `vxtun status` in the same namespace finds the daemon', async (t) => {
    const worker2 = cluster.nodes[2]!;
    t.equal(await runs[2]!.stop(), 0);
    const child = worker2.spawn([process.execPath, VXTUN_BIN, 'run', '--iface', worker2.ulDev, '--net-config-path', files.netConf,
      '--subnet-mgr', 'static', '--leases', files.leases, '--subnet-file', files.subnetFile(worker2)], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await waitForOutput(child, child.stderr, /"msg":"control socket listening"/, 20_000);
    const r = await vxtun(worker2, ['status', '--json']);
    t.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as VxtunStatus;
    t.equal(s.lease.subnet, worker2.subnet, 'the default socket of this namespace');
    const dir = /^\/run\/vxtun\/netns-\d+$/;
    const where = (await execAsync(worker2.ns.argv(process.execPath, '-e', `import(${JSON.stringify(CONTROL_JS)}).then(m=>console.log(m.defaultControlSocket('flannel.1')))`), 15_000)).stdout.trim();
    t.match(path.dirname(where), dir);
    t.ok(existsSync(where), where);
    child.kill('SIGTERM');
    t.equal(await exited, 0);
    t.notOk(existsSync(path.dirname(where)), 'its per-namespace directory is removed with it');
  });

  await t.test('a taken metrics port: exit 2, one sentence, nothing left; --metrics-address off runs', async (t) => {
    const worker2 = cluster.nodes[2]!;
    const blocker = worker2.spawn([process.execPath, '-e', "require('net').createServer().listen(9472,'127.0.0.1',()=>console.log('listening'))"]);
    await waitForOutput(blocker, blocker.stdout, /listening/, 10_000);
    const args = ['run', '--iface', worker2.ulDev, '--net-config-path', files.netConf, '--subnet-mgr', 'static', '--leases', files.leases,
      '--subnet-file', files.subnetFile(worker2), '--control-socket', files.controlSocket(worker2)];
    const r = await vxtun(worker2, args);
    t.equal(r.status, 2);
    t.match(r.stderr, /vxtun: metrics address 127\.0\.0\.1:9472 is already in use \(choose another --metrics-address, or "off"\)\n$/);
    t.not(worker2.ns.tryExec('ip', 'link', 'show', 'flannel.1').status, 0, 'the TUN device is gone');
    t.notMatch(worker2.ns.ip('-4', 'route', 'show'), /flannel\.1/, 'and its route');
    t.notOk(existsSync(files.controlSocket(worker2)), 'and the control socket');
    const child = worker2.spawn([process.execPath, VXTUN_BIN, ...args, '--metrics-address', 'off'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    await waitForOutput(child, child.stderr, /"msg":"control socket listening"/, 20_000);
    t.equal((await status(worker2)).lease.subnet, worker2.subnet, 'runs with metrics off');
    child.kill('SIGTERM');
    t.equal(await exited, 0);
    blocker.kill('SIGTERM');
  });
});
