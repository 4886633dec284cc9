#!/usr/bin/env bash
# Replay benchmark: ntp-probe replay against tshark and a bare libpcap read loop on a synthetic
# 1,000,000-packet capture with planted faults (bench/gen_capture.py), median of 3 wall-clock
# runs each (ntp-probe as it runs by default, on two threads where two CPUs are free, and with
# --threads 1); checks that ntp-probe finds exactly the planted faults, and its peak RSS on a
# 100k-packet and the 1M-packet file. Then the same at about 100k packets/s of capture time
# ("busy": the 120 s flow window then holds far more state), 100k and 1M packets, one run each.
# See bench/README.md.
#
#   bench/replay_bench.sh [--runs N] [--packets N] [--no-tshark] [--no-busy]
#
# Needs the bench build: cmake --preset bench && cmake --build --preset bench
# Env: BUILD_DIR (default build-bench), TIMEOUT (seconds per run, default 600).
# Exit: 0 findings exact, 1 a mismatch (or a tool failed), 2 usage / missing build.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-bench}
PY=/usr/bin/python3
GEN=$ROOT/bench/gen_capture.py
PROBE=$BUILD/probe/ntp-probe
FLOOR=$BUILD/bench/pcap_floor
TIMEOUT=${TIMEOUT:-600}
RUNS=3
PACKETS=1000000
SMALL=100000
TSHARK=1
BUSY=1
BUSY_INTERVAL_US=20

while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --packets) PACKETS=$2; shift 2 ;;
    --no-tshark) TSHARK=0; shift ;;
    --no-busy) BUSY=0; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "replay_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for f in "$PROBE" "$FLOOR"; do
  if [[ ! -x $f ]]; then
    echo "replay_bench.sh: $f is missing; build first: cmake --preset bench && cmake --build --preset bench" >&2
    exit 2
  fi
done
if [[ $TSHARK == 1 ]] && ! command -v tshark >/dev/null; then
  echo "replay_bench.sh: tshark not found (or pass --no-tshark)" >&2
  exit 2
fi

DATA=$BUILD/replay-bench
mkdir -p "$DATA"
OUT=$DATA/run
rm -rf "$OUT"
mkdir -p "$OUT"

# The captures, generated when absent or older than the generator (deterministic: same seed, same file).
capture() {  # capture NAME N [generator options] -> path
  local path=$DATA/capture-$1-$2.pcap n=$2
  shift 2
  if [[ ! -s $path || ! -s ${path%.pcap}.expected.json || $GEN -nt $path ]]; then
    echo "generating $path ..." >&2
    "$PY" "$GEN" -n "$n" "$@" "$path" >&2
  fi
  echo "$path"
}
BIG=$(capture steady "$PACKETS")
SMALLCAP=$(capture steady "$SMALL")
if [[ $BUSY == 1 ]]; then
  BUSYBIG=$(capture busy "$PACKETS" --interval-us "$BUSY_INTERVAL_US")
  BUSYSMALL=$(capture busy "$SMALL" --interval-us "$BUSY_INTERVAL_US")
fi

# measure NAME RUNS STDOUT-FILE CMD... : wall-clock runs, each with its own peak RSS, written to
# $OUT/NAME.json. A run over $TIMEOUT s is killed and fails. Peak RSS comes from GNU time (%M);
# without it, from wait4's rusage, which also counts the forked Python before exec (an upper bound).
measure() {
  local name=$1 runs=$2 stdout=$3
  shift 3
  "$PY" - "$runs" "$TIMEOUT" "$stdout" "$OUT/$name.json" "$@" <<'PY'
import json, os, signal, subprocess, sys, time
runs, timeout, stdout, result, cmd = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
gnu_time = os.access("/usr/bin/time", os.X_OK)
times, rss, codes = [], [], []
for run in range(runs):
    rss_file = "%s.rss%d" % (result, run)
    argv = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + cmd if gnu_time else cmd
    with open(stdout, "wb") as out, open(result + ".stderr", "ab") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(p.pid, signal.SIGKILL)
                pid, status, ru = os.wait4(p.pid, 0)
                status = -1
                break
            time.sleep(0.002)
        times.append(time.monotonic() - t0)
        p.returncode = os.waitstatus_to_exitcode(status) if status != -1 else -9
        codes.append(p.returncode)
        peak = ru.ru_maxrss if status != -1 else -1  # KiB on Linux
        if gnu_time and status != -1:
            lines = open(rss_file).read().split()
            peak = int(lines[-1]) if lines and lines[-1].isdigit() else -1
        rss.append(peak)
json.dump({"cmd": cmd, "times": times, "maxrss_kb": rss, "codes": codes, "rss_from": "GNU time" if gnu_time else "wait4"},
          open(result, "w"))
PY
}

