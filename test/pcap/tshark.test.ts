// SPDX-License-Identifier: Apache-2.0
/**
 * Wireshark as an independent judge: frames built by src/packet/build.ts and written
 * by src/pcap/writer.ts must dissect as VXLAN with the VNI, flags, addresses and MACs
 * we meant, and with checksums tshark calls Good. Skipped when tshark is not on PATH.
 *
 * Fields are printed with occurrence=a, so a field present in both the outer and the
 * inner headers (ip.src, eth.dst, ...) lists both, outer first. The aggregator is ';'
 * so that it cannot be confused with the ',' field separator.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PcapWriter } from '../../src/pcap/writer.js';
import { outerEthernetFrame } from '../../src/pcap/outer.js';
import { LINKTYPE_IPV4, LINKTYPE_RAW } from '../../src/pcap/format.js';
import { buildIcmpEcho, buildOuterUdp, buildUdpIpv4, buildVxlanFrame } from '../../src/packet/build.js';
import { writeDestUnreachable, ICMP_HOST_UNREACH } from '../../src/packet/icmp.js';
import { parseIpv4 } from '../../src/packet/ipv4.js';

const probe = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
const skip = probe.error ? 'tshark is not on PATH (apt-get install tshark); skipping the Wireshark judge' : false;

const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-tshark-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Runs tshark with checksum checking on and returns one array of fields per frame (each field split on ';'). */
function tshark(file: string, fields: string[], vxlanPort = true): string[][][] {
  const args = [
    '-r', file, ...(vxlanPort ? ['-d', 'udp.port==8472,vxlan'] : []),
    '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
    '-T', 'fields', '-E', 'separator=,', '-E', 'aggregator=;', '-E', 'occurrence=a',
    ...fields.flatMap((f) => ['-e', f]),
  ];
  const res = spawnSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (res.status !== 0) throw new Error(`tshark exited ${res.status} on ${file}`);
  return res.stdout.trim().split('\n').map((line) => line.split(',').map((f) => (f === '' ? [] : f.split(';'))));
}

/** tshark 4.0 prints booleans as 1/0, later versions as True/False. */
const TRUE = ['1', 'True'];

const POD_A = '10.244.1.2';
const POD_B = '10.244.2.3';
const NODE_1 = '192.168.50.1';
const NODE_2 = '192.168.50.2';
const VTEP_1 = '02:f1:00:00:00:01';
const VTEP_2 = '02:f1:00:00:00:02';
const echo = buildIcmpEcho({ src: POD_A, dst: POD_B, id: 0x1234, seq: 1, ttl: 63, df: true });
const dgram = buildUdpIpv4({ src: POD_A, dst: POD_B, sport: 40001, dport: 40000, payload: Buffer.from('hello, vxlan') });

function vxlanPacket(vni: number, inner: Buffer, checksum = true): Buffer {
  const payload = buildVxlanFrame({ vni, innerDstMac: VTEP_2, innerSrcMac: VTEP_1, inner });
  return buildOuterUdp({ srcIp: NODE_1, dstIp: NODE_2, sport: 54752, dport: 8472, payload, checksum });
}

