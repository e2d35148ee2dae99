// SPDX-License-Identifier: Apache-2.0
/**
 * The offloads seen from the Device: a LinuxTun with offloads over a SOCK_SEQPACKET pair
 * (crafted virtio_net_hdr packets in, written records out) joined to an in-memory peer.
 * A super-packet comes out of the peer's TUN as the segments the reference split gives,
 * across batches and wakes; malformed headers count as 'bad-gso'; a run of segments from
 * the peer goes into our TUN as one coalesced write. Plus the small pieces: offload
 * negotiation and its fallbacks, the pending re-arm, offloads() on in-memory seams.
 */
import t from 'tap';
import { readSync, writeSync } from 'node:fs';
import { Device } from '../../src/dataplane/device.js';
import { deviceConfig } from '../../src/dataplane/config.js';
import { SubnetTable, type PeerLease } from '../../src/dataplane/table.js';
import { MemoryTun } from '../../src/tun/memory.js';
import { MemoryNetwork } from '../../src/bind/memory.js';
import { LinuxTun, negotiateTunOffloads } from '../../src/tun/linux.js';
import { LinuxBind } from '../../src/bind/linux.js';
import { loadNative } from '../../src/native/load.js';
import type { NativeBinding } from '../../src/native/binding.js';
import { parseIpv4 } from '../../src/packet/ipv4.js';
import { parseMac } from '../../src/packet/ethernet.js';
import { PendingKick, TUN_F_CSUM, TUN_F_USO4, TUN_OFFLOADS_BASE, TUN_OFFLOADS_USO } from '../../src/dataplane/offload.js';
import { ACK, pattern, refSplit, setL4Checksum, tcp4, tcpSuper, udp4, vnetHeader, parseVnet, GSO } from '../native/fixtures/offload-ref.js';

const native = loadNative();
const lease = (subnet: string, ip: string, mac: string): PeerLease => {
  const [net, len] = subnet.split('/') as [string, string];
  return { key: `${net}-${len}`, network: parseIpv4(net), prefixLen: Number(len), publicIp: parseIpv4(ip), vtepMac: parseMac(mac) };
};
const A = lease('10.244.1.0/24', '192.168.50.1', '02:aa:00:00:00:01');
const B = lease('10.244.2.0/24', '192.168.50.2', '02:aa:00:00:00:02');

async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Node A: LinuxTun over a socket pair (offloads on unless `plain`), node B: in memory (MTU
 * `mtuB`, default 1450). Small batches, one per wake.
 */
function makePair(t: { teardown(fn: () => void): void }, coalesce: { gro?: boolean; groUdp?: boolean; plain?: boolean; mtuB?: number } = {}) {
  const [peer, fd] = native.socketPair();
  const net = new MemoryNetwork();
  const node = (tun: LinuxTun | MemoryTun, ip: number, self: PeerLease, other: PeerLease) => {
    const table = new SubnetTable();
    table.replace([other]);
    const config = deviceConfig({ vni: 1, vtepMac: self.vtepMac, network: parseIpv4('10.244.0.0'), networkPrefixLen: 16, batchSize: 4, maxBatchesPerWake: 1 });
    const device = new Device({ tun, bind: net.attach(ip, 8472), table, config });
    device.start();
    return device;
  };
  const tunA = coalesce.plain === true
    ? LinuxTun.fromFd({ fd, name: 'sock0', mtu: 1450 })
    : LinuxTun.fromFd({ fd, name: 'sock0', mtu: 1450, offloadFlags: TUN_OFFLOADS_BASE | TUN_OFFLOADS_USO, gro: coalesce.gro, groUdp: coalesce.groUdp });
  const tunB = new MemoryTun('mem0', coalesce.mtuB ?? 1450);
  const a = node(tunA, A.publicIp, A, B);
  const b = node(tunB, B.publicIp, B, A);
  t.teardown(() => { a.close(); b.close(); native.close(peer); });
  const records = (): Buffer[] => {
    const out: Buffer[] = [];
    const buf = Buffer.alloc(70000);
    for (;;) {
      try { out.push(Buffer.from(buf.subarray(0, readSync(peer, buf)))); } catch { return out; }
    }
  };
  return { peer, a, b, tunA, tunB, records };
}

