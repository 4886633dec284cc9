#!/usr/bin/env bash
# captures/record.sh — make every recording in captures/ again (needs root).
#
#   sudo captures/record.sh [--build DIR] [NAME-GLOB...]
#
# NAME-GLOB picks recordings by name (without .pcap), e.g. 'chronyd-*' or
# ntp-server-duplicate-reply; none: all of them but ntp-server-garbage-reply, whose bytes
# are random on every run (name it to record it, then reason its sidecar again).
# --build: the build tree holding ntp-server, ntp-probe and tests/clockcheck (default:
# build/ beside this directory; configure with tests on and build first). The real daemons and
# clients come from scripts/fetch-peers.sh (Debian 12, unpacked under BUILD/peers, never installed).
#
# Every recording is made the way the interop tests run peers (tests/interop/lib.sh, sourced
# here): in a private network namespace of its own, on its loopback, every daemon and client
# without CAP_SYS_TIME (setpriv), each wait bounded, every process stopped by its PID and the
# namespaces deleted on exit; the clock is checked before and after and the run fails if it
# moved. dumpcap captures all UDP on that loopback (only our processes live there) from just
# before the client starts to just after it ends, as pcap; the server is started and, where it
# needs time to synchronise to its own clock, waited for before the capture starts, so a
# capture holds the client's traffic only.
#
# What is recorded (one capture each, captures/NAME.pcap):
#   SERVER-CLIENT.pcap     a real daemon (chronyd, ntpsec ntpd, openntpd) on 127.0.0.1:123
#                          queried by a real client: ntpdig -p 3, ntpdate -q (one sample),
#                          chronyd -Q (iburst, print once, never touches the clock)
#   ntp-server-FAULT.pcap  our ntp-server with --misbehave FAULT queried by
#                          `ntp-probe query -c 3 -i 0.1`, plus, for the faults that only show
#                          on particular requests, those requests (ntp-probe --case runs, or
#                          `query --ntp-version 3`); ntp-server-baseline.pcap: no fault
#
# Each capture's sidecar, captures/NAME.expected, holds its provenance line and its expected
# verdicts. This script rewrites the provenance line only; the verdicts are reasoned by hand
# (captures/README.md) and a new recording gets a sidecar without them, which fails its test
# until they are written. At the end every recording made is checked against its sidecar
# (captures/check.py); a difference is shown and the script exits 1.
# Exit codes: 0 recorded and matching, 1 failed or differs, 2 usage, 77 cannot run here.
set -euo pipefail

CAPTURES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$CAPTURES_DIR")

usage() { sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

BUILD=$REPO/build
GLOBS=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --build) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; BUILD=$(cd "$2" && pwd); shift 2 ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "record.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) GLOBS+=("$1"); shift ;;
    esac
done
[[ $EUID == 0 ]] || { echo "record.sh: needs root (network namespaces, port 123, capturing on lo)" >&2; exit 2; }

# shellcheck source=../tests/interop/lib.sh
source "$REPO/tests/interop/lib.sh"
interop_init captures.record --server "$BUILD/server/ntp-server" --probe "$BUILD/probe/ntp-probe" \
    --clockcheck "$BUILD/tests/clockcheck" --peers "$BUILD/peers" --work "$BUILD/captures-record"
need server probe clockcheck peers work
DUMPCAP=$(command -v dumpcap) || fail "dumpcap not found (Debian: wireshark-common)"
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || fail "$PYTHON not found (captures/check.py needs it)"
fetch_peers

TODAY=$(date -u +%Y-%m-%d)
DUMPCAP_VERSION=$("$DUMPCAP" --version | sed -n '1s/^Dumpcap (Wireshark) \([^ ]*\).*/\1/p')
NTPKIT_VERSION="ntpkit $(sed -n 's/^project(ntpkit VERSION \([^ ]*\).*/\1/p' "$REPO/CMakeLists.txt")"
if rev=$(git -C "$REPO" describe --always --dirty 2> /dev/null); then NTPKIT_VERSION+=" (git $rev)"; fi
HOW="recorded $TODAY by captures/record.sh: dumpcap $DUMPCAP_VERSION on lo of a private network namespace, server on 127.0.0.1:123, no CAP_SYS_TIME"
RECORDED=()

