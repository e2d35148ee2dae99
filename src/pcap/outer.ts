// SPDX-License-Identifier: Apache-2.0
/**
 * Framing helpers for captures of outer (underlay) traffic.
 *
 * vxtun sees outer packets as IPv4 datagrams (raw socket on send, UDP payloads on
 * receive) and never their Ethernet header. Wireshark decodes either kind in a
 * LINKTYPE_RAW file, but a capture that mixes with real NIC captures, or that must
 * look like a `tcpdump -i eth0`, wants LINKTYPE_ETHERNET. outerEthernetFrame adds a
 * synthetic Ethernet header in front of the IP packet:
 *
 *   | dst MAC (6) | src MAC (6) | 08 00 / 86 dd | outer IPv4 | UDP | VXLAN | inner Ethernet | ...
 *   0             6             12              14
 *
 * The MACs are the underlay's, not the VTEPs' (those are in the inner frame); when
 * unknown, the defaults below are locally administered placeholders.
 */
import { ETH_HEADER_LEN, ETH_TYPE_OFFSET, ETHERTYPE_IPV4, ETHERTYPE_IPV6, writeEthernet } from '../packet/ethernet.js';
import { toMac, type MacLike } from '../packet/build.js';

/** Placeholder underlay MACs used when outerEthernetFrame is given none. */
export const OUTER_DEFAULT_SRC_MAC = '02:00:00:00:00:01';
export const OUTER_DEFAULT_DST_MAC = '02:00:00:00:00:02';

export interface OuterMacs {
  srcMac?: MacLike;
  dstMac?: MacLike;
}

/**
 * outerEthernetFrame returns a new Buffer: a 14-byte Ethernet header (dstMac, srcMac,
 * ethertype 0x0800, or 0x86dd when the packet's version nibble is 6) followed by a
 * copy of `ipPacket`. For writing a full outer IPv4/UDP/VXLAN packet to a
 * LINKTYPE_ETHERNET pcap. Throws (from parseMac) on a malformed MAC string.
 */
export function outerEthernetFrame(ipPacket: Uint8Array, macs: OuterMacs = {}): Buffer {
  const frame = Buffer.alloc(ETH_HEADER_LEN + ipPacket.length);
  const type = ipPacket.length > 0 && ipPacket[0]! >>> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
  writeEthernet(frame, 0, {
    dst: toMac(macs.dstMac ?? OUTER_DEFAULT_DST_MAC),
    src: toMac(macs.srcMac ?? OUTER_DEFAULT_SRC_MAC),
    type,
  });
  frame.set(ipPacket, ETH_HEADER_LEN);
  return frame;
}

/**
 * stripOuterEthernet is the inverse for reading captures back: the IP packet inside
 * an Ethernet frame as a view (no copy), or undefined when the frame is shorter than
 * the header or does not carry IPv4/IPv6.
 */
export function stripOuterEthernet(frame: Buffer): Buffer | undefined {
  if (frame.length < ETH_HEADER_LEN) return undefined;
  const type = frame.readUInt16BE(ETH_TYPE_OFFSET);
  if (type !== ETHERTYPE_IPV4 && type !== ETHERTYPE_IPV6) return undefined;
  return frame.subarray(ETH_HEADER_LEN);
}
