// SPDX-License-Identifier: Apache-2.0
/**
 * Offloads end to end: two vxtun nodes on the lab underlay with `ethtool -K ul0 tx off`
 * (a real NIC's frame sizes), once with offloads on (the default) and once with
 * `--no-offload`, and once with a different set of single offloads disabled on each node
 * (`--disable-offload`). Bulk TCP between pods both ways (iperf3 for 2 s each way, and 16 MiB
 * hashed at both ends), the offloads vxtun reports, no 'bad-gso' drops, and on the wire
 * only real-size frames (<= 1514 bytes) from vxtun. With offloads on, GRO is also turned
 * on for ul0 of the receiving node in a second round, so the kernel coalesces VXLAN
 * datagrams for our UDP_GRO socket and the split is exercised on live traffic. Bursts of
 * small UDP datagrams must arrive whole and in order (with offloads on, the receiving node
 * writes them into its TUN as UDP super-packets).
 */
import t from 'tap';
import path from 'node:path';
import { netnsSkipReason } from '../../src/lab/netns.js';
import { captureUnderlay } from '../../src/lab/probe.js';
import { collect, sleep, stopChild, waitForOutput } from '../../src/lab/proc.js';
import { readPcapFile } from '../../src/pcap/reader.js';
import { startVxtun, type LabVxtun } from '../../src/lab/vxtun.js';
import { peerOf, vtepMacFor } from '../../src/lab/kernel-flannel.js';
import type { LabPod } from '../../src/lab/pod.js';
import { labFixture } from '../helpers/lab-fixture.js';
import { hashedTransfer } from '../helpers/transfer.js';

const skip = netnsSkipReason();

/**
 * 2000 small datagrams from `client` to `server` on one connected socket (consecutive IPv4
 * IDs, as the kernel gives them), in bursts of 50: how many arrived, and whether those
 * that did are whole and in order. Bursts put several in one batch at the receiving node,
 * where vxtun coalesces them into UDP super-packets for its TUN.
 */
async function udpBursts(client: LabPod, server: LabPod, port: number): Promise<{ got: number; intact: boolean; detail: string }> {
  const srv = server.spawn([process.execPath, '-e', `const d=require('dgram').createSocket('udp4');let got=0,intact=true;
d.on('message',m=>{const want=Buffer.alloc(18,got&0xff);want.writeUInt32BE(got,0);if(!m.equals(want))intact=false;got++;if(got===2000)done()});
function done(){console.log(JSON.stringify({got,intact}));process.exit(0)}
d.bind(${port},'0.0.0.0',()=>console.log('listening'));setTimeout(done,20000);`]);
  try {
    await waitForOutput(srv, srv.stdout, /listening/, 10_000);
    const result = collect(srv, 40_000); // attached now: the server may finish before the sender exits
    await collect(client.spawn(['python3', '-c', `import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((${JSON.stringify(server.ip)}, ${port}))
for b in range(40):
    for i in range(b * 50, b * 50 + 50): s.send(struct.pack('>I', i) + bytes([i & 0xff]) * 14)
    time.sleep(0.01)`]), 30_000);
    const r = await result;
    const res = JSON.parse(r.stdout.trim().split('\n').pop() || '{}') as { got?: number; intact?: boolean };
    return { got: res.got ?? 0, intact: res.intact === true, detail: r.stdout.trim() };
  } finally {
    await stopChild(srv);
  }
}

/** iperf3 for `secs` seconds (reverse: server sends); received bits per second. */
async function iperf(client: LabPod, server: LabPod, secs: number, reverse: boolean): Promise<number> {
  const srv = server.spawn(['iperf3', '-s', '-1', '-p', '5201']);
  try {
    await sleep(300);
    const r = await collect(client.spawn(['iperf3', '-c', server.ip, '-p', '5201', '-t', String(secs), '-J', ...(reverse ? ['-R'] : [])]), (secs + 30) * 1000);
    const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
    return j.end?.sum_received?.bits_per_second ?? 0;
  } catch {
    return 0;
  } finally {
    await stopChild(srv);
  }
}