echo "timing ($RUNS runs each, timeout ${TIMEOUT}s per run) ..." >&2
measure probe "$RUNS" "$OUT/probe-$PACKETS.json" "$PROBE" replay --format json "$BIG"
measure probe1 "$RUNS" "$OUT/probe1-$PACKETS.json" "$PROBE" replay --threads 1 --format json "$BIG"
measure probe-small "$RUNS" "$OUT/probe-$SMALL.json" "$PROBE" replay --format json "$SMALLCAP"
measure floor "$RUNS" "$OUT/floor.txt" "$FLOOR" "$BIG"
if [[ $TSHARK == 1 ]]; then
  measure tshark "$RUNS" /dev/null tshark -r "$BIG" -Y ntp -T fields -e ntp.flags.mode -e ntp.org -e ntp.xmt
fi
if [[ $BUSY == 1 ]]; then
  measure busy 1 "$OUT/busy-$PACKETS.json" "$PROBE" replay --format json "$BUSYBIG"
  measure busy-small 1 "$OUT/busy-$SMALL.json" "$PROBE" replay --format json "$BUSYSMALL"
fi

# Findings against the plan, for both files.
set +e
"$PY" "$GEN" verify "${BIG%.pcap}.expected.json" "$OUT/probe-$PACKETS.json" >"$OUT/verify-big.txt"
VERIFY_BIG=$?
"$PY" "$GEN" verify "${SMALLCAP%.pcap}.expected.json" "$OUT/probe-$SMALL.json" >"$OUT/verify-small.txt"
VERIFY_SMALL=$?
# One thread or two: the same report, byte for byte.
if cmp -s "$OUT/probe-$PACKETS.json" "$OUT/probe1-$PACKETS.json"; then echo same >"$OUT/verify-threads.txt"; else
  echo "ntp-probe --threads 1 and --threads 2 reports differ: $OUT/probe-$PACKETS.json $OUT/probe1-$PACKETS.json" >"$OUT/verify-threads.txt"
fi
VERIFY_BUSY=0
if [[ $BUSY == 1 ]]; then
  "$PY" "$GEN" verify "${BUSYBIG%.pcap}.expected.json" "$OUT/busy-$PACKETS.json" >"$OUT/verify-busy.txt"
  VERIFY_BUSY=$?
  "$PY" "$GEN" verify "${BUSYSMALL%.pcap}.expected.json" "$OUT/busy-$SMALL.json" >"$OUT/verify-busy-small.txt"
  VERIFY_BUSY=$((VERIFY_BUSY | $?))
fi
set -e

"$PY" - "$OUT" "$PACKETS" "$SMALL" "$BIG" "$TSHARK" "$VERIFY_BIG" "$VERIFY_SMALL" "$BUSY" "$VERIFY_BUSY" <<'PY'
import json, os, statistics, sys
out, n, n_small, big, with_tshark, v_big, v_small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1", int(sys.argv[6]), int(sys.argv[7])
with_busy, v_busy = sys.argv[8] == "1", int(sys.argv[9])
load = lambda name: json.load(open(os.path.join(out, name + ".json")))
probe, probe1, small, floor = load("probe"), load("probe1"), load("probe-small"), load("floor")
tshark = load("tshark") if with_tshark else None
busy, busy_small = (load("busy"), load("busy-small")) if with_busy else (None, None)
ok = True

def median(r):
    return statistics.median(r["times"])

