#!/usr/bin/env bash
# Server benchmark: the minimal batched responder (bench/min_responder.c), ntp-server (this
# tree), chronyd and ntpsec's ntpd (Debian 12, unpacked by scripts/fetch-peers.sh), and the NTS
# paths (RFC 8915) of ntp-server and chronyd (ntp-server-nts, chronyd-nts: key establishment
# once with a certificate made for the run, then `ntp-probe bench --nts`, one cookie for every
# request as a load of many clients looks to the server) in one run,
# each measured with `ntp-probe bench`: the highest open-loop rate answered with < 1 % loss
# (--ramp), replies/s and server CPU per reply at saturation (closed loop, 256 outstanding),
# and round trip and T3-T2 at 10,000 requests/s. Server on one CPU, load on the other. Rounds
# are interleaved (min, ntp-server, chronyd, ntpsec, then again); each figure is the median
# over the rounds, each ratio the median of the per-round ratios. See bench/README.md.
#
#   bench/server_bench.sh [--rounds N] [--duration S] [--only LIST] [--json FILE]
#
#   --rounds N     rounds (default 3)
#   --duration S   seconds of each saturation and latency measurement (default 5)
#   --only LIST    comma-separated subset of: min,ntp-server,chronyd,ntpsec,ntp-server-nts,
#                  chronyd-nts (ratios need min; the NTS ratio needs both NTS servers)
#   --json FILE    write every raw result, the medians and the targets to FILE
#
# Needs root (network namespace, port 123 in it), setpriv, and the bench build:
#   cmake --preset bench && cmake --build --preset bench
# Env: BUILD_DIR (default build-bench), PEERS_DIR (default $BUILD_DIR/peers), SERVER_CPU (1),
# LOAD_CPU (0), RAMP_BUDGET (seconds of ramp steps at most, default 40).
# Exit: 0 it ran (a missed target is not a failure), 1 a server or tool failed (or the clock
# moved), 2 usage / missing build.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${BUILD_DIR:-$ROOT/build-bench}" 2> /dev/null && pwd) || BUILD=${BUILD_DIR:-$ROOT/build-bench}
PEERS=${PEERS_DIR:-$BUILD/peers}
PY=/usr/bin/python3
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
RAMP_BUDGET=${RAMP_BUDGET:-40}
SOURCE_ADDRESSES=16   # 127.0.0.1..127.0.0.16: every server sees many clients, none rate-limited
ROUNDS=3
DURATION=5
ONLY=min,ntp-server,chronyd,ntpsec,ntp-server-nts,chronyd-nts
JSON_OUT=''
ALL_SERVERS=(min ntp-server chronyd ntpsec ntp-server-nts chronyd-nts)
COMMAND_LINE="bench/server_bench.sh${*:+ $*}"