/** The first pino line of a vxtun run whose msg is `msg`, parsed. */
function logEntry(run: LabVxtun, msg: string): Record<string, unknown> | undefined {
  for (const line of run.log().split('\n')) {
    if (!line.includes(`"msg":${JSON.stringify(msg)}`)) continue;
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Outer UDP/8472 frame lengths on `file` sent from `srcIp`. */
function sentFrameLengths(file: string, srcIp: string): number[] {
  const src = srcIp.split('.').map(Number);
  return readPcapFile(file).records
    .filter((r) => r.data.readUInt16BE(12) === 0x0800 && r.data[14 + 9] === 17 && r.data.subarray(26, 30).equals(Buffer.from(src)))
    .map((r) => r.origLen);
}

/** 'some': single offloads disabled, a different set on each node (--disable-offload). */
const SOME = { master: ['--disable-offload', 'gro,udp-gso'], worker1: ['--disable-offload=tso', '--disable-offload=udp-gro'] } as Record<string, string[]>;

for (const mode of ['on', 'off', 'some'] as const) {
  t.test(`bulk TCP between vxtun pods, offloads ${mode}`, { skip: skip ?? false }, async (t) => {
    const { cluster, files, scratch, runs } = labFixture(t, { name: `vxo${mode}`, nodes: [{ name: 'master', pods: 1 }, { name: 'worker1', pods: 1 }], txOffloadOff: true });
    files.writeLeases(cluster.nodes.map((n, i) => peerOf(n, vtepMacFor(i))));
    for (const node of cluster.nodes) runs.push(await startVxtun(node, { files, args: mode === 'off' ? ['--no-offload'] : mode === 'some' ? SOME[node.name]! : [] }));
    const [master, worker] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const [p1, p2] = [master.pods[0]!, worker.pods[0]!];

    const offloads = (logEntry(runs[0]!, 'forwarding')?.offloads as string[] | undefined) ?? ['?'];
    if (mode === 'on') t.match(offloads, ['csum', 'tso4', 'tso6'], `offloads reported: ${offloads.join(', ')}`);
    if (mode === 'on') t.ok(offloads.includes('gro') && offloads.includes('udp-gro') && offloads.includes('udp-gso'), 'coalescing, UDP GRO and UDP GSO on');
    if (mode === 'on' && offloads.includes('uso4')) t.ok(offloads.includes('gro-udp'), 'with USO: coalesced UDP writes on');
    if (mode === 'off') t.same(offloads, [], '--no-offload: none');
    if (mode === 'some') {
      t.ok(['csum', 'tso4', 'tso6', 'udp-gro'].every((o) => offloads.includes(o)) && !offloads.includes('gro') && !offloads.includes('udp-gso'),
        `master with gro and udp-gso disabled: ${offloads.join(', ')}`);
      const w = (logEntry(runs[1]!, 'forwarding')?.offloads as string[] | undefined) ?? ['?'];
      t.ok(w.includes('gro') && w.includes('udp-gso') && !w.includes('tso4') && !w.includes('tso6') && !w.includes('udp-gro'),
        `worker1 with tso and udp-gro disabled: ${w.join(', ')}`);
    }

    const file = path.join(scratch, 'master-ul0.pcap');
    const cap = await captureUnderlay(master, { file, filter: 'udp port 8472' });
    const up = await iperf(p1, p2, 2, false);
    const down = await iperf(p1, p2, 2, true);
    await cap.stop();
    t.ok(up > 0, `iperf3 pod1 → pod2: ${(up / 1e9).toFixed(2)} Gbit/s`);
    t.ok(down > 0, `iperf3 pod2 → pod1: ${(down / 1e9).toFixed(2)} Gbit/s`);
    const lengths = sentFrameLengths(file, master.underlayIp);
    t.ok(lengths.length > 1000, `vxtun sent ${lengths.length} frames`);
    t.equal(lengths.filter((l) => l > 1514).length, 0, `every frame vxtun sent is <= 1514 bytes (largest ${lengths.reduce((a, b) => Math.max(a, b), 0)})`);

    const u = await udpBursts(p1, p2, 7500);
    t.equal(u.got, 2000, `small UDP pod1 → pod2: every datagram arrives (${u.detail})`);
    t.ok(u.intact, 'each whole and in order');

    const x1 = await hashedTransfer(p1, p2, 7400, 16 << 20);
    t.ok(x1.ok, `16 MiB pod1 ⇄ pod2 intact (${x1.detail})`);
    if (mode !== 'off') {
      // GRO on ul0, as a real NIC has it: the kernel now coalesces VXLAN datagrams for our
      // UDP_GRO socket. (A veth only does GRO for frames from a peer without TSO: the
      // bridge ports get tx off too.)
      for (const node of cluster.nodes) node.ns.exec('ethtool', '-K', node.ulDev, 'gro', 'on');
      for (const port of cluster.wire.ip('-o', 'link').matchAll(/^\d+: (p\d+)@/gm)) cluster.wire.exec('ethtool', '-K', port[1]!, 'tx', 'off');
      const x2 = await hashedTransfer(p1, p2, 7401, 16 << 20);
      t.ok(x2.ok, `with GRO on ul0: 16 MiB pod1 ⇄ pod2 intact (${x2.detail})`);
    }

    for (const r of runs) t.equal(await r.stop(), 0, `${r.node.name}: clean exit`);
    for (const r of runs) {
      const counters = (logEntry(r, 'stopped; host state removed')?.counters ?? {}) as { drops?: Record<string, number>; tunTxPackets?: number };
      t.equal(counters.drops?.['bad-gso'] ?? 0, 0, `${r.node.name}: no bad-gso drops`);
      t.ok((counters.tunTxPackets ?? 0) > 1000, `${r.node.name}: delivered packets to its TUN`);
      if (mode === 'on') {
        const stats = logEntry(r, 'stopped; host state removed')?.offloadStats as { tun?: Record<string, number>; bind?: Record<string, number> } | undefined;
        t.ok((stats?.tun?.superRead ?? 0) > 0, `${r.node.name}: read TCP super-packets from its TUN`);
        t.ok((stats?.tun?.superWritten ?? 0) > 0, `${r.node.name}: wrote coalesced packets to its TUN`);
        if (r.node === worker) t.ok((stats?.tun?.udpSuperWritten ?? 0) > 0, `${r.node.name}: wrote coalesced UDP datagrams to its TUN (${stats?.tun?.udpSuperWritten})`);
        t.ok((stats?.bind?.['gso.sends'] ?? 0) > 0, `${r.node.name}: sent with UDP GSO`);
        t.ok((stats?.bind?.['gro.coalesced'] ?? 0) > 0, `${r.node.name}: received coalesced datagrams once ul0 had GRO`);
      }
      if (mode === 'some') {
        const stats = logEntry(r, 'stopped; host state removed')?.offloadStats as { tun?: Record<string, number>; bind?: Record<string, number> } | undefined;
        const tcpSuperWritten = (stats?.tun?.superWritten ?? 0) - (stats?.tun?.udpSuperWritten ?? 0);
        if (r.node === master) {
          t.ok((stats?.tun?.superRead ?? 0) > 0, 'master (tso on): read TCP super-packets from its TUN');
          t.equal(tcpSuperWritten, 0, 'master (gro off): no coalesced TCP writes');
          t.equal(stats?.bind?.['gso.sends'] ?? 0, 0, 'master (udp-gso off): no UDP GSO sends');
          t.ok((stats?.bind?.['gro.coalesced'] ?? 0) > 0, 'master (udp-gro on): received coalesced datagrams once ul0 had GRO');
        } else {
          t.equal(stats?.tun?.superRead ?? 0, 0, 'worker1 (tso off): no TCP super-packets read');
          t.ok(tcpSuperWritten > 0, 'worker1 (gro on): coalesced TCP writes');
          t.ok((stats?.bind?.['gso.sends'] ?? 0) > 0, 'worker1 (udp-gso on): UDP GSO sends');
          t.equal(stats?.bind?.['gro.coalesced'] ?? 0, 0, 'worker1 (udp-gro off): nothing coalesced by the kernel, even with GRO on ul0');
        }
      }
    }
  });
}
