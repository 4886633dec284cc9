#!/usr/bin/env bash
# interop.ntpdate — ntpsec's ntpdate (a shell wrapper that runs `ntpdig -t 1` from PATH) in
# query mode (-q) against our server, in a network namespace because it only speaks to
# port 123. Without -q the wrapper would ask ntpdig to step/slew; it runs without
# CAP_SYS_TIME regardless.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.ntpdate "$@"
need server clockcheck peers work
fetch_peers
netns_create ntpdate

start_ntp_server "$NETNS" 127.0.0.1:123 || fail "ntp-server could not start in $NETNS"

# ntpdig's text report: DATE TIME (TZ) OFFSET +/- DISTANCE HOST [IP] sSTRATUM LEAP
re='^[0-9-]+ [0-9:.]+ \([+-][0-9]+\) ([+-][0-9.]+) \+/- ([0-9.]+) 127\.0\.0\.1 s([0-9]+) ([a-z-]+)$'

# The wrapper takes one sample (its -p is gone); the offset of a single exchange is off by
# up to half its delay, and the first one from a fresh python process is slow. So, as the
# classic ntpdate did with its 4 samples: three runs, each must accept our reply, and the
# offset is judged on the run with the smallest distance (+/-).
best_dist='' offset='' stratum='' leap=''
for run in 1 2 3; do
    rc=0
    run_fg 20 "$NETNS" "$WORK/ntpdate.$run.out" "$NTPDATE" -q 127.0.0.1 || rc=$?
    [[ $rc == 0 ]] || { stop_ntp_server; fail "ntpdate -q exited with status $rc (run $run)"; }
    matched=no
    while IFS= read -r line; do
        [[ $line =~ $re ]] || continue
        matched=yes
        [[ ${BASH_REMATCH[4]} == no-leap ]] ||
            { stop_ntp_server; fail "ntpdate reports leap '${BASH_REMATCH[4]}', expected 'no-leap' (server runs with --leap 0)"; }
        if [[ -z $best_dist ]] || abs_below "${BASH_REMATCH[2]}" "$best_dist"; then
            best_dist=${BASH_REMATCH[2]} offset=${BASH_REMATCH[1]} stratum=${BASH_REMATCH[3]} leap=${BASH_REMATCH[4]}
        fi
    done < "$WORK/ntpdate.$run.out"
    [[ $matched == yes ]] || { stop_ntp_server; fail "ntpdate printed no report line in run $run (it did not accept the reply)"; }
done
stop_ntp_server

abs_below "$offset" 0.001 || fail "ntpdate offset $offset s (+/- $best_dist), expected |offset| < 1 ms on loopback"
say "offset=$offset s +/- $best_dist stratum=$stratum leap=$leap (accepted, 3 of 3 runs)"