usage() { echo "server_bench.sh: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds | --duration | --only | --json) [[ $# -ge 2 ]] || usage "$1 needs a value" ;;&
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown argument $1 (see --help)" ;;
  esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || usage "--rounds must be a positive integer"
if ! [[ $DURATION =~ ^[0-9]+([.][0-9]+)?$ ]] || ! awk -v d="$DURATION" 'BEGIN { exit !(d >= 0.5 && d <= 600) }'; then
  usage "--duration must be a number of seconds in 0.5..600"
fi
[[ $RAMP_BUDGET =~ ^[1-9][0-9]*$ ]] || usage "RAMP_BUDGET must be a positive integer"
SERVERS=()
IFS=, read -r -a wanted <<< "$ONLY"
for w in "${wanted[@]}"; do
  [[ " ${ALL_SERVERS[*]} " == *" $w "* ]] || usage "--only: unknown server '$w' (one of: ${ALL_SERVERS[*]})"
done
for s in "${ALL_SERVERS[@]}"; do [[ ",$ONLY," == *",$s,"* ]] && SERVERS+=("$s"); done
[[ ${#SERVERS[@]} -gt 0 ]] || usage "--only: no server left"
if [[ -n $JSON_OUT ]]; then
  touch "$JSON_OUT" 2> /dev/null || usage "--json: cannot write $JSON_OUT"
  JSON_OUT=$(cd "$(dirname "$JSON_OUT")" && pwd)/$(basename "$JSON_OUT")
fi

MIN=$BUILD/bench/min_responder
SERVER=$BUILD/server/ntp-server
PROBE=$BUILD/probe/ntp-probe
CLOCKCHECK=$BUILD/bench/clockcheck   # or, in a build with tests, where tests/ builds it
[[ -x $CLOCKCHECK ]] || CLOCKCHECK=$BUILD/tests/clockcheck
for f in "$MIN" "$SERVER" "$PROBE" "$CLOCKCHECK"; do
  [[ -x $f ]] || { echo "server_bench.sh: $f is missing; build first: cmake --preset bench && cmake --build --preset bench" >&2; exit 2; }
done
"$PROBE" bench --help > /dev/null 2>&1 || { echo "server_bench.sh: $PROBE has no 'bench' subcommand; rebuild" >&2; exit 2; }
[[ -x $PY ]] || { echo "server_bench.sh: $PY not found" >&2; exit 2; }
for cpu in "$SERVER_CPU" "$LOAD_CPU"; do
  taskset -c "$cpu" true 2> /dev/null || { echo "server_bench.sh: cannot pin to CPU $cpu (taskset); set SERVER_CPU / LOAD_CPU" >&2; exit 2; }
done
[[ $SERVER_CPU != "$LOAD_CPU" ]] || { echo "server_bench.sh: SERVER_CPU and LOAD_CPU must differ" >&2; exit 2; }

# The interop library: $NOCAP, the clock snapshot and check (need / clock_verify from its EXIT
# trap), start_bg / stop_pid / wait_until / pick_port / probe_wait, netns_create / netns_reap.
# shellcheck source-path=SCRIPTDIR source=../tests/interop/lib.sh
source "$ROOT/tests/interop/lib.sh"
interop_init server-bench --server "$SERVER" --probe "$PROBE" --clockcheck "$CLOCKCHECK" --peers "$PEERS" --work "$BUILD"
# lib.sh skips (77) a test that cannot run safely (no setpriv, no namespaces, no peers): here
# that is an error. Peers and namespaces are checked first below, so only safety reaches it.
# shellcheck disable=SC2317  # called by lib.sh
skip() { echo "$TEST_NAME: cannot run safely: $*" >&2; exit 1; }
need server probe clockcheck work   # WORK=$BUILD/server-bench; clock snapshot; EXIT trap
PEER_ENV=(env PATH=/usr/sbin:/usr/bin:/sbin:/bin)
RUNLOG=$WORK/run.log   # every command started, configs, daemons' output on failure
: > "$RUNLOG"
FAILURES=()
failed() { FAILURES+=("$*"); echo "  FAILED: $*" >&2; }
note() { echo "$*"; NOTES+=("$*"); }
NOTES=()

# ---- Peers and the namespace ---------------------------------------------------------------
want() { [[ " ${SERVERS[*]} " == *" $1 "* ]]; }
drop() { local keep=() s; for s in "${SERVERS[@]}"; do [[ $s == "$1" ]] || keep+=("$s"); done; SERVERS=("${keep[@]}"); }
if want chronyd || want ntpsec || want chronyd-nts; then
  if out=$(timeout 300 "$ROOT/scripts/fetch-peers.sh" "$PEERS" 2>&1); then
    fetch_peers >> "$RUNLOG"
  else
    note "peers could not be fetched ($(tail -n 1 <<< "$out")): running min and ntp-server only"
    drop chronyd
    drop ntpsec
    drop chronyd-nts
  fi
fi
if want ntp-server-nts || want chronyd-nts; then
  nts_certificate >> "$RUNLOG"   # $WORK/cert.pem, $WORK/key.pem for 127.0.0.1
fi
NS=''
if want ntpsec; then
  probe_ns=ntpkit-$$-check
  if command -v ip > /dev/null && ip netns add "$probe_ns" 2> /dev/null; then
    ip netns del "$probe_ns"
    netns_create bench-ntpsec >> "$RUNLOG"
    NS=$NETNS
  else
    note "cannot create a network namespace (root and iproute2 needed): ntpsec left out"
    drop ntpsec
  fi
fi
[[ ${#SERVERS[@]} -gt 0 ]] || fail "no server left to measure"

version_of() {
  case $1 in
    min) echo "bench/min_responder.c" ;;
    ntp-server | ntp-server-nts) echo "this tree $(git -C "$ROOT" describe --always --dirty 2> /dev/null || echo '?')" ;;
    chronyd | chronyd-nts) echo "chrony $(peer_version chrony)" ;;
    ntpsec) echo "ntpsec $(peer_version ntpsec)" ;;
  esac
}

# ---- Starting and stopping, one server at a time -------------------------------------------
# start_server NAME INDEX — start NAME pinned to $SERVER_CPU, without CAP_SYS_TIME, and wait
# until it answers as it will in the measurement. Sets PID, LOG, TARGET, SNS (its netns) and
# TARGET_ARGS (what `ntp-probe bench` is given: TARGET, or --nts with the KE server and --ca).
# Returns 1 (after recording why) if it did not come up.
start_server() {
  local name=$1 conf port ready rc=0 ke_port
  LOG=$WORK/$name.r$ROUND.log SNS=''
  TARGET_ARGS=()
  local pin=(taskset -c "$SERVER_CPU")
  port=$(pick_port "$2")
  case $name in
    min)
      start_bg "" "$LOG" "${pin[@]}" "$MIN" "127.0.0.1:$port"
      PID=$BG_PID
      wait_until 10 "$PID" grep -q '^listening on' "$LOG" || rc=$?
      ready='r.get("stratum") == 1 and r.get("leap") == 0' ;;
    ntp-server)
      start_bg "" "$LOG" "${pin[@]}" "$SERVER" --listen "127.0.0.1:$port" --leap 0
      PID=$BG_PID
      wait_until 10 "$PID" grep -q '^NTP server listening on' "$LOG" || rc=$?
      ready='r.get("stratum") == 1 and r.get("leap") == 0' ;;
    chronyd)
      # As start_chronyd in lib.sh, but `allow 127/8`: the load comes from 127.0.0.1..N.
      conf=$WORK/chronyd.conf
      chronyd_conf "$conf" "$port" 127/8
      start_bg "" "$LOG" "${pin[@]}" "$CHRONYD" -x -d -u root -f "$conf"
      PID=$BG_PID
      wait_until 10 "$PID" udp_bound "" "$port" "$PID" || rc=$?
      ready='r.get("stratum") == 8 and r.get("leap") == 0' ;;
    ntp-server-nts)
      ke_port=$(pick_port "$(( $2 + 20 ))")
      start_bg "" "$LOG" "${pin[@]}" "$SERVER" --listen "127.0.0.1:$port" --leap 0 \
        --nts-cert "$WORK/cert.pem" --nts-key "$WORK/key.pem" --nts-port "$ke_port"
      PID=$BG_PID
      wait_until 10 "$PID" grep -q '^NTS-KE server listening on' "$LOG" || rc=$?
      TARGET_ARGS=(--nts "127.0.0.1:$ke_port" --ca "$WORK/cert.pem")
      ready='r.get("stratum") == 1 and r.get("leap") == 0' ;;
    chronyd-nts)
      # chronyd as above, with its NTS server (ntsserverkey/ntsservercert, as its documentation
      # shows); its NTS-KE helper process does key establishment, the main process the replies.
      ke_port=$(pick_port "$(( $2 + 20 ))")
      conf=$WORK/chronyd.conf
      chronyd_conf "$conf" "$port" 127/8 "ntsserverkey $WORK/key.pem" "ntsservercert $WORK/cert.pem" \
        "ntsport $ke_port" "ntsdumpdir $WORK"
      start_bg "" "$LOG" "${pin[@]}" "$CHRONYD" -x -d -u root -f "$conf"
      PID=$BG_PID
      wait_until 10 "$PID" udp_bound "" "$port" "$PID" || rc=$?
      [[ $rc == 0 ]] && { wait_until 10 "$PID" tcp_listening "$ke_port" || rc=$?; }
      TARGET_ARGS=(--nts "127.0.0.1:$ke_port" --ca "$WORK/cert.pem")
      ready='r.get("stratum") == 8 and r.get("leap") == 0' ;;
    ntpsec)
      # As start_ntpsec in lib.sh, but all of 127/8 unrestricted (not `limited`): the load
      # comes from 127.0.0.1..N and must not be rate-limited.
      conf=$WORK/ntpsec.conf port=123 SNS=$NS
      ntpsec_conf "$conf" "127.0.0.0 mask 255.0.0.0"
      start_bg "$NS" "$LOG" "${pin[@]}" "$NTPD" -n -c "$conf" -p "$WORK/ntpsec.pid"
      PID=$BG_PID
      wait_until 10 "$PID" udp_bound "$NS" 123 "$PID" || rc=$?
      # Stratum 8 once it has selected its LOCAL refclock; LI stays 3 (see start_ntpsec).
      ready='r.get("stratum") == 8' ;;
  esac
  TARGET=127.0.0.1:$port
  [[ ${#TARGET_ARGS[@]} -gt 0 ]] || TARGET_ARGS=("$TARGET")
  if [[ $rc == 0 ]]; then
    probe_wait 40 "$PID" "$SNS" "$TARGET" "$ready" || rc=$?
  fi
  [[ $rc == 0 ]] && return 0
  stop_pid "$PID"
  show_log "$name, exit $STOP_RC" "$LOG" >&2
  if [[ $rc == 2 ]]; then
    failed "round $ROUND: $name exited (status $STOP_RC) before it served"
  else
    failed "round $ROUND: $name did not bind and answer within the deadline (waited for: $ready)"
  fi
  return 1
}

# shellcheck disable=SC2317  # called through wait_until
tcp_listening() { [[ -n $(ss -Htln "sport = :$1" 2> /dev/null) ]]; }

# stop_server NAME — SIGTERM (5 s, then SIGKILL). Ours must exit 0; a daemon must still have
# been running.
stop_server() {
  local alive=yes
  kill -0 "$PID" 2> /dev/null || alive=no
  stop_pid "$PID"
  [[ -n $SNS ]] && netns_reap "$SNS"
  if [[ $alive == no ]]; then
    show_log "$1 (exited during the measurement), exit $STOP_RC" "$LOG" >&2
    failed "round $ROUND: $1 exited during the measurement (status $STOP_RC)"
  elif [[ $1 == min || $1 == ntp-server* ]] && [[ $STOP_RC != 0 ]]; then
    show_log "$1, exit $STOP_RC after SIGTERM" "$LOG" >&2
    failed "round $ROUND: $1 did not exit cleanly on SIGTERM (status $STOP_RC)"
  fi
  return 0
}

# measure NAME KIND OPTION... — one `ntp-probe bench` pinned to $LOAD_CPU (in the server's
# netns), JSON in $WORK/NAME.rROUND.KIND.json, stderr beside it.
measure() {
  local name=$1 kind=$2 secs rc=0 out
  shift 2
  out=$WORK/$name.r$ROUND.$kind
  secs=$(awk -v d="$DURATION" -v k="$kind" -v r="$RAMP_BUDGET" 'BEGIN { print int((k == "ramp" ? r * 2 : d) + 20) }')
  peer_cmd "$SNS" taskset -c "$LOAD_CPU" "$PROBE" bench "${TARGET_ARGS[@]}" --source-addresses "$SOURCE_ADDRESSES" --format json "$@"
  show_cmd "${CMD_LINE[@]}" >> "$RUNLOG"
  # In the background and registered with lib.sh's cleanup, so that a signal to this script
  # ends the run at once (a trap waits for a foreground command) and stops the load with it.
  timeout -k 2 "$secs" "${CMD_LINE[@]}" > "$out.json" 2> "$out.err" < /dev/null &
  local pid=$! keep=() p
  INTEROP_PIDS+=("$pid")
  wait "$pid" || rc=$?
  for p in "${INTEROP_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  INTEROP_PIDS=("${keep[@]}")   # reaped: never signalled again
  echo "$rc" > "$out.rc"
  if [[ $rc != 0 ]]; then
    sed 's/^/    /' "$out.err" >&2
    failed "round $ROUND: $name: ntp-probe bench $kind exited with status $rc$([[ $rc == 124 ]] && echo " (timed out after $secs s)")"
  fi
}

# ---- The rounds ----------------------------------------------------------------------------
echo "server benchmark: ${SERVERS[*]}; $ROUNDS round(s), ${DURATION} s per measurement, server on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
echo "details: $WORK (run.log: every command)"
for (( ROUND = 1; ROUND <= ROUNDS; ROUND++ )); do
  for i in "${!SERVERS[@]}"; do
    name=${SERVERS[i]}
    echo "round $ROUND/$ROUNDS: $name"
    start_server "$name" "$(( i + 1 ))" >> "$RUNLOG" || continue
    measure "$name" ramp --ramp --duration "$RAMP_BUDGET"
    measure "$name" saturation --outstanding 256 --duration "$DURATION" --server-pid "$PID"
    measure "$name" latency --rate 10000 --duration "$DURATION"
    stop_server "$name" >> "$RUNLOG"
    "$PY" - "$WORK/$name.r$ROUND" <<'PY' || true
import json, sys
def load(kind):
    try:
        with open(sys.argv[1] + "." + kind + ".json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
r, s, l = load("ramp"), load("saturation"), load("latency")
def k(v): return "-" if v is None else "%.0f k/s" % (v / 1e3)
def us(v): return "-" if v is None else "%.1f" % v
print("  max rate %s, saturation %s at %s us CPU/reply, 10k/s: rtt p50 %s p99 %s us, T3-T2 p50 %s us"
      % (k(r.get("max_rate")), k(s.get("valid_per_s")), us(s.get("server_cpu_per_reply_us")),
         us((l.get("rtt_us") or {}).get("p50")), us((l.get("rtt_us") or {}).get("p99")),
         us((l.get("server_us") or {}).get("p50"))))
PY
  done
done

# ---- The table and the targets -------------------------------------------------------------
versions=()
for s in "${SERVERS[@]}"; do versions+=("$s=$(version_of "$s")"); done
"$PY" - "$WORK" "$ROUNDS" "$DURATION" "$COMMAND_LINE" "${JSON_OUT:-}" "$(IFS=,; echo "${SERVERS[*]}")" \
    "$(printf '%s\n' "${NOTES[@]+"${NOTES[@]}"}")" \
    "server pinned to CPU $SERVER_CPU, ntp-probe bench to CPU $LOAD_CPU, $SOURCE_ADDRESSES source addresses; ramp: open loop, < 1 % loss, at most $RAMP_BUDGET s of steps; saturation: 256 outstanding, $DURATION s; latency: 10,000/s, $DURATION s" \
    "${versions[@]}" <<'PY'
import json, os, statistics, sys, time

work, rounds, duration, command, json_out, servers, notes, setup = sys.argv[1:9]
rounds = int(rounds)
servers = servers.split(",")
versions = dict(a.split("=", 1) for a in sys.argv[9:])
KINDS = ("ramp", "saturation", "latency")

def load(name, r, kind):
    base = "%s/%s.r%d.%s" % (work, name, r, kind)
    try:
        with open(base + ".json") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        doc = None
    try:
        with open(base + ".rc") as f:
            rc = int(f.read())
    except (OSError, ValueError):
        rc = None
    return doc, rc

raw = {s: [{kind: load(s, r, kind) for kind in KINDS} for r in range(1, rounds + 1)] for s in servers}

def get(doc, *path):
    for p in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(p)
    return doc

# The figures per server and round: None where the measurement failed.
FIELDS = {
    "max_rate": ("ramp", ("max_rate",)),
    "saturation": ("saturation", ("valid_per_s",)),
    "cpu_us": ("saturation", ("server_cpu_per_reply_us",)),
    "rtt_p50": ("latency", ("rtt_us", "p50")),
    "rtt_p99": ("latency", ("rtt_us", "p99")),
    "t32_p50": ("latency", ("server_us", "p50")),
}
def value(s, r, field):
    kind, path = FIELDS[field]
    doc, rc = raw[s][r][kind]
    if rc != 0 or doc is None:
        return None
    v = get(doc, *path)
    if field == "saturation" and not v:
        return None
    return v

def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None

def med(s, field):
    return median(value(s, r, field) for r in range(rounds))

def paired(s, ref, field, op):
    """Median over rounds of op(server's figure, reference's figure in the same round)."""
    if s not in raw or ref not in raw:
        return None
    out = []
    for r in range(rounds):
        a, b = value(s, r, field), value(ref, r, field)
        if a is not None and b not in (None, 0):
            out.append(op(a, b))
    return median(out)
ratio = lambda a, b: a / b
delta = lambda a, b: a - b

def generator_limited(s):
    return any(get(raw[s][r]["ramp"][0], "generator_limited") for r in range(rounds))

summary = {}
for s in servers:
    summary[s] = {
        "version": versions.get(s),
        "max_rate": med(s, "max_rate"),
        "max_rate_ratio": paired(s, "min", "max_rate", ratio),
        "max_rate_generator_limited": generator_limited(s),
        "saturation_valid_per_s": med(s, "saturation"),
        "saturation_ratio": paired(s, "min", "saturation", ratio),
        "cpu_per_reply_us": med(s, "cpu_us"),
        "cpu_ratio": paired(s, "min", "cpu_us", ratio),
        "rtt_p50_us": med(s, "rtt_p50"),
        "rtt_p99_us": med(s, "rtt_p99"),
        "rtt_p50_delta_vs_min_us": paired(s, "min", "rtt_p50", delta),
        "t3_t2_p50_us": med(s, "t32_p50"),
    }

def f(v, fmt):
    return "-" if v is None else fmt % v
def k(v):
    return None if v is None else v / 1e3

print()
print("server benchmark: %s" % command)
print("%s, %d round(s), median per server; ratios and deltas are medians of per-round pairs with min"
      % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), rounds))
print(setup)
head = ("server", "version", "max rate k/s", "ratio", "sat. k/s", "ratio", "CPU/reply us", "ratio",
        "RTT p50/p99 us", "p50 vs min", "T3-T2 p50 us")
rows = []
for s in servers:
    m = summary[s]
    rows.append((s, m["version"] or "-",
                 f(k(m["max_rate"]), "%.1f") + ("*" if m["max_rate"] and m["max_rate_generator_limited"] else ""),
                 f(m["max_rate_ratio"], "%.2f"),
                 f(k(m["saturation_valid_per_s"]), "%.1f"),
                 f(m["saturation_ratio"], "%.2f"),
                 f(m["cpu_per_reply_us"], "%.2f"),
                 f(m["cpu_ratio"], "%.2f"),
                 "%s / %s" % (f(m["rtt_p50_us"], "%.1f"), f(m["rtt_p99_us"], "%.1f")),
                 f(m["rtt_p50_delta_vs_min_us"], "%+.1f"),
                 f(m["t3_t2_p50_us"], "%.1f")))
widths = [max(len(str(x[i])) for x in [head] + rows) for i in range(len(head))]
for line in [head] + rows:
    print("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
if any(summary[s]["max_rate_generator_limited"] for s in servers):
    print("* the generator could send no faster in at least one round: a lower bound")
for s in servers:
    per = []
    for r in range(rounds):
        per.append("%s/%s/%s" % (f(k(value(s, r, "max_rate")), "%.0f"), f(k(value(s, r, "saturation")), "%.0f"),
                                 f(value(s, r, "cpu_us"), "%.2f")))
    print("  %-10s rounds (max rate k/s / sat. k/s / CPU us): %s" % (s, ", ".join(per)))
for line in filter(None, notes.split("\n")):
    print("note: " + line)

# The targets of issue #6, for ntp-server.
targets = []
def target(text, value_text, ok):
    targets.append({"target": text, "measured": value_text, "met": ok})
ns, ch = (summary.get(s, {}) for s in ("ntp-server", "chronyd"))
def both(a, b, limit):
    return None if a is None or b is None else a >= limit and b >= limit
a, b = ns.get("max_rate_ratio"), ns.get("saturation_ratio")
target("ntp-server rate >= 0.9 x the minimal responder's (max rate and saturation)",
       "max rate %s, saturation %s" % (f(a, "%.2f"), f(b, "%.2f")), both(a, b, 0.9))
a, b = paired("ntp-server", "chronyd", "max_rate", ratio), paired("ntp-server", "chronyd", "saturation", ratio)
target("ntp-server rate >= 1.3 x chronyd's (max rate and saturation)",
       "max rate %s, saturation %s" % (f(a, "%.2f"), f(b, "%.2f")), both(a, b, 1.3))
c = ns.get("cpu_per_reply_us")
target("ntp-server CPU per reply <= 4 us", f(c, "%.2f us"), None if c is None else c <= 4)
d = ns.get("rtt_p50_delta_vs_min_us")
target("at 10k/s, ntp-server RTT p50 <= the minimal responder's + 5 us", f(d, "%+.1f us"), None if d is None else d <= 5)
p = ns.get("rtt_p99_us")
target("at 10k/s, ntp-server RTT p99 < 100 us", f(p, "%.1f us"), None if p is None else p < 100)
a, b = ns.get("t3_t2_p50_us"), ch.get("t3_t2_p50_us")
target("ntp-server T3-T2 p50 < chronyd's", "%s vs %s us" % (f(a, "%.1f"), f(b, "%.1f")),
       None if a is None or b is None else a < b)
a, b = paired("ntp-server-nts", "chronyd-nts", "max_rate", ratio), paired("ntp-server-nts", "chronyd-nts", "saturation", ratio)
c, d = paired("ntp-server-nts", "ntp-server", "cpu_us", ratio), paired("chronyd-nts", "chronyd", "cpu_us", ratio)
if any(v is not None for v in (a, b, c, d)):
    print("NTS: ntp-server-nts / chronyd-nts: max rate %s, saturation %s; CPU per reply, NTS / plain: ntp-server %s, chronyd %s"
          % (f(a, "%.2f"), f(b, "%.2f"), f(c, "%.2f"), f(d, "%.2f")))
    summary["nts_ratios"] = {"max_rate_vs_chronyd": a, "saturation_vs_chronyd": b,
                             "cpu_nts_over_plain_ntp_server": c, "cpu_nts_over_plain_chronyd": d}
print("targets (issue #6):")
for t in targets:
    verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
    print("  %-72s %-13s (%s)" % (t["target"], verdict, t["measured"]))

if json_out:
    doc = {
        "command": command, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": rounds, "duration_s": float(duration), "servers": servers,
        "summary": summary, "targets": targets, "notes": list(filter(None, notes.split("\n"))),
        "raw": {s: [{kind: {"exit": raw[s][r][kind][1], "result": raw[s][r][kind][0]} for kind in KINDS}
                    for r in range(rounds)] for s in servers},
    }
    with open(json_out, "w") as out:
        json.dump(doc, out, indent=1)
        out.write("\n")
    print("raw results: " + json_out)
PY

if [[ ${#FAILURES[@]} -gt 0 ]]; then
  echo "server_bench.sh: ${#FAILURES[@]} failure(s):" >&2
  printf '  %s\n' "${FAILURES[@]}" >&2
  exit 1
fi
exit 0
