// SPDX-License-Identifier: Apache-2.0
/**
 * Header codecs on one packet, as the TS hot path uses them:
 *
 *   encap:  | outer IPv4 | UDP | VXLAN | inner Ethernet | inner packet (84 B echo) |
 *           ^ off-50      ^-30  ^-22    ^ off-14          ^ off (= headroom 64)
 *   decap:  checkVxlan + checkInnerEthernet + checkIpv4 on a received UDP payload.
 *
 * Per-peer values (MACs, the fields objects) are built once, as a Device would cache
 * them per VTEP, so the measured functions allocate nothing.
 */
import type { MicroCase } from '../micro.js';
import { buildIcmpEcho, buildVxlanFrame } from '../../src/packet/build.js';
import { checkInnerEthernet, ETH_HEADER_LEN, ETHERTYPE_IPV4, parseMac, writeEthernet, type EthernetFields } from '../../src/packet/ethernet.js';
import { checkIpv4, IPPROTO_UDP, parseIpv4, writeIpv4Header, type Ipv4HeaderFields } from '../../src/packet/ipv4.js';
import { writeUdpHeader, type UdpFields } from '../../src/packet/udp.js';
import { checkVxlan, VXLAN_HEADER_LEN, VXLAN_PORT_DEFAULT, writeVxlan } from '../../src/packet/vxlan.js';

/** Results land here so the optimiser cannot drop the calls. */
export let sink = 0;

const HEADROOM = 64;
const VNI = 1;
const OUR_MAC = parseMac('02:f1:00:00:00:01');
const PEER_MAC = parseMac('02:f1:00:00:00:02');
const inner = buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 1, seq: 1 });

// Encapsulation slot: headroom then the inner packet, as PacketBatch lays it out.
const slot = Buffer.alloc(HEADROOM + inner.length);
inner.copy(slot, HEADROOM);
const ethFields: EthernetFields = { dst: PEER_MAC, src: OUR_MAC, type: ETHERTYPE_IPV4 };
const udpLength = 8 + VXLAN_HEADER_LEN + ETH_HEADER_LEN + inner.length;
const udpFields: UdpFields = { srcPort: 54752, dstPort: VXLAN_PORT_DEFAULT, length: udpLength, checksum: 0 };
const ipFields: Ipv4HeaderFields = {
  totalLength: 20 + udpLength, id: 0, ttl: 64, protocol: IPPROTO_UDP, src: parseIpv4('192.168.50.1'), dst: parseIpv4('192.168.50.2'),
};

// Decapsulation: a received VXLAN UDP payload addressed to PEER_MAC's VTEP.
const rx = buildVxlanFrame({ vni: VNI, innerDstMac: PEER_MAC, innerSrcMac: OUR_MAC, inner });
const INNER_OFF = VXLAN_HEADER_LEN + ETH_HEADER_LEN;

export const cases: MicroCase[] = [
  {
    name: 'codec/encap: inner eth + vxlan write',
    fn: () => {
      const eth = HEADROOM - ETH_HEADER_LEN;
      writeEthernet(slot, eth, ethFields);
      sink ^= writeVxlan(slot, eth - VXLAN_HEADER_LEN, VNI);
    },
  },
  {
    name: 'codec/encap: + outer ipv4/udp write (TS fallback)',
    fn: () => {
      const eth = HEADROOM - ETH_HEADER_LEN;
      writeEthernet(slot, eth, ethFields);
      const vx = eth - VXLAN_HEADER_LEN;
      writeVxlan(slot, vx, VNI);
      writeUdpHeader(slot, vx - 8, udpFields);
      ipFields.id = (ipFields.id! + 1) & 0xffff;
      sink ^= writeIpv4Header(slot, vx - 28, ipFields);
    },
  },
  {
    name: 'codec/decap: checkVxlan + checkInnerEthernet + checkIpv4',
    setup: () => {
      const code = checkVxlan(rx, 0, rx.length, VNI) | checkInnerEthernet(rx, VXLAN_HEADER_LEN, rx.length - VXLAN_HEADER_LEN, PEER_MAC) |
        checkIpv4(rx, INNER_OFF, rx.length - INNER_OFF);
      if (code !== 0) throw new Error(`decap bench input is not acceptable (code ${code})`);
    },
    fn: () => {
      sink ^= checkVxlan(rx, 0, rx.length, VNI) |
        checkInnerEthernet(rx, VXLAN_HEADER_LEN, rx.length - VXLAN_HEADER_LEN, PEER_MAC) |
        checkIpv4(rx, INNER_OFF, rx.length - INNER_OFF);
    },
  },
];