t.test('a super-packet from our TUN reaches the peer as its segments, across batches and wakes', async (t) => {
  const p = makePair(t);
  const sup = tcpSuper({ seq: 1, payload: pattern(10 * 1400 + 7), gsoSize: 1400 });
  writeSync(p.peer, sup);
  await settle();
  const want = refSplit(sup.subarray(10), 1400);
  t.equal(p.tunB.written.length, 11, 'all 11 segments, though a batch holds 4 and a wake drains one batch');
  t.same(p.tunB.written.map((b) => b.toString('hex')), want.map((b) => b.toString('hex')), 'identical to the reference split');
  t.equal(p.a.counters.udpTxPackets, 11);
  t.match(p.a.offloadStats().tun, { superRead: 1, segmentsOut: 11, pending: 0 });
});

t.test('malformed virtio headers are counted as bad-gso', async (t) => {
  const p = makePair(t);
  const bad = tcpSuper({ seq: 1, payload: pattern(3000), gsoSize: 1400 });
  bad[1] = GSO.UDP; // UFO: never accepted
  writeSync(p.peer, bad);
  writeSync(p.peer, Buffer.concat([vnetHeader({}), tcp4({ seq: 1, payload: pattern(5) })]));
  await settle();
  t.equal(p.a.counters.dropsOf('bad-gso'), 1);
  t.equal(p.a.counters.snapshot().drops['bad-gso'], 1, 'named in the snapshot');
  t.equal(p.tunB.written.length, 1, 'the good packet after it still goes through');
});

t.test('segments from the peer go into our TUN as one coalesced write', async (t) => {
  const p = makePair(t);
  const flow = { src: '10.244.2.2', dst: '10.244.1.2', sport: 5201, dport: 40000 };
  const segs = [0, 1, 2, 3].map((i) => tcp4({ ...flow, seq: 100 + i * 1400, flags: ACK, payload: pattern(1400, i), id: i }));
  p.tunB.inject(...segs);
  await settle();
  const recs = p.records();
  t.equal(recs.length, 1, 'one write for the batch of 4');
  t.same(parseVnet(recs[0]!), { flags: 1, gsoType: GSO.TCPV4, hdrLen: 40, gsoSize: 1400, csumStart: 20, csumOffset: 16 });
  t.same(recs[0]!.subarray(50), Buffer.concat(segs.map((s) => s.subarray(40))), 'the payloads in order');
  t.equal(p.a.counters.tunTxPackets, 4, 'counted as the 4 packets it carries');
  t.equal(p.a.counters.dropsOf('tun-write-failed'), 0);
  t.same(p.a.offloads(), ['csum', 'tso4', 'tso6', 'uso4', 'uso6', 'gro', 'gro-udp']);
});

t.test('--disable-offload gro / gro-udp: that protocol goes into the TUN one packet per write, the other still coalesces', async (t) => {
  const tcpFlow = { src: '10.244.2.2', dst: '10.244.1.2', sport: 5201, dport: 40000 };
  const udpFlow = { src: '10.244.2.2', dst: '10.244.1.2', sport: 5353, dport: 40001 };
  const tcpSegs = [0, 1, 2, 3].map((i) => tcp4({ ...tcpFlow, seq: 100 + i * 1400, flags: ACK, payload: pattern(1400, i), id: i }));
  const udpSegs = [0, 1, 2, 3].map((i) => udp4({ ...udpFlow, payload: pattern(1000, i), id: 50 + i }));
  for (const [label, coalesce, offloads, tcpWrites, udpWrites] of [
    ['gro off', { gro: false }, ['csum', 'tso4', 'tso6', 'uso4', 'uso6', 'gro-udp'], 4, 1],
    ['gro-udp off', { groUdp: false }, ['csum', 'tso4', 'tso6', 'uso4', 'uso6', 'gro'], 1, 4],
    ['both off', { gro: false, groUdp: false }, ['csum', 'tso4', 'tso6', 'uso4', 'uso6'], 4, 4],
  ] as const) {
    const p = makePair(t, coalesce);
    t.same(p.a.offloads(), offloads, `${label}: offloads()`);
    for (const [segs, writes, proto] of [[tcpSegs, tcpWrites, 'TCP'], [udpSegs, udpWrites, 'UDP']] as const) {
      p.tunB.inject(...segs);
      await settle();
      const recs = p.records();
      t.equal(recs.length, writes, `${label}: ${proto} in ${writes} write(s)`);
      if (writes === segs.length) {
        t.ok(recs.every((r) => parseVnet(r).gsoType === GSO.NONE && parseVnet(r).flags === 0), `${label}: ${proto} with zero virtio headers`);
        t.same(recs.map((r) => r.subarray(10)), segs, `${label}: ${proto} packets unchanged, in order`);
      } else {
        t.equal(parseVnet(recs[0]!).gsoType, proto === 'TCP' ? GSO.TCPV4 : GSO.UDP_L4, `${label}: ${proto} coalesced`);
      }
    }
    t.equal(p.a.counters.tunTxPackets, 8, `${label}: every packet counted`);
  }
});

