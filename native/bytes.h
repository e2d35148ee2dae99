// SPDX-License-Identifier: Apache-2.0
// Network-order (big-endian) loads and stores at any alignment, for header fields.
#ifndef VXTUN_BYTES_H_
#define VXTUN_BYTES_H_

#include <cstdint>

namespace vxtun {

inline uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

inline uint32_t Get32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

inline void Set16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

inline void Set32(uint8_t* p, uint32_t v) {
  Set16(p, v >> 16);
  Set16(p + 2, v & 0xffff);
}

}  // namespace vxtun

#endif  // VXTUN_BYTES_H_
