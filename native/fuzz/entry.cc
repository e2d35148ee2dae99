// SPDX-License-Identifier: Apache-2.0
// The libFuzzer entry point: the first decision picks the target. Linked either with
// libFuzzer (clang -fsanitize=fuzzer, coverage-guided) or with driver.cc (any compiler,
// seeded random inputs), which is what `npm test` runs.
#include <cstddef>
#include <cstdint>

#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vxtun::fuzz;
  Input in(data, size);
  GlobalStats().inputs++;
  switch (in.Below(4)) {
    case 0: FuzzReadSide(in); break;
    case 1: FuzzOversizeTcp(in); break;
    case 2: FuzzLeakedChecksum(in); break;
    default: FuzzWriteSide(in); break;
  }
  return 0;
}
