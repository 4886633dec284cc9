#!/usr/bin/env bash
# interop.replay-vs-chronyd — live replay against a real chronyd: the client requests of our
# own recording captures/chronyd-ntpdig.pcap, resent byte for byte to a chronyd serving from
# its local reference on a loopback high port, are all answered and judged without a MUST
# broken.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.replay-vs-chronyd "$@"
need probe clockcheck peers work
fetch_peers

start_chronyd
port=$CHRONYD_PORT
capture=$INTEROP_REPO/captures/chronyd-ntpdig.pcap
[[ -f $capture ]] || fail "$capture is missing"

# chronyd may need a moment before it answers from its local reference: retry for ~10 s.
deadline=$(( $(date +%s) + 10 ))
ok=no
while :; do
    rc=0
    run_fg 30 "" "$WORK/replay.json" "$ARG_PROBE" replay "$capture" --target "127.0.0.1:$port" --format json || rc=$?
    if [[ $rc == 0 ]] && summary=$(/usr/bin/python3 -c '
import json, sys
live = json.load(open(sys.argv[1]))["live"][0]
if live["sent"] == 0 or live["answered"] != live["sent"]:
    sys.exit("sent %d, answered %d" % (live["sent"], live["answered"]))
print(live["sent"], live["answered"], len(live["findings"]), len(live["differences"]))
for d in live["differences"]:
    print("difference:", d["frame"], d["what"], file=sys.stderr)
' "$WORK/replay.json" 2> "$WORK/replay.parse"); then
        ok=yes
        [[ -s $WORK/replay.parse ]] && cat "$WORK/replay.parse"
        break
    fi
    (( $(date +%s) < deadline )) || break
    sleep 1
done
stop_pid "$CHRONYD_PID"
show_log "chronyd, exit $STOP_RC after SIGTERM" "$CHRONYD_LOG"
[[ $ok == yes ]] || fail "live replay to chronyd did not get every request answered in ~10 s (last exit status $rc)"
read -r sent answered findings differences <<< "$summary"
say "sent=$sent answered=$answered findings=$findings differences-from-recording=$differences (accepted)"
