// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PcapWriter } from '../../src/pcap/writer.js';
import { readPcapFile } from '../../src/pcap/reader.js';
import { LINKTYPE_ETHERNET } from '../../src/pcap/format.js';
import { checkUdp } from '../../src/packet/udp.js';
import { checkVxlan } from '../../src/packet/vxlan.js';
import { checkInnerEthernet, parseMac } from '../../src/packet/ethernet.js';
import { outerEthernetFrame, stripOuterEthernet, OUTER_DEFAULT_DST_MAC, OUTER_DEFAULT_SRC_MAC } from '../../src/pcap/outer.js';
import { buildOuterUdp, buildVxlanFrame, buildIcmpEcho } from '../../src/packet/build.js';
import { decodeEthernet } from '../../src/packet/ethernet.js';
import { checkIpv4 } from '../../src/packet/ipv4.js';
import { hexBytes } from '../../src/packet/bytes.js';

t.test('outerEthernetFrame prepends an Ethernet header', async (t) => {
  const inner = buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 1, seq: 1 });
  const vx = buildVxlanFrame({ vni: 1, innerDstMac: '02:f1:00:00:00:02', innerSrcMac: '02:f1:00:00:00:01', inner });
  const ip = buildOuterUdp({ srcIp: '192.168.50.1', dstIp: '192.168.50.2', sport: 54752, dport: 8472, payload: vx });
  const f = outerEthernetFrame(ip, { srcMac: '9a:c8:22:9b:ab:9f', dstMac: '96:ac:9f:38:11:c9' });
  t.same(f.subarray(0, 14), hexBytes('96 ac 9f 38 11 c9 9a c8 22 9b ab 9f 08 00'), 'same outer header as the kernel capture');
  t.same(f.subarray(14), ip);
  t.equal(checkIpv4(f, 14, f.length - 14), 0);
  t.same(stripOuterEthernet(f), ip);

  const d = outerEthernetFrame(ip);
  t.match(decodeEthernet(d, 0, d.length), { ok: true, src: OUTER_DEFAULT_SRC_MAC, dst: OUTER_DEFAULT_DST_MAC, type: 0x0800 });
  ip[0] = 0x60;
  t.equal(outerEthernetFrame(ip).readUInt16BE(12), 0x86dd, 'an IPv6 packet gets 0x86dd');
  t.equal(outerEthernetFrame(Buffer.alloc(0)).length, 14);
  t.throws(() => outerEthernetFrame(ip, { srcMac: 'nope' }), /invalid MAC address "nope"/);
});

t.test('stripOuterEthernet rejects what is not IP', async (t) => {
  t.equal(stripOuterEthernet(Buffer.alloc(13)), undefined);
  t.equal(stripOuterEthernet(hexBytes('ff ff ff ff ff ff 02 00 00 00 00 01 08 06 00 01')), undefined, 'ARP');
  t.same(stripOuterEthernet(hexBytes('ff ff ff ff ff ff 02 00 00 00 00 01 86 dd 60')), hexBytes('60'));
});

t.test('an outer frame survives a LINKTYPE_ETHERNET pcap round trip and decodes to the inner packet', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-pcap-outer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const inner = buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 5, seq: 6 });
  const vx = buildVxlanFrame({ vni: 7, innerDstMac: '02:f1:00:00:00:02', innerSrcMac: '02:f1:00:00:00:01', inner });
  const ip = buildOuterUdp({ srcIp: '192.168.50.1', dstIp: '192.168.50.2', sport: 40000, dport: 8472, payload: vx });
  const file = path.join(dir, 'outer.pcap');
  const w = new PcapWriter(file, { linkType: LINKTYPE_ETHERNET });
  w.writeRecord(outerEthernetFrame(ip));
  w.close();
  const p = readPcapFile(file);
  t.equal(p.linkType, LINKTYPE_ETHERNET);
  const got = stripOuterEthernet(p.records[0]!.data);
  t.ok(got, 'an IP packet inside');
  if (!got) return;
  t.same(got, ip);
  t.equal(checkIpv4(got, 0, got.length), 0);
  t.equal(checkUdp(got, 20, got.length - 20), 0);
  t.equal(checkVxlan(got, 28, got.length - 28, 7), 0);
  t.equal(checkInnerEthernet(got, 36, got.length - 36, parseMac('02:f1:00:00:00:02')), 0);
  t.same(got.subarray(50), inner);
});
