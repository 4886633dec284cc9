#!/usr/bin/env bash
# interop.probe-vs-chronyd — our probe queries a real chronyd serving from its local
# reference (stratum 8) on a loopback high port. chronyd runs with -x (never touches the
# clock), no upstream sources, and all its files in the work dir.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.probe-vs-chronyd "$@"
need probe clockcheck peers work
fetch_peers

start_chronyd    # lib.sh: loopback, a free high port, stratum 8 from its local reference
port=$CHRONYD_PORT

# chronyd may need a moment before it answers from its local reference: retry for ~10 s.
deadline=$(( $(date +%s) + 10 ))
ok=no
while :; do
    rc=0
    run_fg 15 "" "$WORK/probe.json" "$ARG_PROBE" query "127.0.0.1:$port" --count 3 --timeout 1 --format json || rc=$?
    if [[ $rc == 0 ]] && summary=$(/usr/bin/python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
s8 = [r for r in doc.get("replies", []) if r.get("stratum") == 8 and r.get("usable", True)]
if not s8:
    sys.exit("no usable reply with \"stratum\": 8")
# What our probe finds wrong with a real chronyd is worth seeing, whatever it is.
for r in doc["replies"]:
    if r.get("problems"):
        print("probe problems:", json.dumps(r["problems"]), file=sys.stderr)
# Judge the offset of the shortest round trip: a slow first exchange (cold caches) is
# asymmetric and its offset error can reach half its delay.
best = min(s8, key=lambda r: r.get("delay_s", float("inf")))
delay = best.get("delay_s")
print(len(doc["replies"]), len(s8), repr(best.get("offset_s")), "n/a" if delay is None else "%.6f" % delay)
' "$WORK/probe.json" 2> "$WORK/probe.parse"); then
        ok=yes
        [[ -s $WORK/probe.parse ]] && cat "$WORK/probe.parse"
        break
    fi
    [[ $rc == 0 ]] && echo "unexpected JSON: $(<"$WORK/probe.parse")"
    (( $(date +%s) < deadline )) || break
    sleep 1
done
stop_pid "$CHRONYD_PID"
show_log "chronyd, exit $STOP_RC after SIGTERM" "$CHRONYD_LOG"
[[ $ok == yes ]] || fail "ntp-probe got no usable stratum-8 reply from chronyd in ~10 s (last exit status $rc)"

read -r n_replies n_s8 offset delay <<< "$summary"
[[ $offset != None ]] || fail "the stratum-8 reply has no offset_s"
abs_below "$offset" 0.001 || fail "ntp-probe offset_s $offset s (delay_s $delay), expected |offset| < 1 ms on loopback"
say "$(printf 'stratum=8 replies=%s/%s offset=%+.6f s delay=%s s (accepted)' "$n_s8" "$n_replies" "$offset" "$delay")"
