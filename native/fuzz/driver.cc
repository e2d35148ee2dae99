// SPDX-License-Identifier: Apache-2.0
// A main() for the fuzz targets without libFuzzer: seeded random inputs, or the files
// named (to replay what libFuzzer or an earlier run saved). Prints the counters as JSON so
// that a test can tell the inputs reached past validation.
//
//   offload-fuzz [--runs N] [--seed S] [--max-len L] [--save DIR] [FILE...]
//
// On a broken property the input is written to DIR/crash-<seed>-<run>.bin before abort().
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> current;
std::string savePath;

void SaveCurrent() {
  if (savePath.empty()) return;
  FILE* f = std::fopen(savePath.c_str(), "wb");
  if (!f) return;
  std::fwrite(current.data(), 1, current.size(), f);
  std::fclose(f);
  std::fprintf(stderr, "vxtun offload fuzz: input saved to %s\n", savePath.c_str());
}

bool ReadFile(const char* path, std::vector<uint8_t>* out) {
  FILE* f = std::fopen(path, "rb");
  if (!f) return false;
  out->clear();
  uint8_t buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->insert(out->end(), buf, buf + n);
  std::fclose(f);
  return true;
}

uint64_t Next(uint64_t& s) {  // splitmix64
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t runs = 10000, seed = 1, maxLen = 512;
  std::string saveDir = ".";
  std::vector<const char*> files;
  for (int i = 1; i < argc; i++) {
    const bool hasValue = i + 1 < argc;
    if (!std::strcmp(argv[i], "--runs") && hasValue) runs = std::strtoull(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--seed") && hasValue) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--max-len") && hasValue) maxLen = std::strtoull(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--save") && hasValue) saveDir = argv[++i];
    else if (argv[i][0] == '-') {
      std::fprintf(stderr, "offload-fuzz: unknown option %s\n", argv[i]);
      std::fprintf(stderr, "usage: offload-fuzz [--runs N] [--seed S] [--max-len L] [--save DIR] [FILE...]\n");
      return 2;
    } else files.push_back(argv[i]);
  }
  vxtun::fuzz::onFail = SaveCurrent;
  if (!files.empty()) {
    for (const char* path : files) {
      if (!ReadFile(path, &current)) {
        std::fprintf(stderr, "offload-fuzz: cannot read %s\n", path);
        return 2;
      }
      savePath.clear();  // already on disk
      LLVMFuzzerTestOneInput(current.data(), current.size());
    }
  } else {
    uint64_t state = seed;
    for (uint64_t r = 0; r < runs; r++) {
      current.resize(Next(state) % (maxLen + 1));
      for (uint8_t& b : current) b = static_cast<uint8_t>(Next(state));
      savePath = saveDir + "/crash-" + std::to_string(seed) + "-" + std::to_string(r) + ".bin";
      LLVMFuzzerTestOneInput(current.data(), current.size());
    }
  }
  const vxtun::fuzz::Stats& s = vxtun::fuzz::GlobalStats();
  std::printf(
      "{\"inputs\":%llu,\"readPlanned\":%llu,\"readRejected\":%llu,\"readSegments\":%llu,\"csumFinished\":%llu,"
      "\"oversizePlanned\":%llu,\"oversizeSegments\":%llu,\"leakedFinished\":%llu,\"batches\":%llu,"
      "\"runsMerged\":%llu,\"segmentsMerged\":%llu}\n",
      (unsigned long long)s.inputs, (unsigned long long)s.readPlanned, (unsigned long long)s.readRejected,
      (unsigned long long)s.readSegments, (unsigned long long)s.csumFinished, (unsigned long long)s.oversizePlanned,
      (unsigned long long)s.oversizeSegments, (unsigned long long)s.leakedFinished, (unsigned long long)s.batches,
      (unsigned long long)s.runsMerged,
      (unsigned long long)s.segmentsMerged);
  return 0;
}
