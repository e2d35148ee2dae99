// SPDX-License-Identifier: Apache-2.0
// Internet checksum primitives (RFC 1071, RFC 1624); pure (bindings in checksum_js.cc).
#ifndef VXTUN_CHECKSUM_H_
#define VXTUN_CHECKSUM_H_

#include <cstddef>
#include <cstdint>

namespace vxtun {

// One's-complement sum of p[0, n) taken as network-order 16-bit words (a trailing odd
// byte is the high byte of a last word padded with zero), folded to 16 bits, not
// inverted. Any alignment and length; reads exactly n bytes.
uint16_t OnesSum16(const uint8_t* p, size_t n);

// One's-complement addition of two folded 16-bit (or any 32-bit) sums, folded.
inline uint16_t OnesAdd(uint32_t a, uint32_t b) {
  uint64_t s = static_cast<uint64_t>(a) + b;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// Folded sum of the IPv4 pseudo-header (src, dst, zero, proto, l4Length), addresses in host order.
inline uint16_t PseudoSum(uint32_t src, uint32_t dst, uint8_t proto, uint32_t l4Length) {
  uint32_t s = (src >> 16) + (src & 0xffff);
  s += (dst >> 16) + (dst & 0xffff);
  s += proto;
  s += l4Length;
  return OnesAdd(s, 0);
}

}  // namespace vxtun

#endif  // VXTUN_CHECKSUM_H_
