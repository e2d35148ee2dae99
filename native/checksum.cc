// SPDX-License-Identifier: Apache-2.0
// Internet checksum (RFC 1071) over caller memory, plus incremental update (RFC 1624).
//
// The sum is taken in the machine's byte order over 64-bit words and byte-swapped once at
// the end (RFC 1071 section 2(B): the sum is byte-order independent). 64-bit words are
// added with carry counting in four independent chains; on x86-64 with AVX2 (checked at
// run time) ranges of 128 bytes or more widen 32-bit words into 64-bit lanes instead,
// which needs no carries.
#include "checksum.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace vxtun {
namespace {

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// s += w, counting the carry out in c.
inline void AddCarry(uint64_t& s, uint64_t& c, uint64_t w) { c += __builtin_add_overflow(s, w, &s); }

// Folds a 128-bit total into 64 bits with end-around carry (2^64 = 1 mod 0xffff).
inline uint64_t Fold128(unsigned __int128 t) {
  uint64_t lo = static_cast<uint64_t>(t), hi = static_cast<uint64_t>(t >> 64), r;
  if (__builtin_add_overflow(lo, hi, &r)) r++;
  return r;
}

// Folds 64 bits to 16 with end-around carries; 0 only for 0.
inline uint16_t Fold64(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// Machine-order sum of p[0, n), unfolded (its value mod 0xffff is what matters, as a one's-complement quantity).
unsigned __int128 SumScalar(const uint8_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  while (n >= 64) {
    AddCarry(s0, c0, Load64(p));
    AddCarry(s1, c1, Load64(p + 8));
    AddCarry(s2, c2, Load64(p + 16));
    AddCarry(s3, c3, Load64(p + 24));
    AddCarry(s0, c0, Load64(p + 32));
    AddCarry(s1, c1, Load64(p + 40));
    AddCarry(s2, c2, Load64(p + 48));
    AddCarry(s3, c3, Load64(p + 56));
    p += 64;
    n -= 64;
  }
  while (n >= 16) {
    AddCarry(s0, c0, Load64(p));
    AddCarry(s1, c1, Load64(p + 8));
    p += 16;
    n -= 16;
  }
  unsigned __int128 t = static_cast<unsigned __int128>(s0) + s1 + s2 + s3 + c0 + c1 + c2 + c3;
  if (n >= 8) {
    t += Load64(p);
    p += 8;
    n -= 8;
  }
  // 0..7 bytes left, copied into a zero-padded word in memory order: an odd last byte is
  // then the first byte of a 16-bit word whose second byte is 0, as RFC 1071 pads it.
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  t += tail;
  return t;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) unsigned __int128 SumAvx2(const uint8_t* p, size_t n) {
  const __m256i z = _mm256_setzero_si256();
  __m256i a0 = z, a1 = z, a2 = z, a3 = z;
  while (n >= 64) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    a0 = _mm256_add_epi64(a0, _mm256_unpacklo_epi32(v, z));
    a1 = _mm256_add_epi64(a1, _mm256_unpackhi_epi32(v, z));
    a2 = _mm256_add_epi64(a2, _mm256_unpacklo_epi32(w, z));
    a3 = _mm256_add_epi64(a3, _mm256_unpackhi_epi32(w, z));
    p += 64;
    n -= 64;
  }
  // Each lane holds at most (bytes / 64) 32-bit words: no overflow below 2^38 bytes.
  uint64_t l[16];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(l), a0);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(l + 4), a1);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(l + 8), a2);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(l + 12), a3);
  unsigned __int128 t = SumScalar(p, n);
  for (uint64_t x : l) t += x;
  return t;
}

// AVX2 when the CPU has it, unless VXTUN_NO_AVX2 is set in the environment when the
// addon first sums a long range (tests use it to exercise the portable path).
bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") && std::getenv("VXTUN_NO_AVX2") == nullptr;
  return has;
}
#endif

}  // namespace

uint16_t OnesSum16(const uint8_t* p, size_t n) {
  unsigned __int128 t;
#if defined(__x86_64__)
  if (n >= 128 && HasAvx2())
    t = SumAvx2(p, n);
  else
#endif
    t = SumScalar(p, n);
  uint16_t s = Fold64(Fold128(t));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  s = __builtin_bswap16(s);
#endif
  return s;
}

}  // namespace vxtun
