// SPDX-License-Identifier: Apache-2.0
/**
 * Encapsulator and Decapsulator look a peer up only when the destination (encap) or the
 * sender (decap) changes within a batch. These batches interleave peers, misses and
 * spoofed sources so that a stale "last peer" would send a packet to the wrong VTEP or
 * let a spoofed one through.
 */
import t from 'tap';
import { Encapsulator } from '../../src/dataplane/encap.js';
import { Decapsulator } from '../../src/dataplane/decap.js';
import { PacketBatch, VERDICT_DROP, VERDICT_TUN, VERDICT_UDP } from '../../src/dataplane/batch.js';
import { DeviceCounters } from '../../src/dataplane/counters.js';
import { SubnetTable, type PeerLease } from '../../src/dataplane/table.js';
import { deviceConfig } from '../../src/dataplane/config.js';
import { buildUdpIpv4, buildVxlanFrame } from '../../src/packet/build.js';
import { parseIpv4 } from '../../src/packet/ipv4.js';
import { parseMac } from '../../src/packet/ethernet.js';

const OUR_MAC = '02:aa:00:00:00:01';
const PEERS: Record<string, { subnet: string; ip: string; mac: string }> = {
  two: { subnet: '10.244.2.0', ip: '192.168.50.2', mac: '02:aa:00:00:00:02' },
  three: { subnet: '10.244.3.0', ip: '192.168.50.3', mac: '02:aa:00:00:00:03' },
};

function lease(name: string): PeerLease {
  const p = PEERS[name]!;
  return { key: name, network: parseIpv4(p.subnet), prefixLen: 24, publicIp: parseIpv4(p.ip), vtepMac: parseMac(p.mac) };
}

function setup() {
  const table = new SubnetTable();
  table.replace([lease('two'), lease('three')]);
  const config = deviceConfig({ vni: 1, vtepMac: parseMac(OUR_MAC), network: parseIpv4('10.244.0.0'), networkPrefixLen: 16, batchSize: 16 });
  const counters = new DeviceCounters();
  return { table, counters, encap: new Encapsulator(config, table, counters), decap: new Decapsulator(config, table, counters) };
}

const udp = (src: string, dst: string) => buildUdpIpv4({ src, dst, sport: 1000, dport: 2000, payload: Buffer.alloc(8) });

t.test('encap: interleaved destinations each reach their own VTEP; a miss in between is not sent anywhere', async (t) => {
  const { encap, table } = setup();
  const dsts = ['10.244.2.5', '10.244.2.6', '10.244.3.5', '10.244.9.1', '10.244.2.7', '10.244.3.6', '10.244.3.6', '172.16.0.1', '10.244.2.5'];
  const want = ['two', 'two', 'three', null, 'two', 'three', 'three', null, 'two'];
  const batch = new PacketBatch(16, 1500);
  dsts.forEach((d, i) => batch.fill(i, udp('10.244.1.2', d)));
  encap.run(batch, dsts.length);
  for (let i = 0; i < dsts.length; i++) {
    const name = want[i] ?? null;
    if (name === null) {
      t.not(batch.verdict[i], VERDICT_UDP, `${dsts[i]} is not sent over UDP`);
      continue;
    }
    t.equal(batch.verdict[i], VERDICT_UDP, `${dsts[i]} is sent`);
    t.equal(batch.addr[i], parseIpv4(PEERS[name]!.ip) >>> 0, `${dsts[i]} goes to ${name}'s PublicIP`);
    t.same(batch.slice(i).subarray(8, 14), parseMac(PEERS[name]!.mac), `${dsts[i]} carries ${name}'s VtepMAC`);
  }
  // A table change between batches applies to the very next batch.
  table.replace([lease('three')]);
  batch.fill(0, udp('10.244.2.5', '10.244.2.5'));
  encap.run(batch, 1);
  t.not(batch.verdict[0], VERDICT_UDP, 'a lease removed between batches is not used');
});

t.test('decap: interleaved senders are each validated against their own lease', async (t) => {
  const { decap, counters } = setup();
  const frame = (peer: string, innerSrc: string) => buildVxlanFrame({
    vni: 1, innerDstMac: OUR_MAC, innerSrcMac: PEERS[peer]!.mac, inner: udp(innerSrc, '10.244.1.2'),
  });
  const rows: { from: string; frame: Buffer; ok: boolean }[] = [
    { from: '192.168.50.2', frame: frame('two', '10.244.2.9'), ok: true },
    { from: '192.168.50.2', frame: frame('two', '10.244.2.10'), ok: true },
    { from: '192.168.50.3', frame: frame('three', '10.244.3.9'), ok: true },
    { from: '192.168.50.3', frame: frame('three', '10.244.2.9'), ok: false }, // three claims two's pod
    { from: '192.168.50.2', frame: frame('two', '10.244.2.11'), ok: true },
    { from: '192.168.50.99', frame: frame('two', '10.244.2.12'), ok: false }, // not a peer
    { from: '192.168.50.2', frame: frame('two', '10.244.3.9'), ok: false }, // two claims three's pod
    { from: '192.168.50.3', frame: frame('three', '10.244.3.10'), ok: true },
  ];
  const batch = new PacketBatch(16, 1600);
  rows.forEach((r, i) => batch.fill(i, r.frame, parseIpv4(r.from), 40000));
  const accepted = decap.run(batch, rows.length, 0);
  t.equal(accepted, rows.filter((r) => r.ok).length);
  rows.forEach((r, i) => t.equal(batch.verdict[i], r.ok ? VERDICT_TUN : VERDICT_DROP, `row ${i} from ${r.from}`));
  t.equal(counters.dropsOf('spoofed-source'), 2);
  t.equal(counters.dropsOf('unknown-peer'), 1);
  t.equal(counters.udpRxPackets, rows.length, 'every datagram counted once');
});
