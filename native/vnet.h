// SPDX-License-Identifier: Apache-2.0
// The virtio_net_hdr that prefixes every packet on a TUN opened with IFF_VNET_HDR, the
// TUNSETOFFLOAD flags, and the split (read side) and checksum helpers built on them.
//
// Byte order: the header's 16-bit fields are in host order (a TUN uses the legacy virtio
// layout unless TUNSETVNETLE/BE is set, which we never do); packet fields are network order.
#ifndef VXTUN_VNET_H_
#define VXTUN_VNET_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vxtun {

constexpr size_t kVnetHdrLen = 10;     // sizeof(struct virtio_net_hdr)
constexpr size_t kMaxIpPacket = 65535;  // the most one read() of a TUN returns after the header

// virtio_net_hdr.flags / gso_type (include/uapi/linux/virtio_net.h).
constexpr uint8_t kVnetNeedsCsum = 1;
constexpr uint8_t kGsoNone = 0, kGsoTcpV4 = 1, kGsoUdp = 3, kGsoTcpV6 = 4, kGsoUdpL4 = 5, kGsoEcn = 0x80;

// TUNSETOFFLOAD flags (include/uapi/linux/if_tun.h); USO needs Linux 6.2.
constexpr unsigned kTunFCsum = 0x01, kTunFTso4 = 0x02, kTunFTso6 = 0x04, kTunFUso4 = 0x20, kTunFUso6 = 0x40;

constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08, kTcpAck = 0x10, kTcpCwr = 0x80;

struct VnetHdr {
  uint8_t flags = 0;
  uint8_t gsoType = 0;
  uint16_t hdrLen = 0;
  uint16_t gsoSize = 0;
  uint16_t csumStart = 0;
  uint16_t csumOffset = 0;
};

inline VnetHdr ReadVnetHdr(const uint8_t* p) {
  VnetHdr h;
  h.flags = p[0];
  h.gsoType = p[1];
  std::memcpy(&h.hdrLen, p + 2, 2);
  std::memcpy(&h.gsoSize, p + 4, 2);
  std::memcpy(&h.csumStart, p + 6, 2);
  std::memcpy(&h.csumOffset, p + 8, 2);
  return h;
}

inline void WriteVnetHdr(uint8_t* p, const VnetHdr& h) {
  p[0] = h.flags;
  p[1] = h.gsoType;
  std::memcpy(p + 2, &h.hdrLen, 2);
  std::memcpy(p + 4, &h.gsoSize, 2);
  std::memcpy(p + 6, &h.csumStart, 2);
  std::memcpy(p + 8, &h.csumOffset, 2);
}

// A validated GSO super-packet and how to cut it into segments.
struct GsoPlan {
  uint32_t len = 0;      // packet bytes (IP header on)
  uint16_t ipLen = 0;    // network header bytes (= csum_start)
  uint16_t hdrLen = 0;   // network + transport header bytes, recomputed (never the kernel's hint)
  uint16_t gsoSize = 0;  // payload bytes per segment (the last may be shorter)
  uint8_t proto = 0;     // 6 (TCP) or 17 (UDP)
  bool v6 = false;
  uint32_t count = 0;    // segments
  // Folded sums of what every segment shares, taken once per plan so that a segment's
  // checksums need no second pass over the bytes WriteSegment has just stored (reading
  // them back right after the copy was ~2 % of a sending daemon's profile): the IPv4
  // header without its total length, ID and checksum; the L4 header without its checksum
  // and the fields cut per segment (TCP sequence number and offset/flags word, UDP
  // length); the pseudo-header without its length.
  uint16_t ipBaseSum = 0;
  uint16_t l4BaseSum = 0;
  uint16_t pseudoBaseSum = 0;
};

// Validates a GSO packet (gso_type != NONE) against its bytes. Accepts TCPV4, TCPV6 and,
// when `uso`, UDP_L4, each only over the matching IP version and protocol, with
// NEEDS_CSUM, csum_start = the IP header length, csum_offset = 16 (TCP) or 6 (UDP), a
// sane TCP data offset, gso_size > 0, at least one payload byte, and segments of at most
// maxSegment bytes. Returns false for anything else (the caller drops it as 'bad-gso');
// on success fills *plan. Reads only pkt[0, len).
bool PlanGso(const VnetHdr& h, const uint8_t* pkt, size_t len, size_t maxSegment, bool uso, GsoPlan* plan);

// Writes segment i (< plan.count) of the planned packet to out (room for hdrLen + gsoSize
// bytes, not overlapping pkt) and returns its length. IPv4: ID + i, total length, header
// checksum; IPv6: payload length; TCP: seq + i * gsoSize, FIN/PSH only on the last
// segment, CWR only on the first; UDP: length; the full L4 checksum of the segment.
uint32_t WriteSegment(const GsoPlan& plan, const uint8_t* pkt, uint32_t i, uint8_t* out);

// An IPv4 TCP packet longer than the TUN's MTU that a real NIC would have cut: a peer's TSO
// frame that crossed a veth underlay whole. Qualifies when it has no IP options, its total
// length is len, it is not a fragment, it is neither SYN nor RST, its data offset is sane,
// and its checksum field holds the pseudo-header sum (a TSO frame's payload was never
// summed, so there is nothing to verify: like a kernel VTEP, we trust it). Fills *plan
// with MTU-sized segments (gso_size = mtu - IP - TCP header) and returns true; false for
// anything else (written as it is). Both TUN write paths use it: with virtio headers the
// kernel cuts (GSO_TCPV4), without them WriteSegment does.
bool PlanOversizeTcp(const uint8_t* pkt, uint32_t len, uint32_t mtu, GsoPlan* plan);

// GSO_NONE with NEEDS_CSUM: the L4 checksum field holds the pseudo-header sum; completes
// it over pkt[csum_start, len). False (nothing written) when the field lies outside the packet.
bool FinishChecksum(const VnetHdr& h, uint8_t* pkt, size_t len);

}  // namespace vxtun

#endif  // VXTUN_VNET_H_
