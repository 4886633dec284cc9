#!/usr/bin/env bash
# interop.interleaved-vs-chronyd — chronyd's server side answers RFC 9769 interleaved mode when a
# client asks for it (on by default). A client that asks (tests/interop/interleaved_client.py)
# records six exchanges with a chronyd serving from its local reference; `ntp-probe replay`
# judges the recording: the interleaved replies are recognised and judged by RFC 9769's rules,
# with no finding, where a basic-mode judge would report a wrong origin and a receive after
# transmit. The same recording with one interleaved reply's origin changed must fail. Then the
# `interleaved` suite against chronyd with `noclientlog` (interleaved mode off): no failure, basic
# mode reported (with the client log on, interop.suite.chronyd records 7 passes).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.interleaved-vs-chronyd "$@"
need probe clockcheck peers work
fetch_peers
[[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 not found (the interleaved client is Python)"

start_chronyd
pcap=$WORK/interleaved.pcap
rc=0
run_fg 30 "" "$WORK/client.log" /usr/bin/python3 "$INTEROP_REPO/tests/interop/interleaved_client.py" \
    127.0.0.1 "$CHRONYD_PORT" 6 "$pcap" || rc=$?
stop_daemon "$CHRONYD_PID" chronyd "$CHRONYD_LOG"
[[ $rc == 0 ]] || fail "the interleaved client did not get every request answered (exit $rc)"
interleaved=$(grep -c 'interleaved reply' "$WORK/client.log" || true)
(( interleaved >= 2 )) || fail "chronyd answered $interleaved request(s) in interleaved mode; expected at least 2 of 6"

rc=0
run_fg 30 "" "$WORK/replay.json" "$ARG_PROBE" replay "$pcap" --port "$CHRONYD_PORT" --format json || rc=$?
[[ $rc == 0 ]] || fail "replay of the interleaved exchanges exited $rc (a finding on a legitimate exchange)"
/usr/bin/python3 - "$WORK/replay.json" "$interleaved" <<'PY' || fail "the replay report is not what the recording holds (above)"
import json, sys
f = json.load(open(sys.argv[1]))["files"][0]
s = f["stats"] if "stats" in f else f
print("exchanges %s, interleaved %s, findings %d" % (s["exchanges"], s["interleaved"], len(f["findings"])))
ok = s["exchanges"] == 6 and s["interleaved"] == int(sys.argv[2]) and not f["findings"]
sys.exit(0 if ok else 1)
PY

# Shown to fail: the first interleaved reply's origin, one bit off.
/usr/bin/python3 - "$pcap" "$WORK/mutated.pcap" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
off, frames = 24, []
while off < len(data):
    incl = struct.unpack_from("<I", data, off + 8)[0]
    frames.append(off + 16)
    off += 16 + incl
# Frames alternate request, reply; the client log says the 3rd reply (frame 6) is interleaved.
payload = frames[5] + 28
data[payload + 31] ^= 1   # the origin's lowest byte
open(sys.argv[2], "wb").write(data)
PY
rc=0
run_fg 30 "" "$WORK/mutated.json" "$ARG_PROBE" replay "$WORK/mutated.pcap" --port "$CHRONYD_PORT" --format json || rc=$?
[[ $rc == 1 ]] || fail "a mutated interleaved reply was not found (replay exit $rc, expected 1)"
grep -q 'rfc5905/8/origin-copy' "$WORK/mutated.json" || fail "the mutated reply's finding is not origin-copy"
# The interleaved suite against chronyd without a client log (`noclientlog`: no per-client
# timestamps, so no interleaved mode): nothing fails, and interleaved/supported reports basic mode.
CHRONYD_EXTRA=("noclientlog")
start_chronyd
rc=0
run_fg 60 "" "$WORK/noclientlog.txt" "$ARG_PROBE" --suite interleaved "$CHRONYD_TARGET" --json "$WORK/noclientlog.json" \
    --color never || rc=$?
stop_daemon "$CHRONYD_PID" chronyd "$CHRONYD_LOG"
sed 's/^/    /' "$WORK/noclientlog.txt"
[[ $rc == 0 ]] || fail "the interleaved suite against chronyd with noclientlog exited $rc"
grep -q '^INFO  interleaved/supported' "$WORK/noclientlog.txt" ||
    fail "chronyd with noclientlog: interleaved/supported did not report basic mode"

say "chronyd answered $interleaved of 6 requests in interleaved mode; replay judged them without a finding, and found the mutated one; with noclientlog it answers in basic mode and the interleaved suite finds nothing wrong"