t.test('a checksum the sender left partial is finished on the way into our TUN, and counted', async (t) => {
  const p = makePair(t);
  const flow = { src: '10.244.2.2', dst: '10.244.1.2', sport: 5201, dport: 40000 };
  const valid = udp4({ ...flow, payload: pattern(40) });
  const leaked = Buffer.from(valid);
  setL4Checksum(leaked, 17, 6, true);
  p.tunB.inject(leaked, tcp4({ ...flow, seq: 1, payload: pattern(10) }));
  await settle();
  const recs = p.records();
  t.equal(recs.length, 2);
  t.same(recs[0]!.subarray(10), valid, 'the datagram reaches the kernel with its full checksum');
  t.equal(p.a.counters.checksumsFinished, 1, 'one finished (the valid TCP segment is not)');
  t.equal(p.a.counters.snapshot().checksumsFinished, 1, 'in the snapshot');
});

t.test('without virtio headers, a TCP packet over our MTU from a peer is cut into MTU-sized segments before our TUN', async (t) => {
  // B's MTU is larger (9000): its 7000-byte TCP packets arrive whole, their checksum left
  // as the pseudo-header sum, as a kernel VTEP's TSO frames do over a veth underlay.
  const p = makePair(t, { plain: true, mtuB: 9000 });
  t.same(p.tunA.offloads, [], 'a plain TUN');
  t.same(p.a.offloadStats(), { tun: { oversizeTcp: 0 } }, 'whose only stat is oversizeTcp');
  const flow = { src: '10.244.2.5', dst: '10.244.1.7' };
  const valid = tcp4({ ...flow, seq: 100, payload: pattern(7000, 4) });
  const leaked = Buffer.from(valid);
  setL4Checksum(leaked, 6, 16, true);
  p.tunB.inject(leaked, tcp4({ ...flow, seq: 1, payload: pattern(10) }));
  await settle();
  const recs = p.records();
  const want = refSplit(valid, 1450 - 40);
  t.equal(want.length, 5);
  t.same(recs, [...want, tcp4({ ...flow, seq: 1, payload: pattern(10) })], 'the segments the sender\'s NIC would have sent, then the small packet as it was');
  t.same(p.a.offloadStats(), { tun: { oversizeTcp: 1 } }, 'counted');
  t.equal(p.a.counters.overMtu, 1, 'and among the packets longer than the TUN MTU');
  t.equal(p.a.counters.tunTxPackets, 2, 'each delivered once');
});

t.test('in-memory seams report no offloads', async (t) => {
  const net = new MemoryNetwork();
  const d = new Device({ tun: new MemoryTun(), bind: net.attach(1, 8472), table: new SubnetTable(), config: deviceConfig({ vni: 1, vtepMac: A.vtepMac, network: 0, networkPrefixLen: 0 }) });
  t.same(d.offloads(), []);
  t.same(d.offloadStats(), {});
});

