// SPDX-License-Identifier: Apache-2.0
// Reference checksum, packet builders, counters and Fail() for the fuzz targets (support.h).
#include "support.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "../bytes.h"

namespace vxtun::fuzz {

void (*onFail)() = nullptr;

uint16_t RefSum(const uint8_t* p, size_t n, uint32_t seed) {
  uint64_t s = seed;
  for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) s += static_cast<uint32_t>(p[n - 1] << 8);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

uint16_t RefPseudoSum(const uint8_t* p, bool v6, uint8_t proto, uint32_t l4Len) {
  uint32_t s = proto + (l4Len >> 16) + (l4Len & 0xffff);
  return v6 ? RefSum(p + 8, 32, s) : RefSum(p + 12, 8, s);
}

uint32_t HeaderLen(const Spec& s) {
  return (s.v6 ? 40u : 20u + s.ipOptions) + (s.proto == 6 ? 20u + s.tcpOptions : 8u);
}

void Refresh(std::vector<uint8_t>& pkt, bool v6, uint8_t proto) {
  uint8_t* p = pkt.data();
  const uint32_t ipLen = v6 ? 40u : (p[0] & 0x0fu) * 4u;
  const uint32_t l4Len = static_cast<uint32_t>(pkt.size()) - ipLen;
  if (!v6) {
    Set16(p + 10, 0);
    Set16(p + 10, static_cast<uint16_t>(~RefSum(p, ipLen)));
  }
  uint8_t* field = p + ipLen + (proto == 6 ? 16 : 6);
  Set16(field, 0);
  uint16_t c = static_cast<uint16_t>(~RefSum(p + ipLen, l4Len, RefPseudoSum(p, v6, proto, l4Len)));
  if (proto == 17 && c == 0) c = 0xffff;
  Set16(field, c);
}

std::vector<uint8_t> Build(const Spec& s) {
  const uint32_t ipLen = s.v6 ? 40u : 20u + s.ipOptions;
  const uint32_t l4Hdr = s.proto == 6 ? 20u + s.tcpOptions : 8u;
  std::vector<uint8_t> pkt(ipLen + l4Hdr + s.payloadLen, 0);
  uint8_t* p = pkt.data();
  const uint32_t total = static_cast<uint32_t>(pkt.size());
  if (s.v6) {
    Set32(p, 0x60000000u | static_cast<uint32_t>(s.tos) << 20);
    Set16(p + 4, total - 40);
    p[6] = s.proto;
    p[7] = s.ttl;
    Set32(p + 8, 0xfd000000u);
    Set32(p + 20, s.src);
    Set32(p + 24, 0xfd000000u);
    Set32(p + 36, s.dst);
  } else {
    p[0] = static_cast<uint8_t>(0x40 | (ipLen / 4));
    p[1] = s.tos;
    Set16(p + 2, total);
    Set16(p + 4, s.id);
    Set16(p + 6, s.df ? 0x4000 : 0);
    p[8] = s.ttl;
    p[9] = s.proto;
    Set32(p + 12, s.src);
    Set32(p + 16, s.dst);
    for (uint32_t i = 20; i < ipLen; i++) p[i] = 1;  // NOP options
  }
  uint8_t* l4 = p + ipLen;
  Set16(l4, s.sport);
  Set16(l4 + 2, s.dport);
  if (s.proto == 6) {
    Set32(l4 + 4, s.seq);
    Set32(l4 + 8, s.ack);
    l4[12] = static_cast<uint8_t>((l4Hdr / 4) << 4);
    l4[13] = s.flags;
    Set16(l4 + 14, s.window);
    for (uint32_t i = 20; i < l4Hdr; i++) l4[i] = s.optByte;
  } else {
    Set16(l4 + 4, l4Hdr + s.payloadLen);
  }
  uint32_t x = s.payloadSeed | 1;  // xorshift32
  for (uint8_t* b = l4 + l4Hdr; b < p + total; b++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *b = static_cast<uint8_t>(x);
  }
  Refresh(pkt, s.v6, s.proto);
  if (s.partial) Set16(l4 + (s.proto == 6 ? 16 : 6), RefPseudoSum(p, s.v6, s.proto, total - ipLen));
  return pkt;
}

Stats& GlobalStats() {
  static Stats stats;
  return stats;
}

void Fail(const char* property, const char* format, ...) {
  std::fprintf(stderr, "vxtun offload fuzz: property broken: %s: ", property);
  va_list ap;
  va_start(ap, format);
  std::vfprintf(stderr, format, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  if (onFail) onFail();
  std::abort();
}

}  // namespace vxtun::fuzz