# Recordings whose bytes are random on every run (the garbage comes from getrandom): made only
# when asked for by name or glob, since each new one needs its sidecar reasoned again.
RANDOM_RECORDINGS=(ntp-server-garbage-reply)

# wanted NAME — NAME is asked for (no globs: everything but RANDOM_RECORDINGS).
wanted() {
    local g
    if [[ ${#GLOBS[@]} == 0 ]]; then
        [[ " ${RANDOM_RECORDINGS[*]} " != *" $1 "* ]] && return 0
        say "not recording $1 again: its bytes are random on every run; name it to record it (then reason its sidecar again)"
        return 1
    fi
    for g in "${GLOBS[@]}"; do
        # shellcheck disable=SC2053  # a glob on purpose
        [[ $1 == $g ]] && return 0
    done
    return 1
}

# netns_drop NS — done with a namespace from netns_create: end what runs in it, delete it, and
# take it off the list the EXIT trap works through.
netns_drop() {
    local keep=() n
    netns_reap "$1"
    ip netns del "$1" 2> /dev/null || echo "$TEST_NAME: warning: could not delete netns $1" >&2
    for n in "${INTEROP_NETNS[@]}"; do [[ $n == "$1" ]] || keep+=("$n"); done
    INTEROP_NETNS=("${keep[@]}")
}

# capture_start NS NAME — dumpcap on NS's loopback into $WORK/NAME.pcap; returns once it
# captures.
capture_start() {
    CAP_NAME=$2
    CAP_FILE=$WORK/$2.pcap
    CAP_LOG=$WORK/$2.dumpcap.log
    rm -f "$CAP_FILE"
    start_bg "$1" "$CAP_LOG" "$DUMPCAP" -q -i lo -f udp -P -a duration:120 -w "$CAP_FILE"
    CAP_PID=$BG_PID
    local rc=0
    wait_until 10 "$CAP_PID" grep -q '^Capturing on' "$CAP_LOG" || rc=$?
    if [[ $rc != 0 ]]; then
        stop_pid "$CAP_PID"
        show_log "dumpcap, exit $STOP_RC" "$CAP_LOG"
        fail "dumpcap did not start capturing on lo in $1"
    fi
    sleep 0.3
}

# capture_stop PROVENANCE — let the last replies land, stop dumpcap (SIGINT: it writes what
# it has and its counters), check that it dropped nothing, and install the capture as
# captures/NAME.pcap with PROVENANCE in its sidecar.
capture_stop() {
    local i packets
    sleep 0.5
    kill -INT "$CAP_PID" 2> /dev/null || true
    for (( i = 0; i < 100; i++ )); do kill -0 "$CAP_PID" 2> /dev/null || break; sleep 0.1; done
    stop_pid "$CAP_PID"
    show_log "dumpcap, exit $STOP_RC" "$CAP_LOG"
    [[ $STOP_RC == 0 ]] || fail "dumpcap ended with status $STOP_RC"
    grep -q "received/dropped on interface 'Loopback: lo': [0-9]*/0 " "$CAP_LOG" ||
        fail "dumpcap dropped packets (see above); not installing $CAP_NAME.pcap"
    packets=$(tr '\r' '\n' < "$CAP_LOG" | sed -n 's/^Packets captured: \([0-9]*\)$/\1/p')
    [[ ${packets:-0} -gt 0 ]] || fail "nothing captured for $CAP_NAME"
    install -m 644 "$CAP_FILE" "$CAPTURES_DIR/$CAP_NAME.pcap"
    set_provenance "$CAPTURES_DIR/$CAP_NAME.expected" "$1"
    RECORDED+=("$CAP_NAME")
    say "$CAP_NAME.pcap: $packets packets"
}

# set_provenance SIDECAR TEXT — the sidecar's provenance line becomes TEXT; a new sidecar gets
# that line and no verdicts (its test fails until they are reasoned and written).
set_provenance() {
    local file=$1 text=$2 base name
    base=$(basename "$file")
    name=$(basename "$file" .expected)
    if [[ -f $file ]] && grep -q '^provenance:' "$file"; then
        TEXT="provenance: $text" awk '/^provenance:/ { print ENVIRON["TEXT"]; next } { print }' "$file" > "$file.new"
        mv "$file.new" "$file"
    else
        {
            echo "# $base: the expected verdicts on $name.pcap (format: README.md)"
            echo "provenance: $text"
            echo "# NOT YET REASONED: write the expected verdicts (exit_code, counts, findings per rule),"
            echo "# derived from what this server and client do, not copied from ntp-probe replay."
        } > "$file"
        echo "$TEST_NAME: new sidecar $file: its expected verdicts are still to be written"
    fi
    chmod 644 "$file"
}

# ---- Real daemons with real clients ------------------------------------------------------

# start_chronyd_123 NS — chronyd -x serving its local clock at stratum 8 on 127.0.0.1:123 in
# netns NS. lib.sh's start_chronyd serves a high port on the host's loopback (for our probe);
# ntpdig and ntpdate only ask port 123, so here chronyd gets the same configuration with port
# 123, in the namespace. Sets CHRONYD_PID, CHRONYD_LOG.
start_chronyd_123() {
    local conf=$WORK/chronyd-server.conf
    CHRONYD_LOG=$WORK/chronyd-server.log
    cat > "$conf" <<CONF
local stratum 8
allow 127.0.0.1
port 123
bindaddress 127.0.0.1
cmdport 0
bindcmdaddress /
pidfile $WORK/chronyd-server.pid
driftfile $WORK/chronyd-server.drift
CONF
    echo "chronyd.conf:"; sed 's/^/    /' "$conf"
    start_bg "$1" "$CHRONYD_LOG" "$CHRONYD" -x -d -u root -f "$conf"
    CHRONYD_PID=$BG_PID
    daemon_wait_bound chronyd "$CHRONYD_PID" "$CHRONYD_LOG" "$1" 123 "$CHRONYD_PID"
}

# run_client NS CLIENT — one short client run against 127.0.0.1:123; sets CLIENT_TEXT (what
# ran, for the provenance line). The client's verdict on the server does not matter here (an
# unsynchronised server is rejected, which is recorded all the same); a hang does.
run_client() {
    local ns=$1 client=$2 rc=0 log=$WORK/$CAP_NAME.client.log conf=$WORK/chronyd-client.conf
    case $client in
        ntpdig)
            run_fg 20 "$ns" "$log" "$NTPDIG" -j -p 3 -t 2 127.0.0.1 || rc=$?
            CLIENT_TEXT="ntpsec-ntpdig $(peer_version ntpsec-ntpdig) (ntpdig -j -p 3 -t 2 127.0.0.1)" ;;
        ntpdate)
            run_fg 20 "$ns" "$log" "$NTPDATE" -q 127.0.0.1 || rc=$?
            CLIENT_TEXT="ntpsec-ntpdate $(peer_version ntpsec-ntpdate) (ntpdate -q 127.0.0.1, ntpsec's wrapper: one ntpdig -t 1 sample)" ;;
        chronyd)
            # iburst asks every 2 s: requests at about 0, 2 and 4 s; against chronyd -Q prints
            # after the third answer (about 4.1 s), against an unsynchronised server it keeps
            # asking until -t ends it: 3 requests either way, with about 1 s to spare each side.
            printf 'server 127.0.0.1 iburst\npidfile %s\ncmdport 0\nbindcmdaddress /\n' "$WORK/chronyd-client.pid" > "$conf"
            run_fg 20 "$ns" "$log" "$CHRONYD" -Q -x -u root -t 5 -f "$conf" || rc=$?
            CLIENT_TEXT="chrony $(peer_version chrony) (chronyd -Q -x -t 5, 'server 127.0.0.1 iburst')" ;;
    esac
    [[ $rc != 124 ]] || fail "$client did not end within its time limit"
    echo "$client exit status: $rc"
}

