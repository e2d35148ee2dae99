// SPDX-License-Identifier: Apache-2.0
// GroPlanner: which TCP segments of a batch coalesce (contract in gro.h).
#include "gro.h"

#include <algorithm>
#include <cstring>

#include "bytes.h"
#include "checksum.h"
#include "vnet.h"

namespace vxtun {
namespace {

// The flow key of an IPv4 TCP packet that is not a non-first fragment; false otherwise.
bool TcpKey(const uint8_t* p, uint32_t len, uint32_t* src, uint32_t* dst, uint32_t* ports) {
  if (len < 20 || (p[0] >> 4) != 4 || p[9] != 6) return false;
  uint32_t ihl = (p[0] & 0x0fu) * 4u;
  if (ihl < 20 || len < ihl + 4 || (Get16(p + 6) & 0x1fff) != 0) return false;
  *src = Get32(p + 12);
  *dst = Get32(p + 16);
  *ports = Get32(p + ihl);
  return true;
}

// IHL 5, not a fragment, ACK or ACK|PSH, a payload, total length equal to the length.
bool Candidate(const uint8_t* p, uint32_t len) {
  if (len < 40 || p[0] != 0x45 || Get16(p + 2) != len || (Get16(p + 6) & 0x3fff) != 0) return false;
  uint32_t doff = (p[32] >> 4) * 4u;
  if (doff < 20 || 20 + doff >= len) return false;
  return p[33] == kTcpAck || p[33] == (kTcpAck | kTcpPsh);
}

inline uint32_t Hash(uint32_t src, uint32_t dst, uint32_t ports) {
  uint64_t h = (static_cast<uint64_t>(src) << 32 | dst) * 0x9e3779b97f4a7c15ULL;
  h ^= static_cast<uint64_t>(ports) * 0xc2b2ae3d27d4eb4fULL;
  return static_cast<uint32_t>(h >> 32);
}

}  // namespace

bool TcpChecksumValid(const uint8_t* p, uint32_t len) {
  uint32_t l4 = len - 20;
  return OnesAdd(OnesSum16(p + 20, l4), PseudoSum(Get32(p + 12), Get32(p + 16), 6, l4)) == 0xffff;
}

uint32_t* GroPlanner::Slot(uint32_t src, uint32_t dst, uint32_t ports) {
  uint32_t i = Hash(src, dst, ports) & mask_;
  for (;; i = (i + 1) & mask_) {
    if (stamp_[i] != generation_) {
      stamp_[i] = generation_;
      table_[i] = 0;
      return &table_[i];
    }
    if (table_[i] == 0) return &table_[i];
    const GroItem& it = items_[table_[i] - 1];
    if (it.src == src && it.dst == dst && it.ports == ports) return &table_[i];
  }
}

GroPlanner::Append GroPlanner::TryAppend(GroItem& item, uint32_t itemIndex, uint32_t k) {
  const uint8_t* p = packets_[k];
  const uint8_t* h = packets_[item.head];
  const uint32_t len = lens_[k];
  if (!item.open || item.segments >= kMaxSegments) return Append::kNoMatch;
  const uint32_t doff = (p[32] >> 4) * 4u;
  if (doff != item.tcpHdr || std::memcmp(p + 40, h + 40, doff - 20) != 0) return Append::kNoMatch;
  if (p[1] != h[1] || p[8] != h[8] || (p[6] >> 5) != (h[6] >> 5) || Get32(p + 28) != Get32(h + 28))
    return Append::kNoMatch;
  const uint32_t payload = len - 20 - doff;
  if (Get32(p + 24) != item.nextSeq || payload > item.gsoSize || item.total + payload > kMaxIpPacket)
    return Append::kNoMatch;
  if (!item.headVerified) {
    if (!TcpChecksumValid(h, lens_[item.head])) {
      item.open = false;  // the head goes up alone; the kernel will judge it
      return Append::kNoMatch;
    }
    item.headVerified = true;
  }
  if (!TcpChecksumValid(p, len)) return Append::kBadPacket;
  next_[item.tail] = k;
  item.tail = k;
  item.segments++;
  item.total += payload;
  item.nextSeq += payload;
  itemOf_[k] = itemIndex;
  if ((p[33] & kTcpPsh) || payload < item.gsoSize) item.open = false;
  return Append::kDone;
}

void GroPlanner::Build(const uint8_t* const* packets, const uint32_t* lens, uint32_t count) {
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
    const uint8_t* p = packets[k];
    if (!TcpKey(p, lens[k], &src, &dst, &ports)) continue;
    uint32_t* slot = Slot(src, dst, ports);
    const bool candidate = Candidate(p, lens[k]);
    if (*slot != 0) {
      GroItem& open = items_[*slot - 1];
      if (candidate) {
        Append r = TryAppend(open, *slot - 1, k);
        if (r == Append::kDone) continue;
        open.open = false;
        if (r == Append::kBadPacket) continue;  // goes up alone; the kernel drops it
      } else {
        open.open = false;  // SYN, FIN, RST, pure ACK, options...: the run ends here
        continue;
      }
    }
    if (!candidate) continue;
    const uint32_t doff = (p[32] >> 4) * 4u;
    const uint32_t payload = lens[k] - 20 - doff;
    GroItem item{};
    item.src = src;
    item.dst = dst;
    item.ports = ports;
    item.head = item.tail = k;
    item.segments = 1;
    item.total = lens[k];
    item.nextSeq = Get32(p + 24) + payload;
    item.gsoSize = static_cast<uint16_t>(payload);
    item.tcpHdr = static_cast<uint16_t>(doff);
    item.open = !(p[33] & kTcpPsh);
    item.headVerified = false;
    items_.push_back(item);
    itemOf_[k] = static_cast<uint32_t>(items_.size() - 1);
    *slot = static_cast<uint32_t>(items_.size());
  }
}

}  // namespace vxtun
