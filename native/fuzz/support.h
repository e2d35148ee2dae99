// SPDX-License-Identifier: Apache-2.0
// What the offload fuzz targets share: a reader that turns the fuzzer's bytes into
// decisions, a reference checksum to judge the addon's by, packet builders, the counters
// that show how deep the inputs went, and Fail().
//
// Design note: the targets are structure-aware. Random bytes almost never make a packet
// that PlanGso or the GRO planner accepts, so each target builds valid packets from
// decisions it reads, then lets further decisions break them (a field changed, a length
// cut, a checksum spoiled). Input that runs out reads as zeros and "no mutation", so every
// input is a valid script, and libFuzzer's coverage feedback refines the decisions.
#ifndef VXTUN_FUZZ_SUPPORT_H_
#define VXTUN_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vxtun::fuzz {

class Input {
 public:
  Input(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  uint8_t U8() { return at_ < n_ ? p_[at_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(U8() << 8 | U8()); }
  uint32_t U32() { return static_cast<uint32_t>(U16()) << 16 | U16(); }
  // A value in [0, k), k > 0.
  uint32_t Below(uint32_t k) { return (k <= 256 ? U8() : k <= 65536 ? U16() : U32()) % k; }
  // True with probability outOf256 / 256; false once the input is used up.
  bool Chance(uint8_t outOf256) { return at_ < n_ && p_[at_++] < outOf256; }

 private:
  const uint8_t* p_;
  size_t n_, at_ = 0;
};

// RFC 1071 the plain way, a 16-bit word at a time, folded, not inverted; seed is a
// previous sum. Independent of the addon's optimised OnesSum16, which it judges.
uint16_t RefSum(const uint8_t* p, size_t n, uint32_t seed = 0);

// The pseudo-header sum of the IPv4 or IPv6 packet p for an L4 length l4Len.
uint16_t RefPseudoSum(const uint8_t* p, bool v6, uint8_t proto, uint32_t l4Len);

// One's-complement equality: 0x0000 and 0xffff are both zero (a TCP checksum may be either).
// The harness's own, like RefSum: the judge borrows nothing from the code it judges.
inline bool OnesEqual(uint16_t a, uint16_t b) { return a == b || (a == 0 && b == 0xffff) || (a == 0xffff && b == 0); }

// A TCP or UDP packet over IPv4 or IPv6, as the builders make it.
struct Spec {
  bool v6 = false;
  uint8_t proto = 6;
  uint8_t ipOptions = 0;   // IPv4 option bytes (a multiple of 4, at most 40)
  uint8_t tcpOptions = 0;  // TCP option bytes (a multiple of 4, at most 40), filled with optByte
  uint8_t optByte = 1;     // NOP by default
  uint32_t src = 0x0af40101, dst = 0x0af40202;  // IPv4; IPv6 addresses derive from them
  uint16_t sport = 40000, dport = 5201;
  uint32_t seq = 1, ack = 1;
  uint8_t flags = 0x10;  // ACK
  uint16_t id = 0, window = 502;
  uint8_t tos = 0, ttl = 63;
  bool df = true;
  uint32_t payloadLen = 0;
  uint32_t payloadSeed = 1;  // payload bytes come from a generator seeded with this
  bool partial = false;      // checksum field = pseudo-header sum (CHECKSUM_PARTIAL), not the full checksum
};

// Header bytes of the packet a Spec describes (IP + L4).
uint32_t HeaderLen(const Spec& s);

// Builds the packet, checksums finished (or partial, as asked).
std::vector<uint8_t> Build(const Spec& s);

// Recomputes the IPv4 header checksum and the full L4 checksum of a built packet after a
// field was changed (IPv4 header of ihl bytes; for IPv6 ihl is 40).
void Refresh(std::vector<uint8_t>& pkt, bool v6, uint8_t proto);

struct Stats {
  uint64_t inputs = 0;
  uint64_t readPlanned = 0, readRejected = 0, readSegments = 0, csumFinished = 0;
  uint64_t oversizePlanned = 0, oversizeSegments = 0, leakedFinished = 0;
  uint64_t batches = 0, runsMerged = 0, segmentsMerged = 0;
};
Stats& GlobalStats();

// Reports a broken property (printf-style detail) and aborts, after calling the hook the
// standalone driver sets to save the input that did it.
[[noreturn]] void Fail(const char* property, const char* format, ...) __attribute__((format(printf, 2, 3)));
extern void (*onFail)();

}  // namespace vxtun::fuzz

#endif  // VXTUN_FUZZ_SUPPORT_H_
