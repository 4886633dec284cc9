# shellcheck shell=bash disable=SC2034  # ARG_* are read by the scripts that source this
# tests/interop/lib.sh — shared by the interop tests; sourced, never run.
#
# A test script does:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   interop_init interop.NAME "$@"      # parse the options below
#   need server clockcheck peers work   # require some; make the work dir, snapshot the
#                                       # clock, set the EXIT trap, check setpriv
#   fetch_peers                         # scripts/fetch-peers.sh, cached; skips (77) on failure
#   ...
#
# Options (CMake passes them): --server FILE (ntp-server), --probe FILE (ntp-probe),
# --clockcheck FILE, --peers DIR (fetch-peers cache), --work DIR (scratch, under the build tree).
#
# Safety rules this file enforces for every test:
# - every peer, and our own server and probe, runs under $NOCAP: setpriv without CAP_SYS_TIME
#   in the bounding and inheritable sets, checked once per test and once per namespace;
# - the clock state is recorded before and after the test; a step (> 20 ms of
#   realtime - monotonic) or any change of adjtimex status/freq/offset/tick fails the test
#   even if everything else passed;
# - processes are stopped by the PID we started them with, namespaces deleted, all from the
#   EXIT trap; every wait has a deadline.
# Exit codes: 0 pass, 1 fail, 2 usage, 77 skipped (CTest SKIP_RETURN_CODE).

INTEROP_SKIP=77
INTEROP_MAX_STEP_NS=20000000
INTEROP_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NOCAP=(setpriv --bounding-set=-sys_time --inh-caps=-sys_time --)

INTEROP_PIDS=()
INTEROP_NETNS=()

say() { echo "$TEST_NAME: $*"; }
fail() { echo "$TEST_NAME: FAIL: $*" >&2; exit 1; }
skip() { echo "$TEST_NAME: SKIP: $*"; exit "$INTEROP_SKIP"; }

# show_cmd CMD... — print a command the way a shell would take it back.
show_cmd() { echo "+ $(printf '%q ' "$@")"; }

# show_log LABEL FILE — print what a process wrote, indented.
show_log() {
    echo "--- $1 ($2):"
    sed 's/^/    /' "$2" 2>/dev/null || true
    echo "---"
}

interop_init() {
    TEST_NAME=$1
    shift
    ARG_SERVER='' ARG_PROBE='' ARG_CLOCKCHECK='' ARG_PEERS='' ARG_WORK=''
    while [[ $# -gt 0 ]]; do
        [[ $# -ge 2 ]] || { echo "$TEST_NAME: option $1 needs a value" >&2; exit 2; }
        case $1 in
            --server) ARG_SERVER=$2 ;;
            --probe) ARG_PROBE=$2 ;;
            --clockcheck) ARG_CLOCKCHECK=$2 ;;
            --peers) ARG_PEERS=$2 ;;
            --work) ARG_WORK=$2 ;;
            *) echo "$TEST_NAME: unknown option $1" >&2; exit 2 ;;
        esac
        shift 2
    done
}

# need OPT... — the options this test cannot run without; also sets up the work dir,
# takes the clock snapshot and installs the cleanup trap (the clock check needs --clockcheck).
need() {
    local opt var
    for opt in "$@"; do
        var=ARG_${opt^^}
        [[ -n ${!var} ]] || { echo "$TEST_NAME: missing --$opt" >&2; exit 2; }
        case $opt in
            server | probe | clockcheck)
                [[ -x ${!var} ]] || { echo "$TEST_NAME: --$opt ${!var} is not an executable" >&2; exit 2; } ;;
        esac
    done
    [[ -n $ARG_CLOCKCHECK && -n $ARG_WORK ]] || { echo "$TEST_NAME: --clockcheck and --work are required" >&2; exit 2; }

    # One directory per test, wiped at the start and kept afterwards for post-mortems.
    WORK=$ARG_WORK/$TEST_NAME
    rm -rf "$WORK"
    mkdir -p "$WORK"

    "$ARG_CLOCKCHECK" > "$WORK/clock.before" || fail "clockcheck failed; cannot guard the clock"
    echo "clock before: $(<"$WORK/clock.before")"
    trap interop_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    check_nocap ""
}

# clock_field FILE KEY
clock_field() { sed -n "s/.*\\b$2=\\([-0-9]*\\).*/\\1/p" "$1"; }

