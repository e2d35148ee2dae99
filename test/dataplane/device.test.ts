// SPDX-License-Identifier: Apache-2.0
/**
 * The Device over in-memory seams: two VTEPs on a MemoryNetwork. Exercises encap byte
 * for byte, decap of every drop reason, ICMP for leaseless destinations, source ports,
 * batching and table updates — without root.
 */
import t from 'tap';
import { Device } from '../../src/dataplane/device.js';
import { deviceConfig } from '../../src/dataplane/config.js';
import { SubnetTable, type PeerLease } from '../../src/dataplane/table.js';
import { MemoryTun } from '../../src/tun/memory.js';
import { MemoryNetwork, type MemoryBind } from '../../src/bind/memory.js';
import { FlowPortHasher } from '../../src/dataplane/flow-hash.js';
import { buildIcmpEcho, buildUdpIpv4, buildVxlanFrame, buildIpv4 } from '../../src/packet/build.js';
import { parseIpv4 } from '../../src/packet/ipv4.js';
import { parseMac } from '../../src/packet/ethernet.js';
import { decodeIpv4 } from '../../src/packet/ipv4.js';
import { decodeIcmp } from '../../src/packet/icmp.js';
import { DROP_REASONS, type DropReason } from '../../src/packet/drop.js';

const MAC_A = '02:aa:00:00:00:01';
const MAC_B = '02:aa:00:00:00:02';
const IP_A = parseIpv4('192.168.50.1');
const IP_B = parseIpv4('192.168.50.2');

function leaseOf(subnet: string, publicIp: number, mac: string): PeerLease {
  const [net, len] = subnet.split('/') as [string, string];
  return { key: `${net}-${len}`, network: parseIpv4(net), prefixLen: Number(len), publicIp, vtepMac: parseMac(mac) };
}
const LEASE_A = leaseOf('10.244.1.0/24', IP_A, MAC_A);
const LEASE_B = leaseOf('10.244.2.0/24', IP_B, MAC_B);

interface Node { tun: MemoryTun; bind: MemoryBind; device: Device; table: SubnetTable }

function makeNode(net: MemoryNetwork, ip: number, mac: string, peers: PeerLease[], validateSource = true): Node {
  const tun = new MemoryTun('flannel.1', 1450);
  const bind = net.attach(ip, 8472);
  const table = new SubnetTable();
  table.replace(peers);
  const config = deviceConfig({
    vni: 1, vtepMac: parseMac(mac), network: parseIpv4('10.244.0.0'), networkPrefixLen: 16,
    validateSource, batchSize: 16,
  });
  const device = new Device({ tun, bind, table, config, hasher: new FlowPortHasher(32768, 60999, 1234) });
  device.start();
  return { tun, bind, device, table };
}

function makePair(validateSource = true) {
  const net = new MemoryNetwork();
  const a = makeNode(net, IP_A, MAC_A, [LEASE_B], validateSource);
  const b = makeNode(net, IP_B, MAC_B, [LEASE_A], validateSource);
  return { net, a, b };
}

/** Lets setImmediate-driven readiness callbacks run. */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

function dropsOf(node: Node, reason: DropReason): number {
  return node.device.counters.dropsOf(reason);
}

t.test('encapsulates as the kernel does, byte for byte, and the peer decapsulates', async (t) => {
  const { net, a, b } = makePair();
  // A short inner frame (a UDP datagram with no payload): no padding may be added.
  const inner = buildUdpIpv4({ src: '10.244.1.2', dst: '10.244.2.2', sport: 40000, dport: 7000, payload: new Uint8Array(0), ttl: 63 });
  a.tun.inject(inner);
  await settle();
  t.equal(net.wire.length, 1, 'one datagram on the wire');
  const d = net.wire[0]!;
  t.equal(d.dst, IP_B);
  t.equal(d.src, IP_A);
  t.equal(d.dstPort, 8472);
  t.ok(d.srcPort >= 32768 && d.srcPort <= 60999, `source port ${d.srcPort} in the local port range`);
  const expected = Buffer.concat([
    Buffer.from('0800000000000100', 'hex'), // VXLAN: I flag, VNI 1, reserved zero
    Buffer.from('02aa0000000202aa000000010800', 'hex'), // inner Ethernet: dst B, src A, IPv4
    inner,
  ]);
  t.same(d.payload, expected, 'VXLAN + inner Ethernet + inner packet, exactly, no padding');
  t.equal(d.payload.length, 8 + 14 + 28);
  t.same(b.tun.written, [inner], 'the peer wrote exactly the inner packet to its TUN');
  t.equal(a.device.counters.udpTxPackets, 1);
  t.equal(b.device.counters.tunTxPackets, 1);
  const peerOnA = a.table.lookup(parseIpv4('10.244.2.2'))!;
  t.equal(peerOnA.txPackets, 1);
  t.equal(b.table.byPublicIp(IP_A)!.rxPackets, 1, 'per-peer receive counter');
});

