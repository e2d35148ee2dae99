// SPDX-License-Identifier: Apache-2.0
/**
 * A vxtun node and a kernel-flannel node on a veth underlay with its default offloads
 * (checksum offload and TSO on, as on kind-style container nodes and namespace labs). The
 * kernel VTEP there leaves inner TCP/UDP checksums for a NIC that never runs, and its TSO
 * frames cross the veth whole (up to 64 KB inside one VXLAN datagram). A kernel VTEP on
 * the other side copes (it trusts CHECKSUM_PARTIAL and forwards GSO packets); vxtun must
 * too: it finishes the leaked checksums and hands oversize TCP packets to its TUN as GSO
 * super-packets, or, with --no-offload (no virtio headers), cuts them into MTU-sized
 * segments itself. Without that, TCP from the kernel node to a vxtun pod stalls in both
 * directions of a connection (the ACKs are dropped too).
 */
import t from 'tap';
import { netnsSkipReason } from '../../src/lab/netns.js';
import { ping, udpExchange } from '../../src/lab/probe.js';
import { startVxtun, type LabVxtun } from '../../src/lab/vxtun.js';
import { kernelFlannel, peerOf, vtepMacFor } from '../../src/lab/kernel-flannel.js';
import { labFixture } from '../helpers/lab-fixture.js';
import { hashedTransfer } from '../helpers/transfer.js';

const skip = netnsSkipReason();

/** The stop line's counters and offload stats of a finished run. */
function stopReport(run: LabVxtun): { counters: Record<string, number>; tun: Record<string, number> } {
  for (const line of run.log().split('\n')) {
    if (!line.includes('"msg":"stopped; host state removed"')) continue;
    const j = JSON.parse(line) as { counters?: Record<string, number>; offloadStats?: { tun?: Record<string, number> } };
    return { counters: j.counters ?? {}, tun: j.offloadStats?.tun ?? {} };
  }
  return { counters: {}, tun: {} };
}

const modes = [
  { name: 'offloads on', args: [] as string[], cut: 'handed TCP packets over the MTU to the kernel to cut' },
  { name: '--no-offload', args: ['--no-offload'], cut: 'cut TCP packets over the MTU into segments itself' },
];

for (const [i, mode] of modes.entries()) {
  t.test(`vxtun (${mode.name}) and a kernel VTEP on a veth underlay with default offloads`, { skip: skip ?? false }, async (t) => {
    const { cluster, files, runs } = labFixture(t, { name: `vxveth${i}`, nodes: [{ name: 'master', pods: 1 }, { name: 'worker1', pods: 1 }] });
    const [master, worker] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const peers = cluster.nodes.map((n, k) => peerOf(n, vtepMacFor(k)));
    files.writeLeases(peers);
    const kernel = kernelFlannel(worker, { mac: vtepMacFor(1) });
    kernel.addPeer(peers[0]!);
    t.match(master.ns.exec('ethtool', '-k', master.ulDev), /tx-checksumming: on[\s\S]*tcp-segmentation-offload: on/, 'the underlay keeps its checksum offload and TSO');
    const run = await startVxtun(master, { files, args: mode.args });
    runs.push(run);
    const [vx, kp] = [master.pods[0]!, worker.pods[0]!];

    t.equal((await ping(vx, kp.ip, { count: 2, timeoutSec: 2 })).received, 2, 'ICMP vxtun pod → kernel pod');
    t.equal(await udpExchange(kp, vx, 7600, { message: 'udp-ok' }), 'udp-ok', 'UDP kernel pod → vxtun pod and back');
    const a = await hashedTransfer(vx, kp, 7601, 16 << 20);
    t.ok(a.ok, `16 MiB vxtun pod ⇄ kernel pod intact (${a.detail})`);
    const b = await hashedTransfer(kp, vx, 7602, 16 << 20);
    t.ok(b.ok, `16 MiB kernel pod ⇄ vxtun pod intact (${b.detail})`);

    t.equal(await run.stop(), 0, 'clean exit');
    const { counters, tun } = stopReport(run);
    t.ok((counters.checksumsFinished ?? 0) > 0, `vxtun finished leaked partial checksums (${counters.checksumsFinished})`);
    t.ok((tun.oversizeTcp ?? 0) > 0, `vxtun ${mode.cut} (${tun.oversizeTcp})`);
    t.ok((counters.overMtu ?? 0) >= (tun.oversizeTcp ?? 0) && (counters.overMtu ?? 0) > 0, `and counted them among the packets longer than the TUN MTU (${counters.overMtu})`);
    t.equal(Object.values(counters.drops ?? {}).length, 0, `no drops (${JSON.stringify(counters.drops)})`);
    t.match(run.log(), /"event":"checksumsFinished"/, 'and said so in its log, once it happened');
    t.match(run.log(), /"event":"oversizeTcp"/, 'and the first cut too');
  });
}
