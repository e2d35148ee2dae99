#!/usr/bin/env bash
# The long fuzzing mode (npm run fuzz -- [SECONDS], default 600): coverage-guided with
# libFuzzer when a clang++ links -fsanitize=fuzzer (Debian 12: apt-get install clang-14
# libclang-rt-14-dev), otherwise the seeded random driver, one seed after another, until
# the time is up. Findings are saved under build/fuzz/ (libFuzzer: crash-<sha1>; the
# driver: crash-<seed>-<run>.bin); replay one with build/fuzz/offload-libfuzzer FILE or
# build/fuzz/offload-fuzz FILE. libFuzzer keeps its corpus in build/fuzz/corpus.
# VXTUN_FUZZ_DRIVER=1 uses the random driver even where libFuzzer is available.
set -euo pipefail
seconds=${1:-600}
here=$(cd "$(dirname "$0")" && pwd)
work=$(cd "$here/../.." && pwd)/build/fuzz
mkdir -p "$work/corpus"
cd "$work"
clang=
[[ -n ${VXTUN_FUZZ_DRIVER:-} ]] || for c in ${CXX:-} clang++ clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14; do
  if echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    "$c" -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
    clang=$c
    break
  fi
done
if [[ -n $clang ]]; then
  CXX=$clang bash "$here/build.sh" "$work/offload-libfuzzer" libfuzzer
  echo "libFuzzer, $seconds s, corpus $work/corpus"
  exec "$work/offload-libfuzzer" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "$work/corpus"
fi
CXX= bash "$here/build.sh" "$work/offload-fuzz" driver
why="no clang++ here links -fsanitize=fuzzer"
[[ -z ${VXTUN_FUZZ_DRIVER:-} ]] || why="VXTUN_FUZZ_DRIVER is set"
echo "seeded random driver ($why), $seconds s"
end=$((SECONDS + seconds))
seed=$(date +%s)
while ((SECONDS < end)); do
  "$work/offload-fuzz" --runs 100000 --seed "$seed" --max-len 4096 --save "$work"
  seed=$((seed + 1))
done
