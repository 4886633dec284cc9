#!/usr/bin/env bash
# Runs libFuzzer harnesses, merges inputs with new coverage into fuzz/corpus/<harness>/ (keeping
# the seeds there), keeps crashes under
# build-fuzz/work/<harness>/ (copy each into fuzz/regressions/<harness>/ once fixed), and prints
# executions, executions per second, coverage and crashes.
#
#   fuzz/run.sh [--time SECONDS] [--jobs N] [HARNESS...]     (default: 60 s, 1 job, all harnesses)
set -euo pipefail
cd "$(dirname "$0")/.."

time_s=60
jobs=1
harnesses=()
while [ $# -gt 0 ]; do
  case $1 in
    --time) time_s=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    -*) echo "fuzz/run.sh: unknown option $1" >&2; exit 2 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done
if [ ${#harnesses[@]} -eq 0 ]; then
  for f in fuzz/*_fuzzer.cpp; do h=$(basename "$f" _fuzzer.cpp); harnesses+=("$h"); done
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz >/dev/null

printf '%-16s %8s %12s %10s %8s %8s %8s %8s\n' harness 'cpu s' executions exec/s edges features crashes 'corpus+'
status=0
for h in "${harnesses[@]}"; do
  bin=build-fuzz/fuzz/${h}_fuzzer
  [ -x "$bin" ] || { echo "fuzz/run.sh: no harness '$h'" >&2; exit 2; }
  work=build-fuzz/work/$h
  mkdir -p "$work/corpus" fuzz/corpus/"$h"
  cp -n fuzz/corpus/"$h"/* "$work/corpus/" 2>/dev/null || true
  log=$work/fuzz.log
  # Logs of an earlier run with --jobs would be counted as this run's.
  rm -f "$work"/fuzz-*.log
  parallel=()
  [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
  set +e
  # CPU seconds (user + system) as well as wall time: on a shared machine they differ.
  TIMEFORMAT='%U %S'
  { time { (cd "$work" && "$OLDPWD/$bin" -max_total_time="$time_s" "${parallel[@]}" -dict="$OLDPWD/fuzz/ntp.dict" \
    -print_final_stats=1 -artifact_prefix=./ -close_fd_mask=1 corpus) >"$log" 2>&1; } ; } 2>"$work/cpu"
  set -e
  cpu=$(awk '{printf "%.0f", $1 + $2}' "$work/cpu")
  # With -jobs, libFuzzer writes fuzz-N.log files beside the corpus; read them all.
  logs=("$log")
  for f in "$work"/fuzz-*.log; do
    if [ -e "$f" ]; then logs+=("$f"); fi
  done
  execs=$({ grep -h 'stat::number_of_executed_units' "${logs[@]}" || true; } | awk '{s+=$2} END {print s+0}')
  rate=$({ grep -h 'stat::average_exec_per_sec' "${logs[@]}" || true; } | awk '{s+=$2} END {print s+0}')
  last=$({ grep -hE '^#[0-9]+.*cov:' "${logs[@]}" || true; } | tail -1)
  edges=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  features=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  crashes=$(find "$work" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'leak-*' -o -name 'oom-*' \) | wc -l)
  [ "$crashes" -eq 0 ] || status=1
  # Only inputs that add coverage go back into the repository, beside the seeds already there.
  before=$(ls fuzz/corpus/"$h" | wc -l)
  # Edges only (-use_counters=0): hit counts would let hundreds of near-copies in.
  "$bin" -merge=1 -use_counters=0 fuzz/corpus/"$h" "$work/corpus" >"$work/merge.log" 2>&1 || true
  added=$(( $(ls fuzz/corpus/"$h" | wc -l) - before ))
  printf '%-16s %8s %12s %10s %8s %8s %8s %8s\n' "$h" "$cpu" "$execs" "$rate" "${edges:-?}" "${features:-?}" "$crashes" "$added"
done
exit $status