t.test('outer TOS carries the inner ECN bits (CE sent as ECT(0)), never the DSCP', async (t) => {
  const { net, a } = makePair();
  for (const tos of [0x00, 0x01, 0x02, 0x03, 0xb8]) {
    a.tun.inject(buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 1, seq: tos, tos }));
  }
  await settle();
  t.same(net.wire.map((d) => d.tos), [0, 1, 2, 2, 0]);
});

t.test('same flow, same source port; different flows, different ports', async (t) => {
  const { net, a } = makePair();
  for (let k = 0; k < 3; k++) a.tun.inject(buildUdpIpv4({ src: '10.244.1.2', dst: '10.244.2.2', sport: 5000, dport: 53, payload: Buffer.from([k]) }));
  for (let k = 0; k < 20; k++) a.tun.inject(buildUdpIpv4({ src: '10.244.1.2', dst: '10.244.2.2', sport: 6000 + k, dport: 53, payload: Buffer.from([k]) }));
  await settle();
  const ports = net.wire.map((d) => d.srcPort);
  t.equal(ports[0], ports[1]);
  t.equal(ports[1], ports[2]);
  t.ok(new Set(ports.slice(3)).size >= 18, 'twenty flows spread over many ports');
});

t.test('a destination in Network with no lease gets ICMP net-unreachable back into the TUN', async (t) => {
  const { net, a } = makePair();
  const probe = buildUdpIpv4({ src: '10.244.1.2', dst: '10.244.9.9', sport: 1234, dport: 80, payload: Buffer.from('hello world!') });
  a.tun.inject(probe);
  a.tun.inject(buildIcmpEcho({ src: '10.244.1.2', dst: '8.8.8.8', id: 1, seq: 1 }));
  await settle();
  t.equal(net.wire.length, 0, 'nothing sent');
  t.equal(dropsOf(a, 'no-lease'), 1);
  t.equal(dropsOf(a, 'not-in-network'), 1);
  t.equal(a.tun.written.length, 1, 'one ICMP error, none for the address outside Network');
  const reply = a.tun.written[0]!;
  const ip = decodeIpv4(reply, 0, reply.length);
  t.ok(ip.ok, 'valid IPv4 header (checksum included)');
  if (!ip.ok) return;
  t.equal(ip.src, parseIpv4('10.244.9.9'), 'from the unreachable address (a local source would be dropped as martian)');
  t.equal(ip.dst, parseIpv4('10.244.1.2'), 'to the sender');
  t.equal(ip.protocol, 1);
  const icmp = decodeIcmp(reply, 20, reply.length - 20);
  t.ok(icmp.ok);
  if (icmp.ok) {
    t.equal(icmp.type, 3);
    t.equal(icmp.code, 0);
  }
  t.same(reply.subarray(28), probe.subarray(0, 28), 'quotes the original header and 8 bytes');
  t.equal(a.device.counters.icmpUnreachSent, 1);
});

t.test('no ICMP about ICMP errors, and a rate limit', async (t) => {
  const net = new MemoryNetwork();
  const tun = new MemoryTun();
  const table = new SubnetTable();
  const config = deviceConfig({ vni: 1, vtepMac: parseMac(MAC_A), network: parseIpv4('10.244.0.0'), networkPrefixLen: 16, icmpRatePerSec: 3 });
  const device = new Device({ tun, bind: net.attach(IP_A), table, config });
  device.start();
  const err = buildIpv4({ src: '10.244.1.2', dst: '10.244.9.9', proto: 1, payload: Buffer.from('0300fcff00000000', 'hex') });
  tun.inject(err);
  for (let k = 0; k < 10; k++) tun.inject(buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.9.9', id: 1, seq: k }));
  await settle();
  t.equal(device.counters.dropsOf('no-lease'), 11);
  t.equal(tun.written.length, 3, 'at most icmpRatePerSec errors, none about an ICMP error');
});

/** A datagram from `from` to B as a hostile or broken peer might send it. */
function inject(b: Node, from: number, payload: Buffer): void {
  b.bind.enqueue({ src: from, dst: IP_B, srcPort: 40000, dstPort: 8472, tos: 0, payload });
}

const goodInner = () => buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 7, seq: 1 });
const frame = (o: Partial<{ vni: number; dst: string; src: string; type: number; inner: Buffer }> = {}) =>
  buildVxlanFrame({ vni: o.vni ?? 1, innerDstMac: o.dst ?? MAC_B, innerSrcMac: o.src ?? MAC_A, inner: o.inner ?? goodInner(), innerType: o.type ?? 0x0800 });