# record_daemon DAEMON — start DAEMON in a namespace of its own, wait until it serves as the
# interop suites expect it to, then record each client against it.
record_daemon() {
    local daemon=$1 client ns pid log label version ready any=no rc=0
    for client in ntpdig ntpdate chronyd; do wanted "$daemon-$client" && any=yes; done
    [[ $any == yes ]] || return 0
    netns_create "rec-$daemon"
    ns=$NETNS
    case $daemon in
        chronyd)
            start_chronyd_123 "$ns"
            pid=$CHRONYD_PID log=$CHRONYD_LOG label=chronyd
            version="chrony $(peer_version chrony) (Debian 12; chronyd -x, 'local stratum 8', no sources)"
            ready='r.get("stratum") == 8 and r.get("leap") == 0' ;;
        ntpsec)
            start_ntpsec "$ns"
            pid=$NTPSEC_PID log=$NTPSEC_LOG label="ntpsec ntpd"
            version="ntpsec $(peer_version ntpsec) (Debian 12; ntpd -n, LOCAL refclock stratum 7 prefer, 'disable ntp', 'disable kernel')"
            ready='r.get("stratum") == 8 and (r.get("root_distance_s") or 99) < 0.1' ;;
        openntpd)
            start_openntpd "$ns"
            pid=$OPENNTPD_PID log=$OPENNTPD_LOG label=openntpd
            version="openntpd $(peer_version openntpd) (Debian 12; ntpd -d, 'listen on 127.0.0.1', no servers, unsynchronised)"
            ready='True' ;;
    esac
    probe_wait 40 "$pid" "$ns" 127.0.0.1:123 "$ready" || rc=$?
    if [[ $rc != 0 ]]; then
        stop_daemon "$pid" "$label" "$log"
        fail "$label did not serve as expected within 40 s (waited for: $ready)"
    fi
    for client in ntpdig ntpdate chronyd; do
        wanted "$daemon-$client" || continue
        capture_start "$ns" "$daemon-$client"
        run_client "$ns" "$client"
        capture_stop "server $version; client $CLIENT_TEXT; $HOW"
        kill -0 "$pid" 2> /dev/null || { stop_daemon "$pid" "$label" "$log"; fail "$label exited during $daemon-$client"; }
    done
    stop_daemon "$pid" "$label" "$log"
    netns_drop "$ns"
}

