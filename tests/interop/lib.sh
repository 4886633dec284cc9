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
# --clockcheck FILE, --peers DIR (fetch-peers cache), --work DIR (scratch, under the build tree),
# --peer NAME (which daemon a test parameterised by peer runs against), --suites LIST (which
# probe suites a suite test runs, comma-separated).
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
    ARG_SERVER='' ARG_PROBE='' ARG_CLOCKCHECK='' ARG_PEERS='' ARG_WORK='' ARG_PEER='' ARG_SUITES=''
    while [[ $# -gt 0 ]]; do
        [[ $# -ge 2 ]] || { echo "$TEST_NAME: option $1 needs a value" >&2; exit 2; }
        case $1 in
            --server) ARG_SERVER=$2 ;;
            --probe) ARG_PROBE=$2 ;;
            --clockcheck) ARG_CLOCKCHECK=$2 ;;
            --peers) ARG_PEERS=$2 ;;
            --work) ARG_WORK=$2 ;;
            --peer) ARG_PEER=$2 ;;
            --suites) ARG_SUITES=$2 ;;
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
        netns_reap "$i"
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

# netns_reap NS — end whatever still runs in netns NS, which this test created (a daemon's
# privilege-separated children outlive it for a moment): SIGTERM, up to 3 s, then SIGKILL.
netns_reap() {
    local pids i
    pids=$(ip netns pids "$1" 2> /dev/null) || return 0
    [[ -n $pids ]] || return 0
    echo "$TEST_NAME: processes left in netns $1: ${pids//$'\n'/ }; stopping them"
    # shellcheck disable=SC2086  # a list of PIDs
    kill -TERM $pids 2> /dev/null
    for (( i = 0; i < 30; i++ )); do
        [[ -z $(ip netns pids "$1" 2> /dev/null) ]] && return 0
        sleep 0.1
    done
    pids=$(ip netns pids "$1" 2> /dev/null)
    # shellcheck disable=SC2086
    [[ -n $pids ]] && kill -KILL $pids 2> /dev/null
    return 0
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
    start_bg "$1" "$SERVER_LOG" "$ARG_SERVER" --listen "$2" --leap 0 ${SERVER_EXTRA[@]+"${SERVER_EXTRA[@]}"}
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

# ---- Real NTP daemons as servers --------------------------------------------------------
# Each start_* below starts one daemon (fetch_peers first) serving from its own clock: no
# upstream sources, every file it writes under $WORK, no CAP_SYS_TIME ($NOCAP), and on top of
# that its clock discipline switched off where the daemon can do it. It returns once the
# daemon has bound its NTP socket and sets NAME_PID (the daemon's own PID: every wrapper
# execs), NAME_LOG (its stdout and stderr) and NAME_TARGET (ADDR:PORT to query, from the
# daemon's netns when it has one). Stop it with stop_daemon; wait for it to serve with
# probe_wait.

# peer_version PKG — the Debian version of PKG that fetch-peers.sh unpacked.
peer_version() { awk -v p="$1" '$1 == p { print $2 }' "$ARG_PEERS/versions.txt"; }

# udp_bound NS PORT [PID] — a UDP socket is bound to PORT in netns NS (here when empty),
# owned by PID when given.
udp_bound() {
    local prefix=()
    [[ -n $1 ]] && prefix=(ip netns exec "$1")
    "${prefix[@]}" ss -Hulnp "sport = :$2" 2> /dev/null | grep -q "${3:+pid=$3,}"
}

# daemon_wait_bound LABEL PID LOG NS PORT [OWNER] — wait up to 10 s for the daemon to bind;
# fails the test (with its output) if it exits or hangs.
daemon_wait_bound() {
    local label=$1 pid=$2 log=$3 ns=$4 port=$5 owner=${6-} rc=0
    wait_until 10 "$pid" udp_bound "$ns" "$port" "$owner" || rc=$?
    [[ $rc == 0 ]] && return 0
    stop_pid "$pid"
    show_log "$label, exit $STOP_RC" "$log"
    if [[ $rc == 2 ]]; then
        fail "$label exited before binding UDP port $port${ns:+ in $ns}"
    fi
    fail "$label did not bind UDP port $port${ns:+ in $ns} within 10 s"
}

# stop_daemon PID LABEL LOG — SIGTERM (see stop_pid) and show what it printed.
stop_daemon() {
    stop_pid "$1"
    show_log "$2, exit $STOP_RC after SIGTERM" "$3"
}

# chronyd_conf FILE PORT ALLOW [LINE...] — the configuration start_chronyd uses (and the server
# benchmark, with a wider ALLOW): local stratum 8 on 127.0.0.1:PORT, no sources, no command port,
# every file under $WORK; clients from ALLOW (an address or a subnet such as 127/8); each LINE
# added as it is (e.g. a ratelimit directive). Shows it.
chronyd_conf() {
    cat > "$1" <<CONF
local stratum 8
allow $3
port $2
bindaddress 127.0.0.1
cmdport 0
bindcmdaddress /
pidfile $WORK/chronyd.pid
driftfile $WORK/chronyd.drift
CONF
    local line
    for line in "${@:4}"; do echo "$line" >> "$1"; done
    echo "chronyd.conf:"; sed 's/^/    /' "$1"
}

# ntpsec_conf FILE UNLIMITED — the configuration start_ntpsec uses (see there): the LOCAL
# refclock, discipline off, files under $WORK, everyone rate-limited but ::1 and UNLIMITED
# (`127.0.0.1`, or `127.0.0.0 mask 255.0.0.0` for the server benchmark's many addresses; empty:
# Debian's lines without the 127.0.0.1 exemption, so IPv4 loopback clients are limited). Shows it.
# NTPSEC_DISCIPLINE replaces the `disable ntp` line (set it empty to leave the discipline on: its
# only source is the LOCAL refclock, the system clock itself, and without CAP_SYS_TIME every
# clock call it makes fails; with it on, ntpsec clears its leap indicator, which NTS clients need).
ntpsec_conf() {
    cat > "$1" <<CONF
refclock local stratum 7 minpoll 0 maxpoll 0 prefer
${NTPSEC_DISCIPLINE-disable ntp}
disable kernel
driftfile $WORK/ntpsec.drift
statsdir $WORK/
restrict default kod nomodify nopeer noquery limited
CONF
    [[ -n $2 ]] && echo "restrict $2" >> "$1"
    echo "restrict ::1" >> "$1"
    local line
    for line in ${NTPSEC_EXTRA[@]+"${NTPSEC_EXTRA[@]}"}; do echo "$line" >> "$1"; done
    echo "ntpsec.conf:"; sed 's/^/    /' "$1"
}

# start_chronyd — chronyd -x (never touches the clock) serving its local reference at stratum
# 8 on 127.0.0.1 and a free high port; no sources, no command port. chronyd exits ("Nothing
# to do") when it cannot bind its port, so a few ports are tried. Sets CHRONYD_PID,
# CHRONYD_PORT, CHRONYD_LOG, CHRONYD_TARGET.
# CHRONYD_ALLOW (default 127.0.0.1) and CHRONYD_EXTRA (an array of configuration lines) shape
# it further.
start_chronyd() {
    local attempt conf=$WORK/chronyd.conf rc
    CHRONYD_LOG=$WORK/chronyd.log
    for attempt in 1 2 3 4 5; do
        CHRONYD_PORT=$(pick_port "$attempt")
        chronyd_conf "$conf" "$CHRONYD_PORT" "${CHRONYD_ALLOW:-127.0.0.1}" ${CHRONYD_EXTRA[@]+"${CHRONYD_EXTRA[@]}"}
        start_bg "" "$CHRONYD_LOG" "$CHRONYD" -x -d -u root -f "$conf"
        CHRONYD_PID=$BG_PID
        rc=0
        wait_until 10 "$CHRONYD_PID" udp_bound "" "$CHRONYD_PORT" "$CHRONYD_PID" || rc=$?
        if [[ $rc == 0 ]]; then
            CHRONYD_TARGET=127.0.0.1:$CHRONYD_PORT
            return 0
        fi
        stop_pid "$CHRONYD_PID"
        show_log "chronyd (not serving on port $CHRONYD_PORT), exit $STOP_RC" "$CHRONYD_LOG"
        [[ $rc == 2 ]] || fail "chronyd did not bind 127.0.0.1:$CHRONYD_PORT within 10 s"
    done
    fail "chronyd did not start on any of 5 ports"
}

# start_ntpsec NS — ntpsec's ntpd in netns NS on 127.0.0.1:123 (ntpd has no port option).
# It serves its LOCAL refclock driver (stratum 7, so it announces 8); ntpsec selects that
# driver only when it is `prefer`red. `disable ntp` and `disable kernel` switch its clock
# discipline off: with it off ntpsec still selects the refclock, announces stratum 8 and a
# reference time, but never clears its leap indicator (LI 3) — that is what we record.
# The restrict lines are Debian's (/etc/ntpsec/ntp.conf): without `restrict 127.0.0.1`
# the default entry rate-limits (20 packets, then about 1 a second) and the suite goes
# inconclusive. Every file option points into $WORK (statsdir too: it defaults to
# /var/log/ntpsec). Sets NTPSEC_PID, NTPSEC_LOG, NTPSEC_TARGET.
# NTPSEC_UNLIMITED (default 127.0.0.1; set it empty for Debian's lines without the exemption).
start_ntpsec() {
    local ns=$1 conf=$WORK/ntpsec.conf
    NTPSEC_LOG=$WORK/ntpsec.log
    ntpsec_conf "$conf" "${NTPSEC_UNLIMITED-127.0.0.1}"
    start_bg "$ns" "$NTPSEC_LOG" "$NTPD" -n -c "$conf" -p "$WORK/ntpsec.pid"
    NTPSEC_PID=$BG_PID
    daemon_wait_bound "ntpsec ntpd" "$NTPSEC_PID" "$NTPSEC_LOG" "$ns" 123 "$NTPSEC_PID"
    NTPSEC_TARGET=127.0.0.1:123
}

# start_openntpd NS — OpenNTPD in netns NS, `listen on 127.0.0.1` (port 123 only), no
# servers and no sensors, never -s. Its privilege separation wants a user `ntpd` (chroot to
# its home, which must be root's and not group/world writable) and /var/lib/openntpd (drift
# file, control socket; compiled in). Both are provided inside a private mount namespace
# (unshare --mount --propagation private): /etc/passwd, /etc/group and /var/lib are bind
# mounts of copies built in $WORK, seen by this daemon alone; the machine is not changed.
# Sets OPENNTPD_PID, OPENNTPD_LOG, OPENNTPD_TARGET.
start_openntpd() {
    local ns=$1 dir=$WORK/openntpd conf=$WORK/openntpd.conf id=60123
    OPENNTPD_LOG=$WORK/openntpd.log
    rm -rf "$dir"
    mkdir -p "$dir/chroot" "$dir/varlib/openntpd/db" "$dir/varlib/openntpd/run"
    chmod 755 "$dir" "$dir/chroot"
    # An id neither file uses.
    while cut -d: -f3 /etc/passwd /etc/group | grep -qx "$id"; do id=$(( id + 1 )); done
    { grep -v '^ntpd:' /etc/passwd; echo "ntpd:x:$id:$id:openntpd privsep:$dir/chroot:/usr/sbin/nologin"; } > "$dir/passwd"
    { grep -v '^ntpd:' /etc/group; echo "ntpd:x:$id:"; } > "$dir/group"
    echo "listen on 127.0.0.1" > "$conf"
    echo "openntpd.conf:"; sed 's/^/    /' "$conf"
    echo "openntpd user: ntpd ($id), chroot $dir/chroot; /var/lib -> $dir/varlib (private mounts)"
    # shellcheck disable=SC2016  # expanded by the inner bash
    start_bg "$ns" "$OPENNTPD_LOG" unshare --mount --propagation private -- bash -c '
        set -e
        mount --bind "$1/passwd" /etc/passwd
        mount --bind "$1/group" /etc/group
        mount --bind "$1/varlib" /var/lib
        shift
        exec "$@"' bash "$dir" "$OPENNTPD" -d -f "$conf" -p "$dir/ntpd.pid"
    OPENNTPD_PID=$BG_PID
    # The socket belongs to the privilege-separated "ntp engine" child, not to OPENNTPD_PID.
    daemon_wait_bound openntpd "$OPENNTPD_PID" "$OPENNTPD_LOG" "$ns" 123
    OPENNTPD_TARGET=127.0.0.1:123
}

# await_serving SECONDS — probe_wait on the daemon a test started ($PID in $NS at $TARGET, until
# $READY holds); on failure it stops the daemon ($LABEL, $LOG) and fails the test.
await_serving() {
    local rc=0
    probe_wait "$1" "$PID" "$NS" "$TARGET" "$READY" || rc=$?
    [[ $rc == 0 ]] && return 0
    stop_daemon "$PID" "$LABEL" "$LOG"
    [[ $rc == 2 ]] && fail "$LABEL exited before it served"
    fail "$LABEL did not serve as expected within $1 s (waited for: $READY)"
}

# probe_wait SECONDS PID NS TARGET PYEXPR — ask TARGET (from netns NS) for the time with
# ntp-probe every 0.5 s until its reply satisfies PYEXPR, a Python expression over the
# reply's JSON object `r` (0), PID exits (2) or SECONDS pass (1). Shows the reply it
# accepted, or the last one.
# With PROBE_WAIT_SOURCE_PREFIX (e.g. 127.0.9.) each ask comes from a new address of that /24,
# so that a server's per-address rate limit is not spent before the test begins.
probe_wait() {
    local secs=$1 pid=$2 ns=$3 target=$4 expr=$5 deadline out line='no reply yet' rc asks=0
    deadline=$(( $(date +%s%N) + secs * 1000000000 ))
    while :; do
        asks=$(( asks % 250 + 1 ))
        peer_cmd "$ns" "$ARG_PROBE" query "$target" --timeout 0.5 --format json \
            ${PROBE_WAIT_SOURCE_PREFIX:+--source-address "$PROBE_WAIT_SOURCE_PREFIX$asks"}
        out=$("${CMD_LINE[@]}" 2> /dev/null) || true
        rc=0
        line=$(/usr/bin/python3 -c '
import json, sys
try:
    r = json.loads(sys.stdin.read())["replies"][-1]
except (ValueError, KeyError, IndexError):
    print("no JSON from ntp-probe query"); sys.exit(1)
if not r.get("received"):
    print("no reply"); sys.exit(1)
print("LI %s stratum %s refid %s root distance %s s" % (r.get("leap"), r.get("stratum"), r.get("refid"), r.get("root_distance_s")))
sys.exit(0 if eval(sys.argv[1], {}, {"r": r}) else 1)
' "$expr" <<< "$out") || rc=$?
        if [[ $rc == 0 ]]; then
            echo "serving: $line"
            return 0
        fi
        kill -0 "$pid" 2> /dev/null || { echo "exited; last answer: $line"; return 2; }
        (( $(date +%s%N) < deadline )) || { echo "last answer: $line"; return 1; }
        sleep 0.5
    done
}

# auth_suite NS TARGET KEYS LABEL HEADER [PROBE-OPTION...] — ntp-probe --suite auth against TARGET
# (in netns NS, or none), signed with keys 3, 2 and 1 of KEYS: each run must exit 0; the outcomes
# signed with key 3 are checked against tests/interop/expected/LABEL.txt (UPDATE_EXPECTED=1: that
# file is written, with HEADER). Appends what went wrong to the caller's `bad` array.
auth_suite() {
    local ns=$1 target=$2 keys=$3 label=$4 header=$5 id rc
    shift 5
    local expected=$INTEROP_REPO/tests/interop/expected/$label.txt
    local compare=(/usr/bin/python3 "$INTEROP_REPO/tests/interop/compare_outcomes.py")
    for id in 3 2 1; do
        rc=0
        run_fg 60 "$ns" "$WORK/suite.$id.txt" "$ARG_PROBE" --suite auth "$target" --keys "$keys" "$@" \
            --key-id "$id" --json "$WORK/suite.$id.json" --color never || rc=$?
        echo "  --suite auth signed with key $id: exit $rc"
        "${compare[@]}" table "$WORK/suite.$id.json" | sed 's/^/    /' || true
        [[ $rc == 0 ]] || bad+=("auth-suite-key-$id-exit-$rc")
    done
    if [[ -n ${UPDATE_EXPECTED:-} ]]; then   # UPDATE_EXPECTED=1: record what this run saw
        "${compare[@]}" write "$expected" "$WORK/suite.3.json" --header "$header"
    else
        "${compare[@]}" check "$expected" "$WORK/suite.3.json" --label "$label" || bad+=("auth-suite-outcomes")
    fi
}

# start_ntp_server_on_free_port — ntp-server (SERVER_EXTRA as start_ntp_server takes it) on
# 127.0.0.1 and the first of five picked high ports it can bind; sets `port`; fails the test if
# none.
start_ntp_server_on_free_port() {
    local attempt
    for attempt in 1 2 3 4 5; do
        port=$(pick_port "$attempt")
        if start_ntp_server "" "127.0.0.1:$port"; then return 0; fi
    done
    fail "ntp-server did not start on any of 5 ports"
}

# chronyd_query NAME SECONDS SERVER-LINE [CONF-LINE...] — chronyd as a print-only client (-Q, -x,
# no CAP_SYS_TIME, command sockets off, files in the work dir) of the one `server` line given,
# giving up after SECONDS (-t); sets CLIENT_RC (its exit status) and CLIENT_OFFSET (the last
# "System clock wrong by" value, or empty); its output is $WORK/NAME.out.
chronyd_query() {
    local name=$1 secs=$2 conf=$WORK/$1.conf
    shift 2
    {
        printf '%s\n' "$@"
        echo "pidfile $WORK/$name.pid"
        echo "cmdport 0"
        echo "bindcmdaddress /"
    } > "$conf"
    echo "$name.conf:"; sed 's/^/    /' "$conf"
    CLIENT_RC=0
    run_fg $(( secs + 10 )) "" "$WORK/$name.out" "$CHRONYD" -Q -x -u root -t "$secs" -f "$conf" || CLIENT_RC=$?
    CLIENT_OFFSET=$(sed -n 's/.*System clock wrong by \([-+]*[0-9.]*\) seconds.*/\1/p' "$WORK/$name.out" | tail -n 1)
}

# nts_certificate — a self-signed P-256 certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1),
# valid two days: $WORK/cert.pem and $WORK/key.pem. Skips without the openssl command.
nts_certificate() {
    command -v openssl > /dev/null || skip "the openssl command is missing (Debian package openssl)"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1" > "$WORK/openssl.log" 2>&1 ||
        { cat "$WORK/openssl.log"; fail "openssl could not make a certificate"; }
}

# nts_query NS KE PEER CHECK-ARG... — `ntp-probe query --nts KE --ca $WORK/cert.pem`, three
# requests, retried for about 15 s while the peer has no usable time yet; then
# nts_query_check.py PEER CHECK-ARG... judges the JSON (fails the test if it finds a miss).
nts_query() {
    local ns=$1 ke=$2 peer=$3 rc deadline
    shift 3
    deadline=$(( $(date +%s) + 15 ))
    while :; do
        rc=0
        run_fg 20 "$ns" "$WORK/query.json" "$ARG_PROBE" query --nts "$ke" --ca "$WORK/cert.pem" --count 3 \
            --interval 0.2 --timeout 1 --format json || rc=$?
        [[ $rc == 0 ]] && break
        (( $(date +%s) < deadline )) || fail "ntp-probe query --nts got no usable reply from $peer (exit $rc)"
        sleep 1
    done
    /usr/bin/python3 "$INTEROP_REPO/tests/interop/nts_query_check.py" "$WORK/query.json" --peer "$peer" "$@" ||
        fail "the NTS exchange with $peer is not what RFC 8915 describes (above)"
}

# nts_suites NS KE LABEL HEADER — the nts-ke (RFC 8915 §3, §4) and nts (§5) suites against the
# NTS-KE server KE (certificate $WORK/cert.pem), outcome by outcome against
# tests/interop/expected/LABEL.{nts-ke,nts}.txt; UPDATE_EXPECTED=1 records them, HEADER naming
# the peer's configuration.
nts_suites() {
    local ns=$1 ke=$2 label=$3 header=$4 suite rc expected
    local compare=(/usr/bin/python3 "$INTEROP_REPO/tests/interop/compare_outcomes.py")
    for suite in nts-ke nts; do
        expected=$INTEROP_REPO/tests/interop/expected/$label.$suite.txt
        rc=0
        run_fg 90 "$ns" "$WORK/$suite-suite.txt" "$ARG_PROBE" --suite "$suite" --nts "$ke" --ca "$WORK/cert.pem" -t 1 \
            --json "$WORK/$suite-suite.json" --color never || rc=$?
        [[ $rc == 0 || $rc == 1 ]] || fail "ntp-probe --suite $suite against $label exited $rc"
        "${compare[@]}" table "$WORK/$suite-suite.json" | sed 's/^/    /' || true
        outcomes_as_recorded "$expected" "$WORK/$suite-suite.json" "$label.$suite" \
            "ntp-probe --suite $suite -t 1 against $header: one line per case, 'CASE-ID OUTCOME'." \
            "Regenerate: UPDATE_EXPECTED=1 ctest --test-dir build -R '^interop\.nts-vs-' (see README.md)"
    done
}

# outcomes_as_recorded EXPECTED REPORT.json LABEL HEADER... — the report's outcomes, case by case,
# against the EXPECTED file (fails the test with the differences); with UPDATE_EXPECTED=1 the
# file is written instead, the HEADER lines at its top.
outcomes_as_recorded() {
    local expected=$1 report=$2 label=$3 line
    shift 3
    local compare=(/usr/bin/python3 "$INTEROP_REPO/tests/interop/compare_outcomes.py")
    if [[ -n ${UPDATE_EXPECTED:-} ]]; then
        local headers=()
        for line in "$@"; do headers+=(--header "$line"); done
        "${compare[@]}" write "$expected" "$report" "${headers[@]}"
    else
        "${compare[@]}" check "$expected" "$report" --label "$label" ||
            fail "the outcomes of $label differ from $expected (above)"
    fi
}