t.test('decap drops each malformed or unwanted datagram, counted by reason, never written', async (t) => {
  const { b } = makePair();
  const cases: Array<[DropReason, Buffer, number?]> = [];
  const withByte = (at: number, v: number) => { const f = frame(); f[at] = v; return f; };
  cases.push(['truncated', frame().subarray(0, 7)]);
  cases.push(['bad-flags', withByte(0, 0x00)]);
  cases.push(['bad-flags', withByte(0, 0x88)]); // GBP flag: a non-GBP kernel drops it
  cases.push(['reserved-bits', withByte(1, 0x01)]);
  cases.push(['reserved-bits', withByte(3, 0x80)]);
  cases.push(['reserved-bits', withByte(7, 0x01)]);
  cases.push(['wrong-vni', frame({ vni: 2 })]);
  cases.push(['wrong-dst-mac', frame({ dst: '02:aa:00:00:00:99' })]);
  cases.push(['own-src-mac', frame({ src: MAC_B })]);
  cases.push(['bad-src-mac', frame({ src: '01:00:5e:00:00:01' })]);
  cases.push(['not-ipv4', frame({ type: 0x86dd })]);
  cases.push(['truncated', frame().subarray(0, 8 + 14 + 10)]);
  const badIhl = frame(); badIhl[22] = 0x44; cases.push(['bad-ihl', badIhl]);
  const badVer = frame(); badVer[22] = 0x65; cases.push(['not-ipv4', badVer]);
  const badLen = frame(); badLen.writeUInt16BE(9000, 22 + 2); cases.push(['bad-total-length', badLen]);
  const badSum = frame(); badSum[32] = badSum[32]! ^ 0xff; cases.push(['bad-header-checksum', badSum]);
  cases.push(['unknown-peer', frame(), parseIpv4('192.168.50.99')]);
  cases.push(['spoofed-source', frame({ inner: buildIcmpEcho({ src: '10.244.3.5', dst: '10.244.2.2', id: 1, seq: 1 }) })]);
  cases.push(['oversize', Buffer.alloc(70000)]);
  const expected = new Map<DropReason, number>();
  for (const [reason, payload, from] of cases) {
    inject(b, from ?? IP_A, payload);
    expected.set(reason, (expected.get(reason) ?? 0) + 1);
  }
  await settle();
  t.equal(b.tun.written.length, 0, 'nothing reached the TUN');
  for (const [reason, count] of expected) t.equal(dropsOf(b, reason), count, `${reason} counted`);
  const total = DROP_REASONS.reduce((s, r) => s + dropsOf(b, r), 0);
  t.equal(total, cases.length, 'every datagram counted exactly once');
});

t.test('decap trims to the IPv4 total length and accepts a peer\'s .0 VTEP address', async (t) => {
  const { b } = makePair();
  const inner = buildIcmpEcho({ src: '10.244.1.0', dst: '10.244.2.2', id: 9, seq: 9 });
  inject(b, IP_A, Buffer.concat([frame({ inner }), Buffer.alloc(6)])); // padded like a 60-byte minimum frame
  await settle();
  t.same(b.tun.written, [inner]);
});

t.test('source validation can be turned off', async (t) => {
  const { b } = makePair(false);
  inject(b, parseIpv4('192.168.50.99'), frame());
  inject(b, IP_A, frame({ inner: buildIcmpEcho({ src: '10.244.3.5', dst: '10.244.2.2', id: 1, seq: 1 }) }));
  await settle();
  t.equal(b.tun.written.length, 2);
  t.equal(dropsOf(b, 'unknown-peer') + dropsOf(b, 'spoofed-source'), 0);
});

t.test('large bursts go through in batches, nothing lost', async (t) => {
  const { net, a, b } = makePair();
  const count = 500;
  for (let k = 0; k < count; k++) a.tun.inject(buildUdpIpv4({ src: '10.244.1.2', dst: '10.244.2.2', sport: 1000 + (k % 7), dport: 9, payload: Buffer.from([k & 0xff, k >> 8]) }));
  await settle(200);
  t.equal(net.wire.length, count);
  t.equal(b.tun.written.length, count);
  t.same(b.tun.written.map((p) => p.readUInt16BE(28) ), Array.from({ length: count }, (_, k) => ((k & 0xff) << 8) | (k >> 8)), 'in order');
  t.ok(a.device.counters.encapBatches >= count / 16, `batches of at most 16 (${a.device.counters.encapBatches} batches)`);
});

t.test('a lease removed, changed and added takes effect at once', async (t) => {
  const { net, a, b } = makePair();
  const ping = (seq: number) => buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 3, seq });
  a.table.replace([]);
  a.tun.inject(ping(1));
  await settle();
  t.equal(net.wire.length, 0);
  t.equal(dropsOf(a, 'no-lease'), 1);
  // B moves to a new PublicIP and MAC: A must follow.
  const net2b = net.attach(parseIpv4('192.168.50.20'));
  const moved = leaseOf('10.244.2.0/24', parseIpv4('192.168.50.20'), '02:aa:00:00:00:22');
  a.table.replace([moved]);
  a.tun.inject(ping(2));
  await settle();
  t.equal(net.wire.length, 1);
  t.equal(net.wire[0]!.dst, parseIpv4('192.168.50.20'));
  t.same(net.wire[0]!.payload.subarray(8, 14), parseMac('02:aa:00:00:00:22'));
  net2b.close();
  a.table.replace([LEASE_B]);
  a.tun.inject(ping(3));
  await settle();
  t.equal(b.tun.written.length, 1, 'back to B');
});

t.test('close stops forwarding', async (t) => {
  const { net, a } = makePair();
  a.device.close();
  a.tun.inject(goodInner());
  await settle();
  t.equal(net.wire.length, 0);
  t.equal(a.device.pumpTun(), 0);
});