# ---- ntp-server in each misbehaviour -----------------------------------------------------

# The recordings of our server, from its own catalogue (`ntp-server --list-misbehaviours --format
# tsv`: name, example values, the cases that catch it, effect): NAME, the --misbehave value (-
# for none) and the requests that follow the three plain queries every one of them starts with:
#   -             nothing more
#   case:ID,...   ntp-probe --case ID runs, one after the other, no resends: the exact stimuli
#                 of the cases the catalogue names
# A misbehaviour that takes a value is recorded once per example value (wrong-mode-3, -5).
MISBEHAVIOURS=("baseline - -")
while IFS=$'\t' read -r fault_name examples shown_by _; do
    stimulus=-
    [[ $shown_by == - ]] || stimulus="case:$shown_by"
    if [[ $examples == - ]]; then
        MISBEHAVIOURS+=("$fault_name $fault_name $stimulus")
    else
        IFS=, read -r -a values <<< "$examples"
        for value in "${values[@]}"; do MISBEHAVIOURS+=("$fault_name-$value $fault_name=$value $stimulus"); done
    fi
done < <("$ARG_SERVER" --list-misbehaviours --format tsv)
[[ ${#MISBEHAVIOURS[@]} -gt 1 ]] || fail "$ARG_SERVER --list-misbehaviours --format tsv listed nothing"

# start_server_with NS FAULT — lib.sh's start_ntp_server (127.0.0.1:123, --leap 0), with
# --misbehave FAULT: for this one start --server is a wrapper that execs ntp-server with it.
start_server_with() {
    local ns=$1 fault=$2 server=$ARG_SERVER wrapper=$WORK/ntp-server-misbehaving rc=0
    if [[ $fault != - ]]; then
        printf '#!/bin/bash\nexec %q --misbehave %q "$@"\n' "$ARG_SERVER" "$fault" > "$wrapper"
        chmod 755 "$wrapper"
        ARG_SERVER=$wrapper
    fi
    start_ntp_server "$ns" 127.0.0.1:123 || rc=$?
    ARG_SERVER=$server
    [[ $rc == 0 ]] || fail "ntp-server --misbehave $fault could not start"
}

# probe_requests NS STIMULUS — the three plain queries, then STIMULUS (see MISBEHAVIOURS);
# sets STIMULUS_TEXT. ntp-probe's verdict does not matter here, a hang does.
probe_requests() {
    local ns=$1 stimulus=$2 rc=0 log=$WORK/$CAP_NAME.probe.log ids id args=()
    STIMULUS_TEXT="ntp-probe query -c 3 -i 0.1 -t 0.5"
    run_fg 20 "$ns" "$log" "$ARG_PROBE" query 127.0.0.1 -c 3 -i 0.1 -t 0.5 || rc=$?
    [[ $rc != 124 ]] || fail "ntp-probe query hung"
    case $stimulus in
        -) ;;
        case:*)
            IFS=, read -r -a ids <<< "${stimulus#case:}"
            for id in "${ids[@]}"; do args+=(--case "$id"); done
            run_fg 30 "$ns" "$log.cases" "$ARG_PROBE" 127.0.0.1 --suite all "${args[@]}" -j 1 --retries 0 -t 0.5 --color never || rc=$?
            STIMULUS_TEXT+=", then ntp-probe 127.0.0.1 --suite all -j 1 --retries 0 -t 0.5 --case ${ids[*]}" ;;
        *) fail "unknown stimulus $stimulus" ;;
    esac
    [[ $rc != 124 ]] || fail "ntp-probe hung"
}