t.test('negotiation: USO when accepted, the base set otherwise, none as the last resort', async (t) => {
  const einval = Object.assign(new Error('no'), { code: 'EINVAL' });
  const asked: number[] = [];
  const fake = (accept: (flags: number) => boolean): NativeBinding => ({
    tunSetOffload: (_fd: number, flags: number) => { asked.push(flags); if (!accept(flags)) throw einval; },
  }) as unknown as NativeBinding;
  const both = { tso: true, uso: true };
  t.equal(negotiateTunOffloads(fake(() => true), 3, both), TUN_OFFLOADS_BASE | TUN_OFFLOADS_USO);
  t.equal(negotiateTunOffloads(fake((f) => (f & TUN_OFFLOADS_USO) === 0), 3, both), TUN_OFFLOADS_BASE, 'a pre-6.2 kernel');
  asked.length = 0;
  t.equal(negotiateTunOffloads(fake((f) => f === 0), 3, both), 0, 'nothing accepted');
  t.same(asked, [TUN_OFFLOADS_BASE | TUN_OFFLOADS_USO, TUN_OFFLOADS_BASE, 0], 'each fallback tried, ending with no offloads set');
  t.equal(negotiateTunOffloads(fake(() => false), 3, both), 0, 'even 0 refused: still no offloads');
  t.equal(negotiateTunOffloads(fake(() => true), 3, { tso: true, uso: false }), TUN_OFFLOADS_BASE, 'USO not asked for');
  asked.length = 0;
  t.equal(negotiateTunOffloads(fake(() => true), 3, { tso: false, uso: true }), TUN_F_CSUM | TUN_OFFLOADS_USO, 'USO without TSO (--disable-offload tso)');
  t.same(asked, [TUN_F_CSUM | TUN_OFFLOADS_USO]);
  t.equal(negotiateTunOffloads(fake((f) => f === 0), 3, { tso: false, uso: true }), 0, 'USO refused without TSO: none');
  asked.length = 0;
  t.equal(negotiateTunOffloads(fake(() => true), 3, { tso: false, uso: false }), 0, 'neither asked for');
  t.same(asked, [0], 'the device is still set to none (an attached persistent TUN may carry old flags)');
  const eperm = { tunSetOffload: () => { throw Object.assign(new Error('x'), { code: 'EBADF' }); } } as unknown as NativeBinding;
  t.throws(() => negotiateTunOffloads(eperm, 3, both), { code: 'EBADF' }, 'other errors are not a refusal');
});

t.test('LinuxBind falls back to plain recvmmsg when UDP_GRO is refused', async (t) => {
  const closed: number[] = [];
  const fake = {
    udpOpen: () => 10, rawOpen: () => 11, udpSetGro: () => false, close: (fd: number) => { closed.push(fd); },
    udpGroNew: () => { throw new Error('must not be called'); },
  } as unknown as NativeBinding;
  const bind = LinuxBind.open({ port: 8472, srcIp: 1, gro: true, gso: false, native: fake });
  t.same(bind.offloads, []);
  t.equal(bind.offloadStats(), undefined);
  bind.close();
  t.same(closed, [10, 11]);
  const plain = LinuxBind.open({ port: 8472, srcIp: 1, gro: false, gso: false, native: { ...fake, udpSetGro: () => { throw new Error('not asked'); } } as unknown as NativeBinding });
  t.same(plain.offloads, []);
});

t.test('LinuxBind uses UDP GSO only with UDP checksums, and closes its sockets', async (t) => {
  const calls: string[] = [];
  const fake = {
    udpOpen: () => 10, rawOpen: () => 11, udpSetGro: () => false, close: () => {},
    udpGsoNew: (o: { srcIp: number; ttl: number }) => { calls.push(`new ${o.srcIp} ${o.ttl}`); return {}; },
    udpGsoClose: () => { calls.push('close'); },
  } as unknown as NativeBinding;
  const withSums = LinuxBind.open({ port: 8472, srcIp: 7, ttl: 9, gro: false, gso: true, native: fake });
  t.same(withSums.offloads, ['udp-gso']);
  t.match(withSums.offloadStats(), { 'gso.sends': 0 });
  withSums.close();
  const noSums = LinuxBind.open({ port: 8472, srcIp: 7, gso: true, udpChecksum: false, native: fake });
  t.same(noSums.offloads, [], 'UDP GSO always checksums: not with --no-udp-checksum');
  noSums.close();
  t.same(calls, ['new 7 9', 'close']);
});

t.test('PendingKick arms an extra callback only while data is pending, never after close', async (t) => {
  let pending = true;
  let armed = 0;
  const kick = new PendingKick(() => pending);
  kick.check();
  t.equal(armed, 0, 'nothing to arm yet');
  kick.arm = () => { armed++; };
  kick.check();
  t.equal(armed, 1, 'armed while pending (the addon coalesces repeated kicks)');
  pending = false;
  kick.check();
  t.equal(armed, 1, 'not armed when nothing is pending');
  pending = true;
  kick.arm = undefined;
  kick.check();
  t.equal(armed, 1, 'not armed after close');
});