t.test('tshark dissects our VXLAN frames as we meant them', { skip }, async (t) => {
  const file = path.join(dir, 'vxlan.pcap');
  const w = new PcapWriter(file);
  const corrupt = vxlanPacket(1, echo);
  corrupt[27] = corrupt[27]! ^ 1; // flips a bit of the outer UDP checksum: tshark must call it Bad
  for (const p of [vxlanPacket(1, echo), vxlanPacket(0x123456, dgram), corrupt]) {
    w.writeRecord(outerEthernetFrame(p, { srcMac: '9a:c8:22:9b:ab:9f', dstMac: '96:ac:9f:38:11:c9' }), 1_700_000_000_000_000n);
  }
  w.close();
  const rows = tshark(file, [
    'vxlan.vni', 'vxlan.flags', 'vxlan.flag_i', 'udp.dstport', 'ip.src', 'ip.dst', 'eth.src', 'eth.dst',
    'ip.checksum.status', 'udp.checksum.status', 'frame.protocols',
  ]);
  t.equal(rows.length, 3, 'three frames');
  const [a, b, c] = rows as [string[][], string[][], string[][]];
  const [vniA, flagsA, flagIA, dportA, srcA, dstA, ethSrcA, ethDstA, ipSumA, udpSumA, protoA] = a;
  t.same(vniA, ['1'], 'VNI 1');
  t.same(flagsA, ['0x0800'], 'flags: only I (vxlan.flags is 16 bits)');
  t.ok(TRUE.includes(flagIA?.[0] ?? ''), 'I flag set');
  t.same(dportA, ['8472']);
  t.same(srcA, [NODE_1, POD_A], 'outer and inner source');
  t.same(dstA, [NODE_2, POD_B], 'outer and inner destination');
  t.same(ethSrcA, ['9a:c8:22:9b:ab:9f', VTEP_1], 'inner source MAC is the sending VTEP');
  t.same(ethDstA, ['96:ac:9f:38:11:c9', VTEP_2], 'inner destination MAC is the receiving VTEP');
  t.same(ipSumA, ['1', '1'], 'outer and inner IPv4 header checksums Good');
  t.same(udpSumA, ['1'], 'outer UDP checksum Good');
  t.same(protoA, ['eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data']);

  t.same(b[0], [String(0x123456)], 'VNI 0x123456');
  t.same(b[3], ['8472', '40000'], 'outer and inner UDP ports');
  t.same(b[8], ['1', '1']);
  t.same(b[9], ['1', '1'], 'outer and inner UDP checksums Good');
  t.same(b[10], ['eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:udp:data']);

  t.same(c[9], ['0'], 'the corrupted UDP checksum is Bad: the check is real');
});

t.test('a zero outer UDP checksum reads as "not present"', { skip }, async (t) => {
  const file = path.join(dir, 'nocsum.pcap');
  const w = new PcapWriter(file);
  w.writeRecord(outerEthernetFrame(vxlanPacket(1, echo, false)));
  w.close();
  const [row] = tshark(file, ['vxlan.vni', 'udp.checksum.status', 'ip.checksum.status']);
  t.same(row, [['1'], ['3'], ['1', '1']]);
});

t.test('raw IP link types dissect as IP', { skip }, async (t) => {
  const raw = path.join(dir, 'raw.pcap');
  const w = new PcapWriter(raw, { linkType: LINKTYPE_RAW });
  w.writeRecord(echo);
  w.writeRecord(dgram);
  // An ICMP host-unreachable built in place, as the dataplane would send it.
  const slot = Buffer.alloc(64 + dgram.length);
  dgram.copy(slot, 64);
  const { start, length } = writeDestUnreachable(slot, 64, dgram.length, parseIpv4('10.244.1.0'), ICMP_HOST_UNREACH);
  w.writeRecord(slot.subarray(start, start + length));
  w.close();
  const rows = tshark(raw, ['ip.src', 'ip.dst', 'ip.checksum.status', 'icmp.type', 'icmp.code', 'icmp.checksum.status', 'udp.checksum.status', 'ip.dsfield', 'frame.protocols'], false);
  t.equal(rows.length, 3);
  t.same(rows[0], [[POD_A], [POD_B], ['1'], ['8'], ['0'], ['1'], [], ['0x00'], ['raw:ip:icmp:data']]);
  t.same(rows[1], [[POD_A], [POD_B], ['1'], [], [], [], ['1'], ['0x00'], ['raw:ip:udp:data']]);
  t.same(rows[2], [
    ['10.244.1.0', POD_A], [POD_A, POD_B], ['1', '1'], ['3'], ['1'], ['1'], ['2'], ['0xc0', '0x00'], ['raw:ip:icmp:ip:udp'],
  ], 'host unreachable from 10.244.1.0 quoting the original header + 8 bytes (quoted UDP checksum: 2, unverified)');

  const v4 = path.join(dir, 'ipv4.pcap');
  const w4 = new PcapWriter(v4, { linkType: LINKTYPE_IPV4 });
  w4.writeRecord(echo);
  w4.close();
  t.same(tshark(v4, ['ip.src', 'ip.checksum.status', 'frame.protocols'], false), [[[POD_A], ['1'], ['ip:icmp:data']]]);
});
