#!/usr/bin/env bash
# interop.client-test — `ntp-probe client-test` against real clients: chronyd -Q in its
# print-only mode (-Q -x, no upstream but the scenario server, control sockets off) and as a
# daemon client (--daemon: started once, -d -x, the scenarios served in turn), Nagios''
# check_ntp_time (monitoring-plugins-basic), rdate -n -p (print only), a python3-ntplib
# one-liner, and ntpsec's ntpdig (no -s/-S: it only reports), which asks port 123 only: it runs
# with --netns (server and client in a private network namespace); and systemd-timesyncd, a
# daemon that asks port 123 only, with --netns and, in a private mount namespace of its own, a
# timesyncd.conf naming the scenario server and a state directory under the work dir, run as
# nobody (so it never tries to keep CAP_SYS_TIME): its clock_adjtime() fails, it logs the rest. Every client runs without CAP_SYS_TIME; the clock is checked afterwards. The
# outcomes, scenario by scenario, are those recorded in tests/interop/expected/client.NAME.txt;
# what each non-pass means is in docs/interop.md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.client-test "$@"
need probe clockcheck peers work
fetch_peers
[[ -x ${CHECK_NTP_TIME:-} && -x ${RDATE:-} ]] || skip "the peers cache has no check_ntp_time or rdate (re-run scripts/fetch-peers.sh)"
COMPARE=(/usr/bin/python3 "$INTEROP_REPO/tests/interop/compare_outcomes.py")

# judge NAME ADAPTER SECONDS [PROBE-OPTION...] -- CMD... — client-test of one client, outcomes
# against the record.
judge() {
    local name=$1 adapter=$2 secs=$3 rc=0 expected ns=()
    shift 3
    while [[ $1 != -- ]]; do ns+=("$1"); shift; done
    shift
    expected=$INTEROP_REPO/tests/interop/expected/client.$name.txt
    run_fg 400 "" "$WORK/$name.txt" "$ARG_PROBE" client-test --adapter "$adapter" -t "$secs" ${ns[@]+"${ns[@]}"} \
        --json "$WORK/$name.json" --color never -- "${PEER_ENV[@]}" "${NOCAP[@]}" "$@" || rc=$?
    [[ $rc == 0 || $rc == 1 ]] || { sed 's/^/    /' "$WORK/$name.txt" | tail -20; fail "client-test of $name exited $rc"; }
    echo "  $name (exit $rc):"
    "${COMPARE[@]}" table "$WORK/$name.json" | sed 's/^/    /' || true
    outcomes_as_recorded "$expected" "$WORK/$name.json" "client.$name" \
        "ntp-probe client-test --adapter $adapter against $name: one line per scenario, 'CASE-ID OUTCOME'." \
        "Regenerate: UPDATE_EXPECTED=1 ctest --test-dir build -R '^interop\.client-test\$' (see README.md)"
}

judge chronyd chronyd 8 -- "$CHRONYD" -Q -x -u root -t 3 -f /dev/null \
    'server {host} port {port} iburst maxsamples 1' "pidfile $WORK/chronyd-q.pid" 'cmdport 0' 'bindcmdaddress /'
judge check_ntp_time check_ntp_time 8 -- "$CHECK_NTP_TIME" -H '{host}' -p '{port}' -t 4
judge rdate rdate 3 -- "$RDATE" -n -p -o '{port}' '{host}'
judge ntplib ntplib 8 -- /usr/bin/python3 -c \
    'import ntplib, sys; r = ntplib.NTPClient().request(sys.argv[1], port=int(sys.argv[2]), timeout=2); print("offset", r.offset)' \
    '{host}' '{port}'
judge ntpdig ntpdig 8 --netns -- "$NTPDIG" -j -t 2 '{host}'

# chronyd as a daemon client, started once (--daemon), each scenario served 5 s: -d -x, no
# upstream but the scenario server, control sockets off, its rawmeasurements log (a line for
# every reply, with the RFC 5905 tests it passed) a FIFO copied into its output. noselect: it
# measures and never adopts a scenario's clock, so an hour's offset does not carry into the
# next. The poll is pinned (minpoll = maxpoll = -4, 1/16 s) so that every scenario sees
# requests; its back-off (retry-backoff, rate-backoff) cannot show with a pinned poll and is
# judged on chronyd -Q above instead.
cdd=$WORK/chronyd-daemon
mkdir -p "$cdd"
mkfifo "$cdd/measurements.log"
judge chronyd-daemon chronyd-daemon 5 --daemon --exclude 'client/request/*-backoff' -- \
    /bin/sh -c 'cat "$0/measurements.log" & exec "$@"' "$cdd" "$CHRONYD" -d -x -u root -f /dev/null \
    'server {host} port {port} iburst minpoll -4 maxpoll -4 noselect' "pidfile $cdd/chronyd.pid" 'cmdport 0' \
    'bindcmdaddress /' "logdir $cdd" 'log rawmeasurements'

if [[ -x ${TIMESYNCD:-} ]] && ! ldd "$TIMESYNCD" | grep -q "not found"; then
    tsd=$WORK/timesyncd
    mkdir -p "$tsd/state/systemd/timesync"
    chown -R nobody:nogroup "$tsd/state/systemd/timesync"
    printf '[Time]\nNTP=127.0.0.1\nFallbackNTP=\n' > "$tsd/timesyncd.conf"
    cat > "$tsd/run.sh" <<RUN
#!/bin/bash
# In its own mount namespace: our timesyncd.conf and state directory, nothing else changed.
set -e
[[ -e /etc/systemd/timesyncd.conf ]] || { mkdir -p /etc/systemd; mount -t tmpfs tmpfs /etc/systemd; touch /etc/systemd/timesyncd.conf; }
mount --bind $tsd/timesyncd.conf /etc/systemd/timesyncd.conf
mount --bind $tsd/state /var/lib
exec setpriv --reuid=nobody --regid=nogroup --clear-groups --bounding-set=-sys_time --inh-caps=-all -- $TIMESYNCD
RUN
    chmod +x "$tsd/run.sh"
    judge timesyncd timesyncd 3 --netns -- unshare --mount --propagation private -- \
        env SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console "$tsd/run.sh"
else
    echo "  systemd-timesyncd left out: the system has no libsystemd-shared for it (the systemd package)"
fi
say "client-test against chronyd -Q, chronyd as a daemon, check_ntp_time, rdate, ntplib, ntpdig and systemd-timesyncd: the outcomes recorded"
