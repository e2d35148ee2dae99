// SPDX-License-Identifier: Apache-2.0
// Fuzz targets for the packets the TUN sees (vnet.h, partial_csum.h): PlanGso + WriteSegment
// on super-packets with their virtio_net_hdr, FinishChecksum on GSO_NONE packets,
// PlanOversizeTcp and FinishLeakedChecksum on packets from the wire. Every
// packet and every segment lives in a heap block of exactly its size, so a read or write
// one byte out is an AddressSanitizer report. Accepted plans are checked segment by
// segment against the reference checksum and the fields the kernel's GSO would write.
#include <algorithm>
#include <cstring>
#include <memory>

#include "../bytes.h"
#include "../partial_csum.h"
#include "../vnet.h"
#include "targets.h"

namespace vxtun::fuzz {
namespace {

std::unique_ptr<uint8_t[]> ExactCopy(const std::vector<uint8_t>& v) {
  std::unique_ptr<uint8_t[]> b(new uint8_t[v.size()]);
  if (!v.empty()) std::memcpy(b.get(), v.data(), v.size());
  return b;
}

// A TCP/UDP packet of the given family, with options, flags and payload from the input.
Spec RandomSpec(Input& in, bool v6, uint8_t proto, uint32_t maxPayload) {
  Spec s;
  s.v6 = v6;
  s.proto = proto;
  if (!v6 && in.Chance(32)) s.ipOptions = static_cast<uint8_t>(4 * in.Below(11));
  if (proto == 6 && in.Chance(96)) s.tcpOptions = static_cast<uint8_t>(4 * in.Below(11));
  s.seq = in.U32();
  s.id = in.U16();
  s.tos = in.Chance(32) ? in.U8() : 0;
  uint8_t flags = 0x10;
  if (in.Chance(96)) flags |= 0x08;  // PSH
  if (in.Chance(32)) flags |= 0x01;  // FIN
  if (in.Chance(32)) flags |= 0x80;  // CWR
  if (in.Chance(16)) flags = in.U8();
  s.flags = flags;
  const uint32_t room = maxPayload - HeaderLen(s);
  s.payloadLen = 1 + (in.Chance(128) ? in.Below(std::min<uint32_t>(room, 3000)) : in.Below(room));
  s.payloadSeed = in.U32();
  s.partial = true;
  return s;
}

// Breaks a few bytes or the length of pkt / the virtio header, as the input says.
void Mutate(Input& in, std::vector<uint8_t>& pkt, VnetHdr* h) {
  if (!in.Chance(64)) return;
  for (uint32_t n = 1 + in.Below(4); n > 0; n--) {
    switch (in.Below(3)) {
      case 0: {
        uint8_t raw[kVnetHdrLen];
        WriteVnetHdr(raw, *h);
        raw[in.Below(kVnetHdrLen)] = in.U8();
        *h = ReadVnetHdr(raw);
        break;
      }
      case 1:
        if (!pkt.empty()) pkt[in.Below(static_cast<uint32_t>(std::min<size_t>(pkt.size(), 128)))] = in.U8();
        break;
      default:
        pkt.resize(in.Below(static_cast<uint32_t>(pkt.size()) + 1));
    }
  }
}

}  // namespace

void CheckSegments(const GsoPlan& plan, const uint8_t* pkt, uint64_t* segments) {
  const uint32_t room = plan.hdrLen + plan.gsoSize;
  const uint8_t* l4 = pkt + plan.ipLen;
  for (uint32_t i = 0; i < plan.count; i++) {
    // Long plans (a small gso_size): the first and last 16 segments and every 97th.
    if (plan.count > 64 && i >= 16 && i + 16 < plan.count && i % 97 != 0) continue;
    std::unique_ptr<uint8_t[]> out(new uint8_t[room]);
    const uint32_t n = WriteSegment(plan, pkt, i, out.get());
    const size_t start = plan.hdrLen + static_cast<size_t>(i) * plan.gsoSize;
    const size_t seg = std::min<size_t>(plan.gsoSize, plan.len - start);
    if (n != plan.hdrLen + seg) Fail("segment length", "segment %u of %u: %u bytes, want %zu", i, plan.count, n, plan.hdrLen + seg);
    if (std::memcmp(out.get() + plan.hdrLen, pkt + start, seg) != 0) Fail("segment payload", "segment %u of %u", i, plan.count);
    const uint8_t* o = out.get();
    if (!plan.v6) {
      if (RefSum(o, plan.ipLen) != 0xffff) Fail("IPv4 header checksum", "segment %u of %u", i, plan.count);
      if (Get16(o + 2) != n) Fail("IPv4 total length", "segment %u: %u, want %u", i, Get16(o + 2), n);
      if (Get16(o + 4) != static_cast<uint16_t>(Get16(pkt + 4) + i)) Fail("IPv4 ID", "segment %u", i);
      if (std::memcmp(o, pkt, 2) != 0 || std::memcmp(o + 6, pkt + 6, 4) != 0 ||
          std::memcmp(o + 12, pkt + 12, plan.ipLen - 12) != 0)
        Fail("IPv4 header kept", "segment %u changed a field it must copy", i);
    } else {
      if (Get16(o + 4) != n - 40) Fail("IPv6 payload length", "segment %u: %u, want %u", i, Get16(o + 4), n - 40);
      if (std::memcmp(o, pkt, 4) != 0 || std::memcmp(o + 6, pkt + 6, 34) != 0) Fail("IPv6 header kept", "segment %u", i);
    }
    const uint8_t* ol4 = o + plan.ipLen;
    const uint32_t l4Len = n - plan.ipLen;
    if (RefSum(ol4, l4Len, RefPseudoSum(o, plan.v6, plan.proto, l4Len)) != 0xffff)
      Fail("L4 checksum", "segment %u of %u (proto %u, %u bytes)", i, plan.count, plan.proto, n);
    if (plan.proto == 6) {
      if (Get32(ol4 + 4) != Get32(l4 + 4) + i * static_cast<uint32_t>(plan.gsoSize)) Fail("TCP sequence number", "segment %u", i);
      uint8_t want = l4[13];
      if (i + 1 < plan.count) want &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
      if (i > 0) want &= static_cast<uint8_t>(~kTcpCwr);
      if (ol4[13] != want) Fail("TCP flags", "segment %u of %u: 0x%02x, want 0x%02x", i, plan.count, ol4[13], want);
      const size_t l4Hdr = plan.hdrLen - plan.ipLen;
      if (std::memcmp(ol4, l4, 4) != 0 || std::memcmp(ol4 + 8, l4 + 8, 5) != 0 || std::memcmp(ol4 + 14, l4 + 14, 2) != 0 ||
          std::memcmp(ol4 + 18, l4 + 18, l4Hdr - 18) != 0)
        Fail("TCP header kept", "segment %u changed a field it must copy", i);
    } else {
      if (Get16(ol4 + 4) != l4Len) Fail("UDP length", "segment %u: %u, want %u", i, Get16(ol4 + 4), l4Len);
      if (std::memcmp(ol4, l4, 4) != 0) Fail("UDP ports kept", "segment %u", i);
      if (Get16(ol4 + 6) == 0) Fail("UDP checksum not zero", "segment %u", i);
    }
    ++*segments;
  }
}

void FuzzReadSide(Input& in) {
  Stats& st = GlobalStats();
  const uint32_t kind = in.Below(4);  // TCPv4, TCPv6, UDPv4 (USO), or raw bytes
  std::vector<uint8_t> pkt;
  VnetHdr h;
  if (kind == 3) {
    uint8_t raw[kVnetHdrLen];
    for (uint8_t& b : raw) b = in.U8();
    h = ReadVnetHdr(raw);
    pkt.resize(in.Below(2048));
    for (uint8_t& b : pkt) b = in.U8();
  } else {
    const Spec s = RandomSpec(in, kind == 1, kind == 2 ? 17 : 6, kMaxIpPacket);
    pkt = Build(s);
    const uint32_t ipLen = s.v6 ? 40u : 20u + s.ipOptions;
    h.flags = kVnetNeedsCsum;
    h.gsoType = kind == 0 ? kGsoTcpV4 : kind == 1 ? kGsoTcpV6 : kGsoUdpL4;
    h.hdrLen = in.U16();  // a hint, never to be trusted
    h.gsoSize = static_cast<uint16_t>(in.Chance(128) ? 1 + in.Below(1500) : 1 + in.Below(65535));
    h.csumStart = static_cast<uint16_t>(ipLen);
    h.csumOffset = s.proto == 6 ? 16 : 6;
    if (in.Chance(24)) h.gsoType = kGsoNone;
    Mutate(in, pkt, &h);
  }
  const size_t maxSegment = in.Chance(128) ? kMaxIpPacket + 64 : 64 + in.Below(65600);
  const bool uso = !in.Chance(32);
  std::unique_ptr<uint8_t[]> buf = ExactCopy(pkt);
  const size_t len = pkt.size();
  if (h.gsoType == kGsoNone) {
    // The field held a partial sum P; the finished range sums to ~P (so range + P verifies).
    const size_t at = static_cast<size_t>(h.csumStart) + h.csumOffset;
    const uint16_t partial = at + 2 <= len ? Get16(buf.get() + at) : 0;
    if ((h.flags & kVnetNeedsCsum) && FinishChecksum(h, buf.get(), len)) {
      if (at + 2 > len) Fail("FinishChecksum field inside", "field at %zu, packet %zu bytes", at, len);
      if (h.csumOffset % 2 == 0 && RefSum(buf.get() + h.csumStart, len - h.csumStart, partial) != 0xffff)
        Fail("FinishChecksum result", "sum from %u over %zu bytes does not verify", h.csumStart, len - h.csumStart);
      st.csumFinished++;
    }
    return;
  }
  GsoPlan plan;
  if (!PlanGso(h, buf.get(), len, maxSegment, uso, &plan)) {
    st.readRejected++;
    return;
  }
  st.readPlanned++;
  if (plan.len != len || plan.hdrLen >= len || plan.gsoSize != h.gsoSize || plan.hdrLen + plan.gsoSize > maxSegment ||
      plan.hdrLen + plan.gsoSize > kMaxIpPacket)
    Fail("plan bounds", "len %zu hdrLen %u gsoSize %u maxSegment %zu", len, plan.hdrLen, plan.gsoSize, maxSegment);
  if (plan.count != (len - plan.hdrLen + plan.gsoSize - 1) / plan.gsoSize) Fail("segment count", "%u segments", plan.count);
  CheckSegments(plan, buf.get(), &st.readSegments);
}

void FuzzOversizeTcp(Input& in) {
  Stats& st = GlobalStats();
  Spec s = RandomSpec(in, false, 6, kMaxIpPacket);
  s.partial = !in.Chance(24);
  if (in.Chance(16)) s.flags |= in.Chance(128) ? 0x02 : 0x04;  // SYN or RST: never cut
  if (in.Chance(16)) s.df = false;
  std::vector<uint8_t> pkt = Build(s);
  if (in.Chance(16)) Set16(pkt.data() + 6, Get16(pkt.data() + 6) | (in.Chance(128) ? 0x2000 : in.Below(0x2000)));
  VnetHdr unused;
  Mutate(in, pkt, &unused);
  const uint32_t mtu = in.Chance(128) ? 1450 : 68 + in.Below(9000);
  std::unique_ptr<uint8_t[]> buf = ExactCopy(pkt);
  const uint32_t len = static_cast<uint32_t>(pkt.size());
  GsoPlan plan;
  if (!PlanOversizeTcp(buf.get(), len, mtu, &plan)) return;
  st.oversizePlanned++;
  if (len <= mtu || plan.hdrLen + plan.gsoSize != mtu || plan.count < 2 || plan.len != len)
    Fail("oversize plan", "len %u mtu %u hdrLen %u gsoSize %u count %u", len, mtu, plan.hdrLen, plan.gsoSize, plan.count);
  CheckSegments(plan, buf.get(), &st.oversizeSegments);
}

void FuzzLeakedChecksum(Input& in) {
  Stats& st = GlobalStats();
  Spec s = RandomSpec(in, false, in.Chance(128) ? 17 : 6, 4096);
  s.partial = in.Chance(160);
  std::vector<uint8_t> pkt = Build(s);
  if (in.Chance(16)) Set16(pkt.data() + 6, Get16(pkt.data() + 6) | 0x2000);  // MF: a fragment
  VnetHdr unused;
  Mutate(in, pkt, &unused);
  std::unique_ptr<uint8_t[]> buf = ExactCopy(pkt);
  const size_t len = pkt.size();
  const uint32_t ihl = len > 0 ? (pkt[0] & 0x0fu) * 4u : 0;
  const bool tcp = len > 9 && pkt[9] == 6;
  // Whether the packet's L4 checksum verified before (only meaningful for what qualifies).
  const uint32_t l4Len = static_cast<uint32_t>(len - std::min<size_t>(ihl, len));
  const bool wasValid = len >= 20 && ihl >= 20 && ihl + (tcp ? 20u : 8u) <= len &&
                        RefSum(pkt.data() + ihl, l4Len, RefPseudoSum(pkt.data(), false, pkt[9], l4Len)) == 0xffff;
  if (!FinishLeakedChecksum(buf.get(), len)) {
    if (len > 0 && std::memcmp(buf.get(), pkt.data(), len) != 0)
      Fail("FinishLeakedChecksum untouched", "returned false but changed the packet");
    return;
  }
  st.leakedFinished++;
  if (wasValid) Fail("FinishLeakedChecksum valid left alone", "a packet whose checksum verified was changed");
  const size_t field = ihl + (tcp ? 16 : 6);
  if (std::memcmp(buf.get(), pkt.data(), field) != 0 ||
      std::memcmp(buf.get() + field + 2, pkt.data() + field + 2, len - field - 2) != 0)
    Fail("FinishLeakedChecksum field only", "bytes besides the checksum field changed");
  if (RefSum(buf.get() + ihl, l4Len, RefPseudoSum(buf.get(), false, pkt[9], l4Len)) != 0xffff)
    Fail("FinishLeakedChecksum result", "the finished checksum does not verify (proto %u, %zu bytes)", pkt[9], len);
  if (!tcp && Get16(buf.get() + field) == 0) Fail("FinishLeakedChecksum UDP", "a finished UDP checksum of 0");
}

}  // namespace vxtun::fuzz
