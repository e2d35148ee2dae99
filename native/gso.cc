// SPDX-License-Identifier: Apache-2.0
// Read side of the TUN offloads: validating a GSO super-packet, cutting it into segments,
// and finishing the partial checksum of a GSO_NONE packet (contracts in vnet.h).
#include <algorithm>
#include <cstring>
#include <initializer_list>

#include "bytes.h"
#include "checksum.h"
#include "partial_csum.h"
#include "vnet.h"

namespace vxtun {

namespace {

// Folded sum of n (even, <= 60) header bytes with the 16-bit words at the given even
// offsets taken as zero.
uint16_t SumWithout(const uint8_t* p, size_t n, std::initializer_list<size_t> zeroed) {
  uint8_t copy[60];
  std::memcpy(copy, p, n);
  for (size_t at : zeroed) Set16(copy + at, 0);
  return OnesSum16(copy, n);
}

// Fills the plan's shared sums (GsoPlan) from the super-packet's headers.
void PlanSums(GsoPlan* plan, const uint8_t* pkt) {
  const uint8_t* l4 = pkt + plan->ipLen;
  if (!plan->v6) {
    plan->ipBaseSum = SumWithout(pkt, plan->ipLen, {2, 4, 10});
    plan->pseudoBaseSum = PseudoSum(Get32(pkt + 12), Get32(pkt + 16), plan->proto, 0);
  } else {
    plan->ipBaseSum = 0;  // IPv6 has no header checksum
    plan->pseudoBaseSum = OnesAdd(OnesSum16(pkt + 8, 32), plan->proto);
  }
  const size_t l4Hdr = plan->hdrLen - plan->ipLen;
  plan->l4BaseSum = plan->proto == 6 ? SumWithout(l4, l4Hdr, {4, 6, 12, 16}) : SumWithout(l4, l4Hdr, {4, 6});
}

}  // namespace

bool PlanGso(const VnetHdr& h, const uint8_t* pkt, size_t len, size_t maxSegment, bool uso, GsoPlan* plan) {
  if (len == 0 || len > kMaxIpPacket) return false;
  const uint8_t type = h.gsoType;  // the ECN bit (TSO_ECN, never enabled) makes it unknown
  if (type != kGsoTcpV4 && type != kGsoTcpV6 && !(uso && type == kGsoUdpL4)) return false;
  if (!(h.flags & kVnetNeedsCsum)) return false;
  const uint8_t proto = type == kGsoUdpL4 ? 17 : 6;
  const unsigned version = pkt[0] >> 4;
  size_t ipLen;
  bool v6;
  if (version == 4 && type != kGsoTcpV6) {
    if (len < 20) return false;
    ipLen = (pkt[0] & 0x0fu) * 4u;
    // Not a fragment (MF clear, offset 0): a fragment cannot be segmented.
    if (ipLen < 20 || pkt[9] != proto || (Get16(pkt + 6) & 0x3fff) != 0) return false;
    v6 = false;
  } else if (version == 6 && type != kGsoTcpV4) {
    if (len < 40 || pkt[6] != proto) return false;  // extension headers are not split
    ipLen = 40;
    v6 = true;
  } else {
    return false;  // the GSO type does not match the IP version
  }
  if (h.csumStart != ipLen || h.csumOffset != (proto == 6 ? 16 : 6)) return false;
  size_t l4Hdr = 8;
  if (proto == 6) {
    if (len < ipLen + 20) return false;
    l4Hdr = (pkt[ipLen + 12] >> 4) * 4u;
    if (l4Hdr < 20) return false;
  }
  // hdr_len is recomputed: the kernel's value is only a hint (it can cover a whole segment).
  const size_t hdrLen = ipLen + l4Hdr;
  if (hdrLen >= len) return false;  // no payload; also keeps the checksum field inside
  if (h.gsoSize == 0 || hdrLen + h.gsoSize > maxSegment || hdrLen + h.gsoSize > kMaxIpPacket) return false;
  plan->len = static_cast<uint32_t>(len);
  plan->ipLen = static_cast<uint16_t>(ipLen);
  plan->hdrLen = static_cast<uint16_t>(hdrLen);
  plan->gsoSize = h.gsoSize;
  plan->proto = proto;
  plan->v6 = v6;
  plan->count = static_cast<uint32_t>((len - hdrLen + h.gsoSize - 1) / h.gsoSize);
  PlanSums(plan, pkt);
  return true;
}

uint32_t WriteSegment(const GsoPlan& p, const uint8_t* pkt, uint32_t i, uint8_t* out) {
  const size_t start = p.hdrLen + static_cast<size_t>(i) * p.gsoSize;
  const size_t seg = std::min<size_t>(p.gsoSize, p.len - start);
  std::memcpy(out, pkt, p.hdrLen);
  std::memcpy(out + p.hdrLen, pkt + start, seg);
  const uint32_t total = static_cast<uint32_t>(p.hdrLen + seg);
  const uint32_t l4Len = total - p.ipLen;
  if (!p.v6) {
    const uint16_t id = static_cast<uint16_t>(Get16(pkt + 4) + i);  // wraps modulo 2^16
    Set16(out + 2, total);
    Set16(out + 4, id);
    Set16(out + 10, static_cast<uint16_t>(~OnesAdd(p.ipBaseSum, total + id)));
  } else {
    Set16(out + 4, l4Len);  // payload length (no extension headers)
  }
  // The L4 checksum from the shared sums, the fields set here and the payload summed where
  // it was copied from: nothing just stored is read back.
  const uint8_t* src = pkt + p.ipLen;
  uint8_t* l4 = out + p.ipLen;
  uint32_t cut;  // the header words that differ per segment
  size_t csumAt;
  if (p.proto == 6) {
    const uint32_t seq = Get32(src + 4) + i * static_cast<uint32_t>(p.gsoSize);
    uint8_t flags = src[13];
    if (i + 1 < p.count) flags &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
    if (i > 0) flags &= static_cast<uint8_t>(~kTcpCwr);
    Set32(l4 + 4, seq);
    l4[13] = flags;
    cut = (seq >> 16) + (seq & 0xffff) + (static_cast<uint32_t>(src[12]) << 8 | flags);
    csumAt = 16;
  } else {
    Set16(l4 + 4, l4Len);
    cut = l4Len;
    csumAt = 6;
  }
  const uint16_t header = OnesAdd(p.l4BaseSum, cut);
  const uint16_t rest = OnesAdd(OnesSum16(pkt + start, seg), OnesAdd(p.pseudoBaseSum, l4Len));
  uint16_t c = static_cast<uint16_t>(~OnesAdd(header, rest));
  if (c == 0) c = 0xffff;  // -0: required for UDP (0 = none), equivalent for TCP
  Set16(l4 + csumAt, c);
  return total;
}

bool PlanOversizeTcp(const uint8_t* p, uint32_t len, uint32_t mtu, GsoPlan* plan) {
  if (mtu == 0 || len <= mtu || len < 41 || p[0] != 0x45 || p[9] != 6 || Get16(p + 2) != len ||
      (Get16(p + 6) & 0x3fff) != 0)
    return false;
  const uint32_t doff = (p[32] >> 4) * 4u;
  if (doff < 20 || 20 + doff >= mtu || (p[33] & (kTcpSyn | kTcpRst)) != 0) return false;
  if (!HoldsPseudoSum(p, 20, true, len - 20)) return false;
  plan->len = len;
  plan->ipLen = 20;
  plan->hdrLen = static_cast<uint16_t>(20 + doff);
  plan->gsoSize = static_cast<uint16_t>(mtu - 20 - doff);
  plan->proto = 6;
  plan->v6 = false;
  plan->count = (len - plan->hdrLen + plan->gsoSize - 1) / plan->gsoSize;
  PlanSums(plan, p);
  return true;
}

bool FinishChecksum(const VnetHdr& h, uint8_t* pkt, size_t len) {
  const size_t start = h.csumStart, at = start + h.csumOffset;
  if (at + 2 > len) return false;
  uint16_t c = static_cast<uint16_t>(~OnesSum16(pkt + start, len - start));
  if (c == 0) c = 0xffff;
  Set16(pkt + at, c);
  return true;
}

}  // namespace vxtun
