// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the TUN write side (gro.h): a batch of TCP and UDP packets from a few
// flows, in sequence until the input breaks them, goes through the GroPlanner. Then:
// - every run is a chain of increasing packet indices, of the length it claims, and each
//   packet is in at most one run;
// - no packet of a run's flow sits between its head and tail outside it (no reordering);
// - a run's super-packet (WriteMergedHeaders + the payloads) is one PlanGso accepts, and
//   cutting it again (WriteSegment, the model of the kernel's GSO that the read side
//   tests hold to the kernel) gives back every packet of the run byte for byte; a TCP
//   checksum may come back as 0xffff for 0x0000, its one's-complement equal.
#include <cstring>
#include <memory>

#include "../bytes.h"
#include "../gro.h"
#include "../vnet.h"
#include "targets.h"

namespace vxtun::fuzz {
namespace {

struct Flow {
  Spec spec;           // the next in-sequence packet, but for its payload length and PSH
  uint16_t payload;    // the flow's segment payload (its MSS)
};

// IPv4 TCP/UDP flow key as the planner reads it (addresses, protocol, ports); false for
// anything else.
bool Key(const std::vector<uint8_t>& p, uint64_t* addrs, uint64_t* protoPorts) {
  if (p.size() < 20 || (p[0] >> 4) != 4 || (p[9] != 6 && p[9] != 17)) return false;
  const uint32_t ihl = (p[0] & 0x0fu) * 4u;
  if (ihl < 20 || p.size() < ihl + 4 || (Get16(&p[6]) & 0x1fff) != 0) return false;
  *addrs = static_cast<uint64_t>(Get32(&p[12])) << 32 | Get32(&p[16]);
  *protoPorts = static_cast<uint64_t>(p[9]) << 32 | Get32(&p[ihl]);
  return true;
}

// One packet of flow f, broken now and then as the input says; the flow moves on.
std::vector<uint8_t> NextPacket(Input& in, Flow& f) {
  Spec s = f.spec;
  s.payloadLen = in.Chance(40) ? 1 + in.Below(f.payload) : f.payload;
  if (s.proto == 6 && in.Chance(24)) s.flags |= 0x08;  // PSH
  s.payloadSeed = in.U32();
  const uint32_t mutation = in.Chance(48) ? in.Below(17) : 99;
  switch (mutation) {
    case 0: s.seq += 1 + in.Below(3000); break;                       // a gap (or a retransmission, wrapped)
    case 1: s.id = static_cast<uint16_t>(s.id + 1 + in.Below(5)); break;
    case 2: s.tos = in.U8(); break;
    case 3: s.ttl = in.U8(); break;
    case 4: s.df = !s.df; break;
    case 5: s.ack += 1 + in.Below(100); break;
    case 6: s.flags = in.U8(); break;
    case 7: s.optByte = in.U8(); break;                               // same length, other options
    case 8: s.tcpOptions = static_cast<uint8_t>(4 * in.Below(11)); break;
    case 9: s.ipOptions = 4; break;                                   // IHL 6
    case 10: s.payloadLen = f.payload + 1 + in.Below(64); break;      // longer than the run's segments
    default: break;
  }
  std::vector<uint8_t> p = Build(s);
  uint8_t* b = p.data();
  const uint32_t ipLen = 20u + s.ipOptions;
  switch (mutation) {
    case 11:  // a bad checksum: a bit of the L4 header (past the ports) or payload flipped
      b[ipLen + 8 + in.Below(static_cast<uint32_t>(p.size()) - ipLen - 8)] ^= static_cast<uint8_t>(1 + in.Below(255));
      break;
    case 12: if (s.proto == 17) Set16(b + ipLen + 6, 0); break;                   // UDP without a checksum
    case 13: Set16(b + 6, Get16(b + 6) | (in.Chance(128) ? 0x2000 : 1 + in.Below(0x1fff))); Refresh(p, false, s.proto); break;
    case 14: Set16(b + 2, static_cast<uint16_t>(Get16(b + 2) + 1 + in.Below(8))); break;  // total length past the bytes
    case 15: p.resize(p.size() - 1 - in.Below(static_cast<uint32_t>(p.size()) - 1)); break;
    case 16:  // a UDP length one short of the IP payload
      if (s.proto == 17) {
        Set16(b + ipLen + 4, static_cast<uint16_t>(Get16(b + ipLen + 4) - 1));
        Refresh(p, false, 17);
      }
      break;
    default: break;
  }
  f.spec.seq = s.seq + (s.proto == 6 ? s.payloadLen : 0);
  f.spec.id = static_cast<uint16_t>(s.id + 1);
  return p;
}

}  // namespace

void FuzzWriteSide(Input& in) {
  Stats& st = GlobalStats();
  static GroPlanner planner;  // reused across inputs, as a TUN's is across batches
  Flow flows[4];
  const uint32_t nflows = 1 + in.Below(4);
  for (uint32_t i = 0; i < nflows; i++) {
    Spec& s = flows[i].spec;
    s.proto = in.Chance(96) ? 17 : 6;
    s.src = 0x0af40100 | in.Below(2);  // few addresses and ports: flows may coincide
    s.dst = 0x0af40200 | in.Below(2);
    s.sport = static_cast<uint16_t>(40000 + in.Below(2));
    s.seq = in.U32();
    s.ack = in.U32();
    s.id = in.U16();
    s.tos = in.Chance(32) ? in.U8() : 0;
    s.tcpOptions = in.Chance(64) ? 12 : 0;
    flows[i].payload = static_cast<uint16_t>(in.Chance(128) ? 1448 - s.tcpOptions : 1 + in.Below(9000));
  }
  const uint32_t count = 1 + in.Below(100);
  std::vector<std::vector<uint8_t>> pkts;
  for (uint32_t k = 0; k < count; k++) pkts.push_back(NextPacket(in, flows[in.Below(nflows)]));
  // Each packet in a heap block of exactly its size.
  std::vector<std::unique_ptr<uint8_t[]>> blocks;
  std::vector<const uint8_t*> ptrs;
  std::vector<uint32_t> lens;
  for (const auto& p : pkts) {
    blocks.emplace_back(new uint8_t[p.size()]);
    std::memcpy(blocks.back().get(), p.data(), p.size());
    ptrs.push_back(blocks.back().get());
    lens.push_back(static_cast<uint32_t>(p.size()));
  }
  const bool tcp = !in.Chance(16), udp = !in.Chance(16);
  const uint32_t maxLen = in.Chance(32) ? 200 + in.Below(1400) : 0;
  planner.Build(ptrs.data(), lens.data(), count, tcp, udp, maxLen);
  st.batches++;

  std::vector<uint32_t> runOf(count, GroPlanner::kNone);
  for (uint32_t k = 0; k < count; k++) {
    const uint32_t item = planner.ItemOf(k);
    if (item == GroPlanner::kNone) continue;
    const GroItem& it = planner.Item(item);
    if (it.head != k) {
      if (runOf[k] != item) Fail("run chain", "packet %u says run %u but is not on its chain", k, item);
      continue;
    }
    std::vector<uint32_t> chain;
    for (uint32_t j = k; j != GroPlanner::kNone; j = planner.Next(j)) {
      if ((!chain.empty() && j <= chain.back()) || j >= count)
        Fail("run chain", "run %u: index %u after %u", item, j, chain.empty() ? 0 : chain.back());
      if (runOf[j] != GroPlanner::kNone || planner.ItemOf(j) != item) Fail("run chain", "packet %u on two runs", j);
      runOf[j] = item;
      chain.push_back(j);
    }
    if (chain.size() != it.segments || chain.back() != it.tail)
      Fail("run length", "run %u: %zu packets, says %u", item, chain.size(), it.segments);
    if (it.segments < 2) continue;
    if ((it.proto == 6 && !tcp) || (it.proto == 17 && !udp)) Fail("coalescing switched off", "run of proto %u merged", it.proto);
    uint64_t key, other;
    uint64_t ports, otherPorts;
    if (!Key(pkts[k], &key, &ports)) Fail("run head", "packet %u is not TCP/UDP over IPv4", k);
    for (uint32_t j = k + 1, c = 1; j < it.tail; j++) {
      if (c < chain.size() && chain[c] == j) {
        c++;
      } else if (Key(pkts[j], &other, &otherPorts) && other == key && otherPorts == ports) {
        Fail("flow order", "packet %u of the flow of run %u (%u..%u) is left out of it: it would be reordered", j, item, k, it.tail);
      }
    }
    // The super-packet as the TUN write hands it over, cut again as the kernel would.
    uint8_t hdr[kMergedHeaderRoom];
    const uint32_t hn = WriteMergedHeaders(it, ptrs[it.head], ptrs[it.tail], hdr);
    const uint32_t hl = hn - kVnetHdrLen;
    std::vector<uint8_t> merged(hdr + kVnetHdrLen, hdr + hn);
    for (uint32_t j : chain) {
      if (maxLen != 0 && lens[j] > maxLen) Fail("maxLen", "packet %u of %u bytes merged, limit %u", j, lens[j], maxLen);
      merged.insert(merged.end(), pkts[j].begin() + hl, pkts[j].end());
    }
    if (merged.size() != it.total || merged.size() > kMaxIpPacket)
      Fail("merged length", "%zu bytes, run says %u", merged.size(), it.total);
    std::unique_ptr<uint8_t[]> super(new uint8_t[merged.size()]);
    std::memcpy(super.get(), merged.data(), merged.size());
    GsoPlan plan;
    if (!PlanGso(ReadVnetHdr(hdr), super.get(), merged.size(), kMaxIpPacket, true, &plan))
      Fail("merged packet valid", "run %u (%u segments, proto %u) is a super-packet PlanGso refuses", item, it.segments, it.proto);
    if (plan.count != it.segments) Fail("merged segment count", "cuts into %u, run has %u", plan.count, it.segments);
    for (uint32_t i = 0; i < plan.count; i++) {
      const uint32_t j = chain[i];
      std::unique_ptr<uint8_t[]> out(new uint8_t[plan.hdrLen + plan.gsoSize]);
      const uint32_t n = WriteSegment(plan, super.get(), i, out.get());
      if (n != lens[j]) Fail("round trip", "run %u segment %u: %u bytes, packet %u had %u", item, i, n, j, lens[j]);
      const uint32_t csumAt = 20 + (it.proto == 6 ? 16 : 6);
      for (uint32_t b = 0; b < n; b++) {
        if (b == csumAt && OnesEqual(Get16(out.get() + b), Get16(ptrs[j] + b))) {
          b++;
          continue;
        }
        if (out[b] != ptrs[j][b])
          Fail("round trip", "run %u segment %u differs from packet %u at byte %u: 0x%02x, was 0x%02x", item, i, j, b,
               out[b], ptrs[j][b]);
      }
    }
    st.runsMerged++;
    st.segmentsMerged += it.segments;
  }
}

}  // namespace vxtun::fuzz
