// SPDX-License-Identifier: Apache-2.0
// GroPlanner: which TCP segments and UDP datagrams of a batch coalesce (contract in gro.h).
#include "gro.h"

#include <algorithm>
#include <cstring>

#include "bytes.h"
#include "checksum.h"
#include "vnet.h"

namespace vxtun {
namespace {

constexpr uint8_t kTcp = 6, kUdp = 17;

// The flow key of an IPv4 TCP or UDP packet that is not a non-first fragment; false otherwise.
bool FlowKey(const uint8_t* p, uint32_t len, uint32_t* src, uint32_t* dst, uint32_t* ports, uint8_t* proto) {
  if (len < 20 || (p[0] >> 4) != 4 || (p[9] != kTcp && p[9] != kUdp)) return false;
  uint32_t ihl = (p[0] & 0x0fu) * 4u;
  if (ihl < 20 || len < ihl + 4 || (Get16(p + 6) & 0x1fff) != 0) return false;
  *src = Get32(p + 12);
  *dst = Get32(p + 16);
  *ports = Get32(p + ihl);
  *proto = p[9];
  return true;
}

// IHL 5, not a fragment, total length equal to the length, a payload; TCP: ACK or
// ACK|PSH; UDP (when allowed): its length field matches and its checksum is not zero.
bool Candidate(const uint8_t* p, uint32_t len, bool udp) {
  if (len < 29 || p[0] != 0x45 || Get16(p + 2) != len || (Get16(p + 6) & 0x3fff) != 0) return false;
  if (p[9] == kUdp) return udp && Get16(p + 24) == len - 20 && Get16(p + 26) != 0;
  if (len < 41) return false;
  uint32_t doff = (p[32] >> 4) * 4u;
  if (doff < 20 || 20 + doff >= len) return false;
  return p[33] == kTcpAck || p[33] == (kTcpAck | kTcpPsh);
}

inline uint32_t Hash(uint32_t src, uint32_t dst, uint32_t ports, uint8_t proto) {
  uint64_t h = (static_cast<uint64_t>(src) << 32 | dst) * 0x9e3779b97f4a7c15ULL;
  h ^= (static_cast<uint64_t>(ports) << 8 | proto) * 0xc2b2ae3d27d4eb4fULL;
  return static_cast<uint32_t>(h >> 32);
}

}  // namespace

bool L4ChecksumValid(const uint8_t* p, uint32_t len, uint8_t proto) {
  uint32_t l4 = len - 20;
  return OnesAdd(OnesSum16(p + 20, l4), PseudoSum(Get32(p + 12), Get32(p + 16), proto, l4)) == 0xffff;
}

uint32_t* GroPlanner::Slot(uint32_t src, uint32_t dst, uint32_t ports, uint8_t proto) {
  uint32_t i = Hash(src, dst, ports, proto) & mask_;
  for (;; i = (i + 1) & mask_) {
    if (stamp_[i] != generation_) {
      stamp_[i] = generation_;
      table_[i] = 0;
      return &table_[i];
    }
    if (table_[i] == 0) return &table_[i];
    const GroItem& it = items_[table_[i] - 1];
    if (it.src == src && it.dst == dst && it.ports == ports && it.proto == proto) return &table_[i];
  }
}

GroPlanner::Append GroPlanner::TryAppend(GroItem& item, uint32_t itemIndex, uint32_t k) {
  const uint8_t* p = packets_[k];
  const uint8_t* h = packets_[item.head];
  const uint32_t len = lens_[k];
  if (!item.open || item.segments >= kMaxSegments) return Append::kNoMatch;
  if (p[1] != h[1] || p[8] != h[8] || (p[6] >> 5) != (h[6] >> 5) || Get16(p + 4) != item.nextId)
    return Append::kNoMatch;
  uint32_t payload;
  if (item.proto == kTcp) {
    const uint32_t doff = (p[32] >> 4) * 4u;
    if (doff != item.l4Hdr || std::memcmp(p + 40, h + 40, doff - 20) != 0) return Append::kNoMatch;
    if (Get32(p + 28) != Get32(h + 28) || Get32(p + 24) != item.nextSeq) return Append::kNoMatch;
    payload = len - 20 - doff;
  } else {
    payload = len - 28;
  }
  if (payload > item.gsoSize || item.total + payload > kMaxIpPacket) return Append::kNoMatch;
  if (!item.headVerified) {
    if (!L4ChecksumValid(h, lens_[item.head], item.proto)) {
      item.open = false;  // the head goes up alone; the kernel will judge it
      return Append::kNoMatch;
    }
    item.headVerified = true;
  }
  if (!L4ChecksumValid(p, len, item.proto)) return Append::kBadPacket;
  next_[item.tail] = k;
  item.tail = k;
  item.segments++;
  item.total += payload;
  item.nextSeq += payload;
  item.nextId++;
  itemOf_[k] = itemIndex;
  if ((item.proto == kTcp && (p[33] & kTcpPsh)) || payload < item.gsoSize) item.open = false;
  return Append::kDone;
}

void GroPlanner::Build(const uint8_t* const* packets, const uint32_t* lens, uint32_t count, bool tcp, bool udp, uint32_t maxLen) {
  packets_ = packets;
  lens_ = lens;
  if (itemOf_.size() < count) {
    itemOf_.resize(count);
    next_.resize(count);
    items_.reserve(count);
  }
  uint32_t size = 64;
  while (size < 2 * count) size *= 2;
  if (table_.size() < size) {
    table_.assign(size, 0);
    stamp_.assign(size, 0);
  }
  mask_ = size - 1;
  if (++generation_ == 0) {  // wrapped: forget every stamp
    std::fill(stamp_.begin(), stamp_.end(), 0);
    generation_ = 1;
  }
  items_.clear();
  for (uint32_t k = 0; k < count; k++) {
    itemOf_[k] = kNone;
    next_[k] = kNone;
    uint32_t src, dst, ports;
    uint8_t proto;
    const uint8_t* p = packets[k];
    if (!FlowKey(p, lens[k], &src, &dst, &ports, &proto) || (proto == kUdp && !udp) || (proto == kTcp && !tcp)) continue;
    uint32_t* slot = Slot(src, dst, ports, proto);
    const bool candidate = (maxLen == 0 || lens[k] <= maxLen) && Candidate(p, lens[k], udp);
    if (*slot != 0) {
      GroItem& open = items_[*slot - 1];
      if (candidate) {
        Append r = TryAppend(open, *slot - 1, k);
        if (r == Append::kDone) continue;
        open.open = false;
        if (r == Append::kBadPacket) continue;  // goes up alone; the kernel drops it
      } else {
        open.open = false;  // SYN, FIN, RST, pure ACK, options, a fragment...: the run ends here
        continue;
      }
    }
    if (!candidate) continue;
    const uint32_t l4Hdr = proto == kTcp ? (p[32] >> 4) * 4u : 8u;
    const uint32_t payload = lens[k] - 20 - l4Hdr;
    GroItem item{};
    item.src = src;
    item.dst = dst;
    item.ports = ports;
    item.proto = proto;
    item.head = item.tail = k;
    item.segments = 1;
    item.total = lens[k];
    item.nextSeq = proto == kTcp ? Get32(p + 24) + payload : 0;
    item.nextId = static_cast<uint16_t>(Get16(p + 4) + 1);
    item.gsoSize = static_cast<uint16_t>(payload);
    item.l4Hdr = static_cast<uint16_t>(l4Hdr);
    item.open = !(proto == kTcp && (p[33] & kTcpPsh));
    item.headVerified = false;
    items_.push_back(item);
    itemOf_[k] = static_cast<uint32_t>(items_.size() - 1);
    *slot = static_cast<uint32_t>(items_.size());
  }
}

uint32_t WriteMergedHeaders(const GroItem& it, const uint8_t* head, const uint8_t* tail, uint8_t* out) {
  const bool tcp = it.proto == kTcp;
  const uint32_t hl = 20u + it.l4Hdr;
  VnetHdr v;
  v.flags = kVnetNeedsCsum;
  v.gsoType = tcp ? kGsoTcpV4 : kGsoUdpL4;
  v.hdrLen = static_cast<uint16_t>(hl);
  v.gsoSize = it.gsoSize;
  v.csumStart = 20;
  v.csumOffset = tcp ? 16 : 6;
  WriteVnetHdr(out, v);
  uint8_t* ip = out + kVnetHdrLen;
  std::memcpy(ip, head, hl);
  Set16(ip + 2, it.total);
  Set16(ip + 10, 0);
  Set16(ip + 10, static_cast<uint16_t>(~OnesSum16(ip, 20)));
  if (tcp) {
    ip[33] |= tail[33] & kTcpPsh;
    Set16(ip + 36, PseudoSum(it.src, it.dst, kTcp, it.total - 20));
  } else {
    Set16(ip + 24, it.total - 20);
    Set16(ip + 26, PseudoSum(it.src, it.dst, kUdp, it.total - 20));
  }
  return static_cast<uint32_t>(kVnetHdrLen + hl);
}

}  // namespace vxtun
