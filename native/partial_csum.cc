// SPDX-License-Identifier: Apache-2.0
// FinishLeakedChecksum (contract and the why in partial_csum.h).
//
// Why this is exact and not a guess: a NIC finishing CHECKSUM_PARTIAL stores
// ~sum(L4 bytes, with the field holding the pseudo-header sum P). The finished value is the
// correct checksum whatever the field held: if a complete checksum C happened to equal P,
// the result is ~sum(D + C) = C again. So a matching packet whose checksum does not verify
// comes out exactly as the sender's NIC would have sent it, and a valid one is never
// changed (it is checked first and left alone).
#include "partial_csum.h"

#include "bytes.h"
#include "checksum.h"

namespace vxtun {
namespace {

constexpr uint8_t kTcp = 6, kUdp = 17;

// One's-complement equality of two folded sums: 0x0000 and 0xffff are both zero.
inline bool OnesEqual(uint16_t a, uint16_t b) { return a == b || (a == 0 && b == 0xffff) || (a == 0xffff && b == 0); }

}  // namespace

bool HoldsPseudoSum(const uint8_t* p, size_t ihl, bool tcp, size_t l4) {
  const uint16_t have = Get16(p + ihl + (tcp ? 16 : 6));
  return OnesEqual(have, PseudoSum(Get32(p + 12), Get32(p + 16), tcp ? kTcp : kUdp, static_cast<uint32_t>(l4)));
}

bool FinishLeakedChecksum(uint8_t* p, size_t len) {
  if (len < 28 || (p[0] >> 4) != 4 || (p[9] != kTcp && p[9] != kUdp)) return false;
  const size_t ihl = (p[0] & 0x0fu) * 4u;
  if (ihl < 20 || Get16(p + 2) != len || (Get16(p + 6) & 0x3fff) != 0) return false;
  const size_t l4 = len - ihl;
  const bool tcp = p[9] == kTcp;
  if (l4 < (tcp ? 20u : 8u)) return false;
  uint8_t* field = p + ihl + (tcp ? 16 : 6);
  if (!tcp && Get16(field) == 0) return false;  // UDP without a checksum
  const uint16_t pseudo = PseudoSum(Get32(p + 12), Get32(p + 16), p[9], static_cast<uint32_t>(l4));
  if (!OnesEqual(Get16(field), pseudo)) return false;  // not a partial sum (HoldsPseudoSum)
  const uint16_t sum = OnesSum16(p + ihl, l4);
  if (OnesAdd(sum, pseudo) == 0xffff) return false;  // a complete checksum that verifies
  uint16_t finished = static_cast<uint16_t>(~sum);
  if (!tcp && finished == 0) finished = 0xffff;
  Set16(field, finished);
  return true;
}


}  // namespace vxtun
