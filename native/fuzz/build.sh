#!/usr/bin/env bash
# Builds the offload fuzz harness with AddressSanitizer and UBSan.
#   native/fuzz/build.sh OUT [driver|libfuzzer] [NATIVE_DIR]
# driver (default): g++ or any C++17 compiler, with driver.cc's seeded random inputs; what
#   `npm test` runs. libfuzzer: clang++ -fsanitize=fuzzer, coverage-guided (npm run fuzz).
# NATIVE_DIR (default: the native/ this script lives in) lets a test build a changed copy.
set -euo pipefail
out=${1:?usage: build.sh OUT [driver|libfuzzer] [NATIVE_DIR]}
mode=${2:-driver}
native=${3:-$(cd "$(dirname "$0")/.." && pwd)}
# The addon's pure offload code: no N-API, no system calls.
core=("$native/checksum.cc" "$native/gso.cc" "$native/gro.cc" "$native/partial_csum.cc")
harness=("$native/fuzz/support.cc" "$native/fuzz/read_side.cc" "$native/fuzz/write_side.cc" "$native/fuzz/entry.cc")
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter)
case $mode in
  driver)
    "${CXX:-g++}" "${flags[@]}" -fsanitize=address,undefined -fno-sanitize-recover=all \
      "${harness[@]}" "$native/fuzz/driver.cc" "${core[@]}" -o "$out" ;;
  libfuzzer)
    "${CXX:-clang++}" "${flags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      "${harness[@]}" "${core[@]}" -o "$out" ;;
  *) echo "build.sh: mode must be driver or libfuzzer, not '$mode'" >&2; exit 2 ;;
esac