record_misbehaviours() {
    local line name fault stimulus ns='' what
    for line in "${MISBEHAVIOURS[@]}"; do
        read -r name fault stimulus <<< "$line"
        wanted "ntp-server-$name" || continue
        if [[ -z $ns ]]; then
            netns_create rec-ntp-server
            ns=$NETNS
        fi
        start_server_with "$ns" "$fault"
        capture_start "$ns" "ntp-server-$name"
        probe_requests "$ns" "$stimulus"
        if [[ $fault == - ]]; then what="no misbehaviour"; else what="--misbehave $fault"; fi
        capture_stop "server ntp-server of $NTPKIT_VERSION (--leap 0, $what); client ntp-probe of the same tree ($STIMULUS_TEXT); $HOW"
        kill -0 "$SERVER_PID" 2> /dev/null || fail "ntp-server --misbehave $fault exited during the recording"
        stop_ntp_server
    done
    [[ -z $ns ]] || netns_drop "$ns"
}

record_daemon chronyd
record_daemon ntpsec
record_daemon openntpd
record_misbehaviours

[[ ${#RECORDED[@]} -gt 0 ]] || fail "no recording matches: ${GLOBS[*]}"

# Every recording made against its sidecar.
bad=()
for name in "${RECORDED[@]}"; do
    "$PYTHON" "$CAPTURES_DIR/check.py" --probe "$ARG_PROBE" "$CAPTURES_DIR/$name.pcap" || bad+=("$name")
done
say "recorded ${#RECORDED[@]} captures into $CAPTURES_DIR"
[[ ${#bad[@]} == 0 ]] ||
    fail "${#bad[@]} recording(s) differ from their sidecar: ${bad[*]} (see above; a new ntp-server-garbage-reply always does: reason its sidecar again)"