# clock_verify — compare the snapshots; returns 1 (after saying so, loudly) if the clock moved.
clock_verify() {
    local before=$WORK/clock.before after=$WORK/clock.after key step bad=0
    "$ARG_CLOCKCHECK" > "$after" || { echo "$TEST_NAME: FAIL: clockcheck failed after the test" >&2; return 1; }
    echo "clock after:  $(<"$after")"
    step=$(( $(clock_field "$after" realtime_minus_monotonic_ns) - $(clock_field "$before" realtime_minus_monotonic_ns) ))
    if (( step > INTEROP_MAX_STEP_NS || step < -INTEROP_MAX_STEP_NS )); then
        echo "!!! $TEST_NAME: FAIL: THE SYSTEM CLOCK WAS STEPPED by $step ns during this test (realtime - monotonic moved)" >&2
        bad=1
    fi
    for key in status freq offset tick; do
        if [[ $(clock_field "$before" "$key") != "$(clock_field "$after" "$key")" ]]; then
            echo "!!! $TEST_NAME: FAIL: THE KERNEL CLOCK DISCIPLINE CHANGED during this test: adjtimex $key $(clock_field "$before" "$key") -> $(clock_field "$after" "$key")" >&2
            bad=1
        fi
    done
    return "$bad"
}

interop_cleanup() {
    local rc=$? i
    set +e
    for (( i = ${#INTEROP_PIDS[@]} - 1; i >= 0; i-- )); do
        stop_pid "${INTEROP_PIDS[i]}"
    done
    for i in "${INTEROP_NETNS[@]}"; do
        ip netns del "$i" 2> /dev/null || echo "$TEST_NAME: warning: could not delete netns $i" >&2
    done
    clock_verify || rc=1
    exit "$rc"
}

# check_nocap NS — prove that a process started through $NOCAP (in netns NS, or here when
# NS is empty) has CAP_SYS_TIME (bit 25) clear in its effective set.
check_nocap() {
    local prefix=() line
    [[ -n $1 ]] && prefix=(ip netns exec "$1")
    command -v setpriv > /dev/null || skip "setpriv not found; cannot run peers without CAP_SYS_TIME"
    line=$("${prefix[@]}" "${NOCAP[@]}" grep CapEff /proc/self/status) ||
        skip "setpriv cannot drop CAP_SYS_TIME here${1:+ (netns $1)}"
    (( (0x${line##*[[:space:]]} >> 25 & 1) == 0 )) ||
        fail "CAP_SYS_TIME is still effective under setpriv${1:+ in netns $1} ($line); refusing to run peers"
}

# fetch_peers — run scripts/fetch-peers.sh (idempotent) and load the paths it wrote.
fetch_peers() {
    [[ -n $ARG_PEERS ]] || fail "fetch_peers needs --peers"
    local out
    if ! out=$("$INTEROP_REPO/scripts/fetch-peers.sh" "$ARG_PEERS" 2>&1); then
        echo "$out"
        skip "peers could not be fetched: $(tail -n 1 <<< "$out")"
    fi
    echo "$out"
    # shellcheck source=/dev/null
    source "$ARG_PEERS/peers.env"
    # A short fixed PATH: the peers' own bin dirs first (ntpdate runs `ntpdig`), then the
    # system's; ntpdig's #! is /usr/bin/python3, whatever python3 the caller's PATH has.
    PEER_ENV=(env "PATH=$PEERS_PATH:/usr/sbin:/usr/bin:/sbin:/bin" "PYTHONPATH=$PEERS_PYTHONPATH"
              "LD_LIBRARY_PATH=$PEERS_LD_LIBRARY_PATH" PYTHONDONTWRITEBYTECODE=1)
}

# netns_create NAME — a fresh network namespace with loopback up; sets NETNS. Skips (77)
# when namespaces cannot be created here.
netns_create() {
    NETNS=ntpkit-$$-$1
    command -v ip > /dev/null || skip "ip (iproute2) not found; cannot create a network namespace"
    ip netns add "$NETNS" 2> "$WORK/netns.err" ||
        skip "cannot create network namespace $NETNS: $(head -n 1 "$WORK/netns.err")"
    INTEROP_NETNS+=("$NETNS")
    ip -n "$NETNS" link set lo up || fail "cannot bring up lo in $NETNS"
    check_nocap "$NETNS"
    echo "network namespace: $NETNS"
}

# peer_cmd NS CMD... — sets CMD_LINE to CMD run in netns NS (none if empty), with the
# peers' environment, without CAP_SYS_TIME.
peer_cmd() {
    local ns=$1
    shift
    CMD_LINE=()
    [[ -n $ns ]] && CMD_LINE=(ip netns exec "$ns")
    CMD_LINE+=("${PEER_ENV[@]}" "${NOCAP[@]}" "$@")
}

# start_bg NS LOG CMD... — start CMD in the background (see peer_cmd) with stdout and
# stderr in LOG; sets BG_PID and registers it for cleanup. `ip netns exec`, env and
# setpriv all exec, so BG_PID is the daemon itself.
start_bg() {
    local ns=$1 log=$2
    shift 2
    peer_cmd "$ns" "$@"
    show_cmd "${CMD_LINE[@]}"
    "${CMD_LINE[@]}" > "$log" 2>&1 < /dev/null &
    BG_PID=$!
    INTEROP_PIDS+=("$BG_PID")
}

# run_fg SECONDS NS LOG CMD... — run CMD (see peer_cmd) in the foreground for at most
# SECONDS, output to LOG and shown; returns CMD's status (124 on timeout).
run_fg() {
    local secs=$1 ns=$2 log=$3 rc=0
    shift 3
    peer_cmd "$ns" "$@"
    show_cmd "${CMD_LINE[@]}"
    timeout -k 2 "$secs" "${CMD_LINE[@]}" > "$log" 2>&1 < /dev/null || rc=$?
    show_log "output, exit $rc" "$log"
    return "$rc"
}

# stop_pid PID — SIGTERM, up to 5 s, then SIGKILL; sets STOP_RC to its exit status.
# Only for PIDs this shell started (`wait` needs its own child); never in $(...).
stop_pid() {
    local pid=$1 i keep=()
    STOP_RC=0
    kill -0 "$pid" 2> /dev/null && kill -TERM "$pid" 2> /dev/null
    for (( i = 0; i < 50; i++ )); do
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2> /dev/null && kill -KILL "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null || STOP_RC=$?
    for i in "${INTEROP_PIDS[@]}"; do [[ $i == "$pid" ]] || keep+=("$i"); done
    INTEROP_PIDS=("${keep[@]}")
}

# wait_until SECONDS PID CMD... — poll CMD every 0.1 s until it succeeds (0), PID exits (2)
# or SECONDS pass (1).
wait_until() {
    local secs=$1 pid=$2 deadline
    shift 2
    deadline=$(( $(date +%s%N) + secs * 1000000000 ))
    while (( $(date +%s%N) < deadline )); do
        "$@" && return 0
        kill -0 "$pid" 2> /dev/null || { "$@" && return 0; return 2; }
        sleep 0.1
    done
    return 1
}

# pick_port OFFSET — a UDP port in 20000..39999 derived from our PID, not bound right now.
pick_port() {
    local port i
    for (( i = 0; i < 50; i++ )); do
        port=$(( 20000 + ($$ * 13 + $1 * 101 + i * 7) % 20000 ))
        [[ -z $(ss -Huln "sport = :$port" 2> /dev/null) ]] && { echo "$port"; return 0; }
    done
    fail "no free UDP port found"
}

# start_ntp_server NS ADDR:PORT — start our ntp-server (--leap 0) and wait for its
# "NTP server listening on" line. Sets SERVER_PID, SERVER_LOG. Returns 1 if the server
# exited (e.g. could not bind; its output is shown), fails the test if it hangs.
start_ntp_server() {
    SERVER_LOG=$WORK/ntp-server.log
    start_bg "$1" "$SERVER_LOG" "$ARG_SERVER" --listen "$2" --leap 0
    SERVER_PID=$BG_PID
    local rc=0
    wait_until 10 "$SERVER_PID" grep -q '^NTP server listening on' "$SERVER_LOG" || rc=$?
    case $rc in
        0) sed -n '/^NTP server listening on/p' "$SERVER_LOG" ;;
        2) stop_pid "$SERVER_PID"
           show_log "ntp-server exited with status $STOP_RC" "$SERVER_LOG"
           return 1 ;;
        *) show_log "ntp-server output" "$SERVER_LOG"
           fail "ntp-server did not print 'NTP server listening on' within 10 s" ;;
    esac
}

# stop_ntp_server — SIGTERM it and show what it printed (its counters). It must end
# cleanly: exit 0 (a death by the signal, 143, or by the SIGKILL after 5 s, 137, fails).
stop_ntp_server() {
    stop_pid "$SERVER_PID"
    show_log "ntp-server output, exit $STOP_RC after SIGTERM" "$SERVER_LOG"
    [[ $STOP_RC == 0 ]] || fail "ntp-server did not end cleanly on SIGTERM (exit status $STOP_RC)"
}

# abs_below VALUE LIMIT — |VALUE| < LIMIT, as decimals.
abs_below() { awk -v v="$1" -v l="$2" 'BEGIN { exit !(v < l && -v < l) }'; }
