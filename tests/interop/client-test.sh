#!/usr/bin/env bash
# interop.client-test — `ntp-probe client-test` against real clients: chronyd -Q in its
# print-only mode (-Q -x, no upstream but the scenario server, control sockets off), Nagios'
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

# judge NAME ADAPTER SECONDS [--netns] CMD... — client-test of one client, outcomes against the record.
judge() {
    local name=$1 adapter=$2 secs=$3 rc=0 expected ns=()
    shift 3
    [[ $1 == --netns ]] && { ns=(--netns); shift; }
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

judge chronyd chronyd 8 "$CHRONYD" -Q -x -u root -t 4 -f /dev/null \
    'server {host} port {port} iburst maxsamples 1' "pidfile $WORK/chronyd-q.pid" 'cmdport 0' 'bindcmdaddress /'
judge check_ntp_time check_ntp_time 8 "$CHECK_NTP_TIME" -H '{host}' -p '{port}' -t 4
judge rdate rdate 3 "$RDATE" -n -p -o '{port}' '{host}'
judge ntplib ntplib 8 /usr/bin/python3 -c \
    'import ntplib, sys; r = ntplib.NTPClient().request(sys.argv[1], port=int(sys.argv[2]), timeout=2); print("offset", r.offset)' \
    '{host}' '{port}'
judge ntpdig ntpdig 8 --netns "$NTPDIG" -j -t 2 '{host}'

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
    judge timesyncd timesyncd 3 --netns unshare --mount --propagation private -- \
        env SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console "$tsd/run.sh"
else
    echo "  systemd-timesyncd left out: the system has no libsystemd-shared for it (the systemd package)"
fi
say "client-test against chronyd -Q, check_ntp_time, rdate, ntplib, ntpdig and systemd-timesyncd: the outcomes recorded"
