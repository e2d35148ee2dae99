// SPDX-License-Identifier: Apache-2.0
/**
 * The TUN offloads against the real kernel: two TUNs opened by LinuxTun with offloads,
 * one moved to a second namespace, joined by a forwarder that does what the Device does
 * (read a batch, write it). The kernel's TCP stack hands the first TUN 64 KB super-
 * packets, which must come out split and go into the second TUN coalesced; 24 MiB each
 * way must arrive intact. UDP_SEGMENT sends (USO) must arrive as the datagrams sent, and
 * go into the second TUN as coalesced GSO_UDP_L4 writes. A TUN that refuses those writes
 * (a stand-in for an older kernel) must get them datagram by datagram from then on.
 */
import t from 'tap';
import { Netns, netnsSkipReason, uniqueSuffix } from '../../src/lab/netns.js';
import { runChild } from './fixtures/run-child.js';

const skip = netnsSkipReason();

interface Stats {
  superRead: number; segmentsOut: number; superWritten: number; segmentsMerged: number; udpSuperWritten: number;
  udpGroDisabled: number; badVnetHeader: number; pending: number;
}

t.test('offloading TUNs in two namespaces', { skip: skip ?? false }, async (t) => {
  const ns = Netns.create(`vxtun-off-${uniqueSuffix()}`);
  t.teardown(() => ns.delete());
  const peer = Netns.create(`vxtun-offp-${uniqueSuffix()}`);
  t.teardown(() => peer.delete());
  const r = runChild<{
    offloadsA: string[]; offloadsB: string[]; tso: boolean;
    udp: string[]; afterUdp: Stats; afterUdpB: Stats;
    tcp: { clientToServerOk: boolean; serverToClientOk: boolean };
    statsA: Stats; statsB: Stats;
  }>(ns, 'offload-child', 'shuttle', peer.name);
  t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
  const o = r.report;
  if (!o) return t.fail('child printed no report');

  t.match(o.offloadsA, ['csum', 'tso4', 'tso6'], 'the base set is on');
  t.ok(o.offloadsA.includes('gro'), 'coalesced writes are on');
  t.ok(o.tso, 'ethtool shows TSO on the TUN');
  const uso = o.offloadsA.includes('uso4');

  if (uso) {
    const want: string[] = [];
    [8, 5, 3].forEach((count, k) => {
      for (let j = 0; j < count; j++) {
        const b = Buffer.alloc(1000);
        b[0] = k; b[1] = j;
        for (let i = 0; i < 998; i++) b[2 + i] = (k * 31 + j * 7 + i) & 0xff;
        want.push(b.toString('hex'));
      }
    });
    t.same(o.udp, want, 'USO: every datagram arrives, whole and in order');
    t.ok(o.afterUdp.superRead >= 3, `USO: the kernel handed over super-packets (${o.afterUdp.superRead})`);
    t.ok(o.afterUdpB.udpSuperWritten >= 1, `USO: the datagrams went into the second TUN coalesced (${o.afterUdpB.udpSuperWritten} GSO_UDP_L4 writes)`);
    t.equal(o.afterUdpB.udpGroDisabled, 0, 'USO: the kernel took them');
  } else {
    t.comment('kernel without TUN USO (< 6.2): the UDP part only checks delivery');
    t.equal(o.udp.length, 16, 'all 16 datagrams arrive');
  }

  t.ok(o.tcp.clientToServerOk, 'TCP: 24 MiB from the peer namespace arrive intact');
  t.ok(o.tcp.serverToClientOk, 'TCP: 24 MiB to the peer namespace arrive intact');
  t.ok(o.statsA.superRead > o.afterUdp.superRead, `the sending TUN read TCP super-packets (${o.statsA.superRead})`);
  t.ok(o.statsA.segmentsOut > o.statsA.superRead, 'and cut them into segments');
  t.ok(o.statsB.superWritten > 0, `the receiving TUN got coalesced writes (${o.statsB.superWritten})`);
  t.ok(o.statsB.segmentsMerged > o.statsB.superWritten, 'each of several segments');
  for (const s of [o.statsA, o.statsB]) {
    t.equal(s.badVnetHeader, 0, 'the kernel never sent a header we refused');
    t.equal(s.pending, 0, 'nothing left pending');
  }
});

t.test('a kernel that refuses UDP super-packets: written one by one from then on', { skip: skip ?? false }, async (t) => {
  const ns = Netns.create(`vxtun-uso-${uniqueSuffix()}`);
  t.teardown(() => ns.delete());
  interface Step { written: number; dropped: number; stats: Stats }
  const r = runChild<{ first: Step; second: Step }>(ns, 'offload-child', 'uso-refused');
  t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
  const o = r.report;
  if (!o) return t.fail('child printed no report');
  t.equal(o.first.written, 0, 'nothing was taken (this stand-in refuses every write)');
  t.equal(o.first.dropped, 6, 'the merged write was tried once, then each of the 5 datagrams');
  t.equal(o.first.stats.udpGroDisabled, 1, 'UDP coalescing is off and says so');
  t.equal(o.first.stats.udpSuperWritten, 0);
  t.equal(o.second.dropped, 11, 'the next run went datagram by datagram without a merged try');
  t.equal(o.second.stats.udpGroDisabled, 1);
});
