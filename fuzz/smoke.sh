#!/usr/bin/env bash
# A short fuzzing smoke for CI: builds the libFuzzer harnesses (clang, ASan + UBSan) and runs
# each for a few seconds on a scratch copy of its corpus. Leaves the repository untouched.
#
#   fuzz/smoke.sh [SECONDS_PER_HARNESS]     (default 6)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-6}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)" >/dev/null

passed=0
failed=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for bin in build-fuzz/fuzz/*_fuzzer; do
  h=$(basename "$bin" _fuzzer)
  mkdir -p "$scratch/$h"
  cp fuzz/corpus/"$h"/* "$scratch/$h/" 2>/dev/null || true
  if "$bin" -max_total_time="$seconds" -dict=fuzz/ntp.dict -close_fd_mask=3 -artifact_prefix="$scratch/$h-" \
       -print_final_stats=1 "$scratch/$h" >"$scratch/$h.log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$h.log")
    echo "fuzz smoke: $h ok (${execs:-?} executions in ${seconds} s)"
    passed=$((passed + 1))
  else
    echo "fuzz smoke: $h FAILED; the end of its log:"
    tail -n 30 "$scratch/$h.log"
    ls "$scratch"/"$h"-* 2>/dev/null | sed 's/^/  input: /'
    failed=$((failed + 1))
  fi
done
echo "fuzz smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