def rate(r):
    if -9 in r["codes"]:
        return "timeout"
    pps = n / median(r)
    return "%.2f M" % (pps / 1e6) if pps >= 1e6 else "%.0f k" % (pps / 1e3)

# ntp-probe exits 1 when a MUST is broken (planted here); anything else is a failure.
for name, r, good in (("ntp-probe", probe, {1}), ("ntp-probe --threads 1", probe1, {1}), ("ntp-probe (100k)", small, {1}), ("pcap_floor", floor, {0}),
                      ("tshark", tshark, {0}), ("ntp-probe (busy)", busy, {1}), ("ntp-probe (busy, 100k)", busy_small, {1})):
    if r and any(c not in good for c in r["codes"]):
        print("%s failed: exit codes %s (%s)" % (name, r["codes"], " ".join(r["cmd"])))
        ok = False
floor_out = open(os.path.join(out, "floor.txt")).read().split()
if floor_out[:2] != ["packets", str(n)]:
    print("pcap_floor read %s, expected %d packets" % (" ".join(floor_out), n))
    ok = False

tp = median(probe)
print("replay benchmark, {:,} packets ({:.1f} MB), median of {} wall-clock runs".format(n, os.path.getsize(big) / 1e6, len(probe["times"])))
print("%-20s%-14s%s" % ("tool", "packets/s", "ratio"))
print("%-20s%-14s%s" % ("ntp-probe replay", rate(probe), "1.00 (two threads: reading, judging)"))
print("%-20s%-14s%s" % ("  --threads 1", rate(probe1), "%.2f" % (tp / median(probe1))))
if tshark:
    print("%-20s%-14s%s" % ("tshark -Y ntp", rate(tshark), "%.1fx slower" % (median(tshark) / tp)))
print("%-20s%-14s%s" % ("libpcap read loop", rate(floor), "floor (ntp-probe takes %.1fx the floor's time)" % (tp / median(floor))))
for name, r in (("ntp-probe", probe), ("1 thread", probe1), ("tshark", tshark), ("floor", floor)):
    if r:
        print("  %-10s runs: %s s" % (name, ", ".join("%.3f" % t for t in r["times"])))
for name in ("verify-big", "verify-small"):
    text = open(os.path.join(out, name + ".txt")).read().rstrip()
    label = "{:,} packets".format(n if name == "verify-big" else n_small)
    lines = text.splitlines()
    print(lines[0] + " [" + label + "]" if lines else "verify: no output [%s]" % label)
    for line in lines[1:]:
        print("  " + line)
threads_verdict = open(os.path.join(out, "verify-threads.txt")).read().strip()
print("one thread and two: " + ("the same report, byte for byte" if threads_verdict == "same" else threads_verdict))
ok = ok and v_big == 0 and v_small == 0 and v_busy == 0 and threads_verdict == "same"
mb = lambda r: max(r["maxrss_kb"]) / 1024
print("peak RSS: {:,} packets {:.1f} MB, {:,} packets {:.1f} MB ({})".format(n_small, mb(small), n, mb(probe), probe["rss_from"]))
if busy:
    plan = json.load(open(busy["cmd"][-1][:-len(".pcap")] + ".expected.json"))
    print("busy capture ({:.0f} k packets/s of capture time, {:,} clients), one run each:".format(
        n / plan["capture_seconds"] / 1e3, plan["clients"]))
    for count, r, name in ((n_small, busy_small, "verify-busy-small"), (n, busy, "verify-busy")):
        verdict = open(os.path.join(out, name + ".txt")).read().split("\n")[0].split(" (")[0]
        print("  {:>9,} packets: {:6.2f} s, {:>9} packets/s, peak RSS {:.1f} MB; {}".format(
            count, r["times"][0], "%.0f k" % (count / r["times"][0] / 1e3), mb(r), verdict))
pps = n / tp
print("target >= 5 M packets/s: %s (%.2f M packets/s%s)" % ("met" if pps >= 5e6 else "NOT met", pps / 1e6,
      ", %.0fx tshark" % (median(tshark) / tp) if tshark else ""))
print("details: %s" % out)
sys.exit(0 if ok else 1)
PY
