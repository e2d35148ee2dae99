// SPDX-License-Identifier: Apache-2.0
/**
 * Packet builders for tests, the demo and benches: each returns a new, byte-exact,
 * correctly checksummed Buffer. Not for the hot path (they allocate). Addresses may
 * be given as dotted quads or uint32; MACs as 'xx:xx:..' strings or Uint8Array(6).
 *
 *   buildIpv4          | IPv4 (+options) | payload |
 *   buildUdpIpv4       | IPv4 | UDP | payload |
 *   buildIcmpEcho      | IPv4 | ICMP echo | payload |
 *   buildTcpIpv4       | IPv4 | TCP (20, no options) | payload |
 *   buildEthernetFrame | Ethernet | payload |
 *   buildVxlanFrame    | VXLAN | inner Ethernet | inner packet |     (a UDP payload)
 *   buildOuterUdp      | outer IPv4 | UDP | payload |               (DF clear, TTL 64)
 *
 *   TCP header (RFC 793), as written by buildTcpIpv4:
 *   +---------------+---------------+-------------------------------+
 *   |          Source Port          |        Destination Port       |  0
 *   |                        Sequence Number                        |  4
 *   |                     Acknowledgment Number                     |  8
 *   | Offset| Rsvd  |     Flags     |            Window             | 12
 *   |           Checksum            |        Urgent Pointer         | 16
 *   +-------------------------------+-------------------------------+
 */
import { writeU16, writeU32 } from './bytes.js';
import { l4ChecksumIPv4 } from './checksum.js';
import { ETH_HEADER_LEN, ETHERTYPE_IPV4, parseMac, writeEthernet } from './ethernet.js';
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, writeIcmpHeader } from './icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_MIN_HEADER_LEN, parseIpv4, writeIpv4Header } from './ipv4.js';
import { fillUdpChecksumIPv4, UDP_HEADER_LEN, writeUdpHeader } from './udp.js';
import { VXLAN_HEADER_LEN, writeVxlan } from './vxlan.js';

export type AddrLike = string | number;
export type MacLike = string | Uint8Array;

export const TCP_HEADER_LEN = 20;
export const TCP_SEQ_OFFSET = 4;
export const TCP_ACK_OFFSET = 8;
export const TCP_DATA_OFFSET_OFFSET = 12;
export const TCP_FLAGS_OFFSET = 13;
export const TCP_WINDOW_OFFSET = 14;
export const TCP_CHECKSUM_OFFSET = 16;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** toAddr converts a dotted quad (parsed strictly) or a uint32 to a uint32. */
export function toAddr(a: AddrLike): number {
  return typeof a === 'number' ? a >>> 0 : parseIpv4(a);
}

/** toMac converts a MAC string (parsed strictly) or bytes to a Uint8Array(6). */
export function toMac(m: MacLike): Uint8Array {
  return typeof m === 'string' ? parseMac(m) : m;
}

export interface Ipv4BuildOptions {
  src: AddrLike;
  dst: AddrLike;
  ttl?: number;
  id?: number;
  df?: boolean;
  tos?: number;
  options?: Uint8Array;
}

/** buildIpv4 returns an IPv4 packet carrying `payload` as protocol `proto` (TTL 64, ID 0, DF clear unless given). */
export function buildIpv4(o: Ipv4BuildOptions & { proto: number; payload: Uint8Array; mf?: boolean; fragmentOffset?: number }): Buffer {
  const hlen = IPV4_MIN_HEADER_LEN + (o.options?.length ?? 0);
  const buf = Buffer.alloc(hlen + o.payload.length);
  buf.set(o.payload, hlen);
  writeIpv4Header(buf, 0, {
    tos: o.tos ?? 0, totalLength: buf.length, id: o.id ?? 0, df: o.df ?? false, mf: o.mf ?? false,
    fragmentOffset: o.fragmentOffset ?? 0, ttl: o.ttl ?? 64, protocol: o.proto,
    src: toAddr(o.src), dst: toAddr(o.dst), ...(o.options ? { options: o.options } : {}),
  });
  return buf;
}

/** buildUdpIpv4 returns IPv4 + UDP sport → dport + payload, with a correct UDP checksum unless checksum is false (then 0). */
export function buildUdpIpv4(o: Ipv4BuildOptions & { sport: number; dport: number; payload: Uint8Array; checksum?: boolean }): Buffer {
  const udp = Buffer.alloc(UDP_HEADER_LEN + o.payload.length);
  writeUdpHeader(udp, 0, { srcPort: o.sport, dstPort: o.dport, length: udp.length });
  udp.set(o.payload, UDP_HEADER_LEN);
  if (o.checksum ?? true) fillUdpChecksumIPv4(udp, 0, toAddr(o.src), toAddr(o.dst));
  return buildIpv4({ ...o, proto: IPPROTO_UDP, payload: udp });
}

