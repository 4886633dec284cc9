#!/usr/bin/env bash
# Fleet benchmark: the rfc5905 suite against N loopback targets (127.0.x.y, port 123, in a
# network namespace of this script's own, served by four ntp-server instances, each listening on
# a quarter of the addresses), judged by one `ntp-probe --targets` run at each
# --parallel given, against the single-target probe run once per target on the first M of them
# (the same work the way a shell loop over hosts does it). Reported: targets judged per minute,
# the ratio to the loop, the probe's peak RSS (GNU time's "Maximum resident set size") and the
# most UDP sockets it held at once (sampled from /proc every 50 ms).
#
#   bench/fleet_bench.sh [N] [M] [PARALLEL...]      (defaults: 1000 50 8 32)
#
# Needs root (the network namespace) and a build (BUILD_DIR, default build). Every loop is
# bounded: N <= 65000 targets, each run under `timeout`.
# Exit: 0 it ran, 1 a run failed, 2 usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
N=${1:-1000}
M=${2:-50}
shift $(( $# > 2 ? 2 : $# ))
PARALLEL=("$@")
[[ ${#PARALLEL[@]} -gt 0 ]] || PARALLEL=(8 32)
[[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 65000 && $M =~ ^[0-9]+$ && $M -ge 1 && $M -le $N ]] ||
    { echo "fleet_bench: N in 1..65000, M in 1..N" >&2; exit 2; }
[[ -x $BUILD/probe/ntp-probe && -x $BUILD/server/ntp-server ]] || { echo "fleet_bench: no build in $BUILD" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "fleet_bench: needs root (a network namespace of its own)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "fleet_bench: needs GNU time (/usr/bin/time, package time)" >&2; exit 2; }

if [[ ${FLEET_IN_NS:-} != 1 ]]; then
    exec env FLEET_IN_NS=1 unshare --net -- "$0" "$N" "$M" "${PARALLEL[@]}"
fi
ip link set lo up
WORK=$(mktemp -d /tmp/fleet-bench.XXXXXX)
SERVER_PIDS=()
cleanup() { for p in "${SERVER_PIDS[@]}"; do kill "$p" 2> /dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
for ((i = 0; i < N; i++)); do echo "127.0.$(( i / 250 )).$(( i % 250 + 1 ))"; done > "$WORK/targets.txt"
# Four ntp-server instances, each listening on a quarter of the addresses (one socket an address:
# a reply leaves from the address it was asked on).
SERVER_PIDS=()
for ((s = 0; s < 4; s++)); do
    args=()
    while read -r a; do args+=(--listen "$a:123"); done < <(awk -v s=$s 'NR % 4 == s' "$WORK/targets.txt")
    [[ ${#args[@]} -gt 0 ]] || continue
    "$BUILD/server/ntp-server" "${args[@]}" > "$WORK/server$s.log" 2>&1 &
    SERVER_PIDS+=($!)
done
sleep 1

# peak_sockets PID: the most UDP sockets PID (and its threads) held, sampled until it ends.
peak_sockets() {
    local pid=$1 peak=0 n
    while kill -0 "$pid" 2> /dev/null; do
        n=$(find "/proc/$pid/fd" -lname 'socket:*' 2> /dev/null | wc -l)
        (( n > peak )) && peak=$n
        sleep 0.05
    done
    echo "$peak"
}

echo "fleet_bench: rfc5905 suite, $N loopback targets, four ntp-server instances; $(nproc) CPUs"
# The loop: the single-target probe once per target, on the first M.
start=$(date +%s.%N)
head -n "$M" "$WORK/targets.txt" | while read -r t; do
    timeout 120 "$BUILD/probe/ntp-probe" --format jsonl "$t" > /dev/null || [[ $? == 1 ]]
done
loop=$(echo "$(date +%s.%N) - $start" | bc)
loop_rate=$(echo "scale=1; $M * 60 / $loop" | bc)
printf '  %-28s %8s targets/min (%d targets in %.1f s)\n' "single-target probe, a loop" "$loop_rate" "$M" "$loop"

for p in "${PARALLEL[@]}"; do
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$WORK/time.txt" timeout 3600 "$BUILD/probe/ntp-probe" --targets "$WORK/targets.txt" \
        --parallel "$p" --format jsonl > "$WORK/out.jsonl" &
    runner=$!
    sleep 0.2
    probe_pid=$(pgrep -P "$(pgrep -P $runner | head -1)" ntp-probe | head -1 || true)
    sockets=$( [[ -n $probe_pid ]] && peak_sockets "$probe_pid" || echo "?")
    wait $runner || true
    took=$(echo "$(date +%s.%N) - $start" | bc)
    lines=$(wc -l < "$WORK/out.jsonl")
    passed=$(grep -c '"exit_code":0' "$WORK/out.jsonl" || true)
    rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt")
    rate=$(echo "scale=1; $lines * 60 / $took" | bc)
    ratio=$(echo "scale=1; $rate / $loop_rate" | bc)
    printf '  %-28s %8s targets/min (%d targets in %.1f s, %d with exit 0), %sx the loop, peak RSS %s MiB, peak sockets %s\n' \
        "--targets, --parallel $p" "$rate" "$lines" "$took" "$passed" "$ratio" "$(( rss / 1024 ))" "$sockets"
    [[ $lines == "$N" ]] || { echo "fleet_bench: $lines of $N targets reported" >&2; exit 1; }
done
