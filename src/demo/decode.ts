// SPDX-License-Identifier: Apache-2.0
/**
 * Decodes one captured outer frame with vxtun's own codecs and describes it the way the
 * seed's Wireshark excerpt does (outer IPs, UDP 8472, VXLAN VNI, inner MACs and IPs, the
 * inner TCP/UDP/ICMP header), checksums verified. Throws when the frame does not decode.
 */
import { stripOuterEthernet } from '../pcap/outer.js';
import { decodeIpv4, ipToString, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../packet/ipv4.js';
import { decodeUdp, verifyUdpChecksumIPv4 } from '../packet/udp.js';
import { decodeVxlan, VXLAN_HEADER_LEN } from '../packet/vxlan.js';
import { decodeEthernet, ETHERTYPE_IPV4 } from '../packet/ethernet.js';
import { l4ChecksumIPv4 } from '../packet/checksum.js';
import { readU16, readU32 } from '../packet/bytes.js';

export interface DecodedPacket {
  outerSrc: string; outerDst: string; srcPort: number; dstPort: number; udpChecksumGood: boolean;
  vni: number; innerSrcMac: string; innerDstMac: string; innerSrc: string; innerDst: string;
  /** Wireshark-style lines. */
  lines: string[];
}

const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];

function innerL4(buf: Buffer, ip: ReturnType<typeof decodeIpv4> & { ok: true }): string {
  const o = ip.payloadOffset;
  const n = ip.payloadLength;
  if (ip.protocol === IPPROTO_TCP && n >= 20) {
    const flags = buf[o + 13]!;
    const names = TCP_FLAGS.filter((_, i) => (flags & (1 << i)) !== 0).join(', ');
    const good = l4ChecksumIPv4(buf, o, n, ip.src, ip.dst, IPPROTO_TCP) === 0;
    const hlen = (buf[o + 12]! >> 4) * 4;
    return `Transmission Control Protocol, Src Port: ${readU16(buf, o)}, Dst Port: ${readU16(buf, o + 2)}, Seq: ${readU32(buf, o + 4)}, Flags: [${names}], Len: ${n - hlen}, checksum ${good ? 'good' : 'BAD'}`;
  }
  if (ip.protocol === IPPROTO_UDP && n >= 8) return `User Datagram Protocol, Src Port: ${readU16(buf, o)}, Dst Port: ${readU16(buf, o + 2)}`;
  if (ip.protocol === IPPROTO_ICMP && n >= 4) return `Internet Control Message Protocol, Type: ${buf[o]}, Code: ${buf[o + 1]}`;
  return `protocol ${ip.protocol}, ${n} bytes`;
}

/** Decodes an outer Ethernet frame (as `vxtun capture --outer` writes them). */
export function decodeOuterFrame(frame: Buffer): DecodedPacket {
  const ipb = stripOuterEthernet(frame);
  if (!ipb) throw new Error('not an IPv4 Ethernet frame');
  const outer = decodeIpv4(ipb, 0, ipb.length);
  if (!outer.ok) throw new Error(`outer IPv4: ${outer.reason}`);
  const udp = decodeUdp(ipb, outer.payloadOffset, outer.payloadLength);
  if (!udp.ok) throw new Error(`UDP: ${udp.reason}`);
  const good = verifyUdpChecksumIPv4(ipb, outer.payloadOffset, outer.src, outer.dst);
  const vx = decodeVxlan(ipb, udp.payloadOffset, udp.payloadLength);
  if (!vx.ok) throw new Error(`VXLAN: ${vx.reason}`);
  const eo = udp.payloadOffset + VXLAN_HEADER_LEN;
  const eth = decodeEthernet(ipb, eo, udp.payloadLength - VXLAN_HEADER_LEN);
  if (!eth.ok) throw new Error(`inner Ethernet: ${eth.reason}`);
  if (eth.type !== ETHERTYPE_IPV4) throw new Error(`inner ethertype 0x${eth.type.toString(16)} is not IPv4`);
  const inner = decodeIpv4(ipb, eth.payloadOffset, udp.payloadOffset + udp.payloadLength - eth.payloadOffset);
  if (!inner.ok) throw new Error(`inner IPv4: ${inner.reason}`);
  const hex = (v: number) => `0x${v.toString(16).padStart(4, '0')}`;
  const lines = [
    `Ethernet II (outer, synthesized by vxtun capture), ${frame.length} bytes`,
    `Internet Protocol Version 4, Src: ${ipToString(outer.src)}, Dst: ${ipToString(outer.dst)}, TTL ${outer.ttl}, DF ${outer.df ? 'set' : 'clear'}, header checksum good`,
    `User Datagram Protocol, Src Port: ${udp.srcPort}, Dst Port: ${udp.dstPort}, checksum ${hex(udp.checksum)} ${good ? 'good' : 'BAD'}`,
    'Virtual eXtensible Local Area Network',
    `    Flags: ${hex(vx.flags << 8)}, VXLAN Network ID (VNI)`,
    `    VXLAN Network Identifier (VNI): ${vx.vni}`,
    `Ethernet II, Src: ${eth.src}, Dst: ${eth.dst}`,
    `Internet Protocol Version 4, Src: ${ipToString(inner.src)}, Dst: ${ipToString(inner.dst)}, TTL ${inner.ttl}`,
    innerL4(ipb, inner),
  ];
  return {
    outerSrc: ipToString(outer.src), outerDst: ipToString(outer.dst), srcPort: udp.srcPort, dstPort: udp.dstPort, udpChecksumGood: good,
    vni: vx.vni, innerSrcMac: eth.src, innerDstMac: eth.dst, innerSrc: ipToString(inner.src), innerDst: ipToString(inner.dst), lines,
  };
}