/** The 56-byte payload `ping` sends by default would be a timestamp and a pattern; ours is bytes 0..55. */
function defaultEchoPayload(): Buffer {
  return Buffer.from(Array.from({ length: 56 }, (_, i) => i));
}

/**
 * buildIcmpEcho returns an IPv4 ICMP echo request (or reply) with ICMP id, seq and
 * payload (default 56 bytes 0..55). The IPv4 ID is `ipId` (default 0).
 */
export function buildIcmpEcho(o: Omit<Ipv4BuildOptions, 'id'> & { id: number; seq: number; payload?: Uint8Array; reply?: boolean; ipId?: number }): Buffer {
  const data = o.payload ?? defaultEchoPayload();
  const icmp = Buffer.alloc(8 + data.length);
  icmp.set(data, 8);
  writeIcmpHeader(icmp, 0, { type: o.reply ? ICMP_ECHO_REPLY : ICMP_ECHO_REQUEST, code: 0, id: o.id, seq: o.seq }, icmp.length);
  const { id: _echoId, ipId, ...ip } = o;
  return buildIpv4({ ...ip, id: ipId ?? 0, proto: IPPROTO_ICMP, payload: icmp });
}

/** buildTcpIpv4 returns IPv4 (DF set unless given) + a 20-byte TCP header + payload, with a correct TCP checksum. */
export function buildTcpIpv4(o: Ipv4BuildOptions & {
  sport: number; dport: number; seq: number; ack: number; flags: number; window?: number; payload?: Uint8Array;
}): Buffer {
  const data = o.payload ?? Buffer.alloc(0);
  const tcp = Buffer.alloc(TCP_HEADER_LEN + data.length);
  writeU16(tcp, 0, o.sport);
  writeU16(tcp, 2, o.dport);
  writeU32(tcp, TCP_SEQ_OFFSET, o.seq);
  writeU32(tcp, TCP_ACK_OFFSET, o.ack);
  tcp[TCP_DATA_OFFSET_OFFSET] = (TCP_HEADER_LEN / 4) << 4;
  tcp[TCP_FLAGS_OFFSET] = o.flags & 0xff;
  writeU16(tcp, TCP_WINDOW_OFFSET, o.window ?? 65535);
  tcp.set(data, TCP_HEADER_LEN);
  writeU16(tcp, TCP_CHECKSUM_OFFSET, l4ChecksumIPv4(tcp, 0, tcp.length, toAddr(o.src), toAddr(o.dst), IPPROTO_TCP));
  return buildIpv4({ ...o, df: o.df ?? true, proto: IPPROTO_TCP, payload: tcp });
}

/** buildEthernetFrame returns a 14-byte Ethernet header (type default 0x0800) + payload; no padding, no FCS. */
export function buildEthernetFrame(o: { dst: MacLike; src: MacLike; type?: number; payload: Uint8Array }): Buffer {
  const buf = Buffer.alloc(ETH_HEADER_LEN + o.payload.length);
  writeEthernet(buf, 0, { dst: toMac(o.dst), src: toMac(o.src), type: o.type ?? ETHERTYPE_IPV4 });
  buf.set(o.payload, ETH_HEADER_LEN);
  return buf;
}

/** buildVxlanFrame returns VXLAN header (VNI) + inner Ethernet (dst, src, type 0x0800) + inner: a VXLAN UDP payload. */
export function buildVxlanFrame(o: { vni: number; innerDstMac: MacLike; innerSrcMac: MacLike; inner: Uint8Array; innerType?: number }): Buffer {
  const eth = buildEthernetFrame({ dst: o.innerDstMac, src: o.innerSrcMac, type: o.innerType ?? ETHERTYPE_IPV4, payload: o.inner });
  const buf = Buffer.alloc(VXLAN_HEADER_LEN + eth.length);
  writeVxlan(buf, 0, o.vni);
  buf.set(eth, VXLAN_HEADER_LEN);
  return buf;
}

/**
 * buildOuterUdp returns a full outer IPv4 + UDP packet as a kernel VTEP sends it:
 * DF clear, TTL 64, TOS 0, ID 0 unless given, and a correct UDP checksum unless
 * checksum is false (then 0).
 */
export function buildOuterUdp(o: {
  srcIp: AddrLike; dstIp: AddrLike; sport: number; dport: number; payload: Uint8Array;
  checksum?: boolean; ttl?: number; id?: number; tos?: number; df?: boolean;
}): Buffer {
  const { srcIp, dstIp, ...rest } = o;
  return buildUdpIpv4({ ...rest, src: srcIp, dst: dstIp });
}
