// SPDX-License-Identifier: Apache-2.0
// The offload fuzz targets (docs/offloads.md, "Fuzzing the offload code"): each reads its
// decisions from `in`, runs the addon's pure offload code, and calls Fail() when a property
// breaks. AddressSanitizer and UBSan, compiled in, catch what the properties cannot.
#ifndef VXTUN_FUZZ_TARGETS_H_
#define VXTUN_FUZZ_TARGETS_H_

#include <cstdint>

#include "../vnet.h"
#include "support.h"

namespace vxtun::fuzz {

// TUN read side: PlanGso + WriteSegment, FinishChecksum (read_side.cc).
void FuzzReadSide(Input& in);
// PlanOversizeTcp + WriteSegment: a peer's TSO frame cut to the MTU (read_side.cc).
void FuzzOversizeTcp(Input& in);
// FinishLeakedChecksum on a packet from the wire (read_side.cc).
void FuzzLeakedChecksum(Input& in);
// TUN write side: GroPlanner runs, merged and cut again (write_side.cc).
void FuzzWriteSide(Input& in);

// Cuts every segment of an accepted plan (a sample of long ones) into a block of exactly
// hdrLen + gsoSize bytes and checks it against pkt; counts the segments checked.
void CheckSegments(const GsoPlan& plan, const uint8_t* pkt, uint64_t* segments);

}  // namespace vxtun::fuzz

#endif  // VXTUN_FUZZ_TARGETS_H_
