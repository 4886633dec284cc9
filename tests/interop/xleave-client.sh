#!/usr/bin/env bash
# interop.xleave-client — chronyd as a client that asks for RFC 9769 interleaved mode (`xleave`)
# against ntp-server, recorded with dumpcap on the loopback interface (only the server's port)
# and replayed: ntp-server answers it in interleaved mode, chronyd takes its measurement, and
# `ntp-probe replay` finds nothing wrong in the recording, interleaved exchanges counted.
# chronyd runs in print-only mode (-Q) with -x, without CAP_SYS_TIME, files in the work dir.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.xleave-client "$@"
need server probe clockcheck peers work
fetch_peers
[[ -x /usr/bin/dumpcap ]] || skip "/usr/bin/dumpcap not found (the recording needs it)"
[[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 not found (needed to read the replay report)"

start_ntp_server_on_free_port

# The recording: bounded in time (-a duration) and stopped by its PID once chronyd is done.
pcap=$WORK/xleave.pcap
rm -f "$pcap"
/usr/bin/dumpcap -q -P -i lo -f "udp port $port" -a duration:60 -w "$pcap" > "$WORK/dumpcap.log" 2>&1 &
dumpcap_pid=$!
INTEROP_PIDS+=("$dumpcap_pid")
for _ in $(seq 50); do grep -q 'Capturing on' "$WORK/dumpcap.log" 2> /dev/null && break; sleep 0.1; done

chronyd_query chronyd 20 "server 127.0.0.1 port $port iburst xleave minpoll -4 maxpoll -4"
sleep 0.5
stop_pid "$dumpcap_pid"
stop_ntp_server
[[ $CLIENT_RC == 0 ]] || fail "chronyd -Q with xleave exited with status $CLIENT_RC (no usable measurement from our server)"
offset=$CLIENT_OFFSET
[[ -n $offset ]] || fail "chronyd printed no 'System clock wrong by' line"
abs_below "$offset" 0.001 || fail "chronyd offset $offset s, expected |offset| < 1 ms on loopback"

rc=0
run_fg 30 "" "$WORK/replay.json" "$ARG_PROBE" replay "$pcap" --port "$port" --format json || rc=$?
[[ $rc == 0 ]] || fail "replay of chronyd's interleaved exchanges with ntp-server exited $rc"
/usr/bin/python3 - "$WORK/replay.json" <<'PY' || fail "the recording is not what an interleaved client and server make (above)"
import json, sys
f = json.load(open(sys.argv[1]))["files"][0]
print("exchanges %d, interleaved %d, findings %d" % (f["exchanges"], f["interleaved"], len(f["findings"])))
sys.exit(0 if f["exchanges"] >= 3 and f["interleaved"] >= 1 and not f["findings"] else 1)
PY
say "$(printf 'chronyd (xleave) accepted ntp-server'"'"'s interleaved replies: offset=%+.6f s; replay: no finding' "$offset")"
