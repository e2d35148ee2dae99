// SPDX-License-Identifier: Apache-2.0
// Write side of the TUN offloads: planning which TCP segments (and, with USO, which UDP
// datagrams) of a batch coalesce into one GSO super-packet (the rules of wireguard-go's
// tcpGRO/udpGRO and the kernel's GRO selftest, made strict enough that the kernel's
// segmentation reproduces every packet byte for byte), and the headers of the super-packet
// a run becomes.
#ifndef VXTUN_GRO_H_
#define VXTUN_GRO_H_

#include <cstdint>
#include <vector>

#include "vnet.h"

namespace vxtun {

// A run of packets of one TCP or UDP flow, written as one super-packet when segments > 1.
struct GroItem {
  uint32_t src, dst, ports;  // flow key: IPv4 addresses, L4 ports and (below) the protocol
  uint8_t proto;             // 6 (TCP, GSO_TCPV4) or 17 (UDP, GSO_UDP_L4)
  uint32_t head;             // first packet (index into the planned list)
  uint32_t tail;             // last packet appended
  uint32_t segments;         // packets in the run
  uint32_t total;            // IPv4 total length of the merged packet
  uint32_t nextSeq;          // TCP: sequence number the next segment must carry
  uint16_t nextId;           // IPv4 ID the next packet must carry (the kernel's GSO increments it)
  uint16_t gsoSize;          // the head's payload: every segment but the last carries exactly this
  uint16_t l4Hdr;            // TCP header length (equal in every segment) or 8 (UDP)
  bool open;                 // more segments may follow (no PSH, no short segment yet)
  bool headVerified;         // the head's checksum has been verified
};

// Contract: Build() looks at packets[0, count) in arrival order. A packet joins the open
// run of its flow (same protocol, addresses and ports) only if it is IPv4 with IHL 5, not
// a fragment, total length = its length, a payload; its IPv4 ID is the run's previous + 1
// (what the kernel's segmentation writes back), its ToS, TTL and DF match the run's; its
// payload is at most the head's; the merged packet stays within 65535 bytes and
// kMaxSegments segments; and both its checksum and the head's verify. TCP: flags exactly
// ACK or ACK|PSH, the run's ACK number, TCP header length and options, the run's next
// sequence number (only when Build() is told `tcp`). UDP (only when told `udp`): UDP length = IP payload length
// and a checksum that is not zero (a zero one would come out computed). A PSH or short
// segment ends its run. Any other packet of the flow ends the run too, so the order of a
// flow's packets is never changed: a run is written where its head was. Packets are only
// read, never modified. A packet longer than `maxLen` (when it is not 0) is no candidate:
// it is bigger than the segments the kernel may be asked to cut.
class GroPlanner {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;
  static constexpr uint32_t kMaxSegments = 64;

  void Build(const uint8_t* const* packets, const uint32_t* lens, uint32_t count, bool tcp, bool udp, uint32_t maxLen = 0);

  // The run packet k heads or belongs to, or kNone (not a candidate).
  uint32_t ItemOf(uint32_t k) const { return itemOf_[k]; }
  // The next packet of k's run, or kNone.
  uint32_t Next(uint32_t k) const { return next_[k]; }
  const GroItem& Item(uint32_t i) const { return items_[i]; }

 private:
  enum class Append { kDone, kNoMatch, kBadPacket };
  Append TryAppend(GroItem& item, uint32_t itemIndex, uint32_t k);
  uint32_t* Slot(uint32_t src, uint32_t dst, uint32_t ports, uint8_t proto);  // the flow's table slot (empty or its)

  const uint8_t* const* packets_ = nullptr;
  const uint32_t* lens_ = nullptr;
  std::vector<GroItem> items_;
  std::vector<uint32_t> itemOf_, next_;
  std::vector<uint32_t> table_;  // open addressing: item index + 1, valid while stamp_ == generation_
  std::vector<uint32_t> stamp_;
  uint32_t generation_ = 0;
  uint32_t mask_ = 0;
};

// Writes the head of run `it` (segments > 1) as a super-packet starts: the virtio_net_hdr
// (NEEDS_CSUM, GSO_TCPV4 or GSO_UDP_L4, gso_size = the head's payload), then the head's
// IPv4 and TCP/UDP headers with the merged total length, a fresh IPv4 header checksum, the
// tail's PSH (TCP) or the merged UDP length, and the pseudo-header sum in the L4 checksum
// field (CHECKSUM_PARTIAL: the kernel finishes it per segment). `head` and `tail` are the
// run's first and last packets; out has room for kMergedHeaderRoom bytes. The payloads of
// the run's packets, in order, follow these bytes to form the super-packet. Returns the
// number of bytes written (virtio header + IPv4 + L4 header).
constexpr uint32_t kMergedHeaderRoom = kVnetHdrLen + 20 + 60;  // IHL 5 only (GroPlanner), TCP options up to 40
uint32_t WriteMergedHeaders(const GroItem& it, const uint8_t* head, const uint8_t* tail, uint8_t* out);

// True when the TCP (proto 6) or UDP (17) checksum of an IPv4 packet (IHL 5) verifies.
bool L4ChecksumValid(const uint8_t* p, uint32_t len, uint8_t proto);

}  // namespace vxtun

#endif  // VXTUN_GRO_H_
