#!/usr/bin/env bash
# interop.ntpdig — ntpsec's SNTP client queries our server and must accept its answer.
# ntpdig has no port option (it always asks port 123), so server and client share a network
# namespace made for this test. Without -S/-s ntpdig only reports; it runs without
# CAP_SYS_TIME anyway.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.ntpdig "$@"
need server clockcheck peers work
fetch_peers
netns_create ntpdig

start_ntp_server "$NETNS" 127.0.0.1:123 || fail "ntp-server could not start in $NETNS"

# -j: a JSON line for the selected reply; -p 3: three exchanges, of which ntpdig reports the
# one with the smallest synchronisation distance (delay/2 + epsilon); -t 2: bounded wait.
rc=0
run_fg 20 "$NETNS" "$WORK/ntpdig.out" "$NTPDIG" -j -p 3 -t 2 127.0.0.1 || rc=$?
stop_ntp_server
[[ $rc == 0 ]] || fail "ntpdig exited with status $rc (it prints 'no eligible servers' when it rejects every reply)"

# ntpdig prints the reply it selected only after its sanity checks (stratum 1..15, mode 4,
# version, leap not unsynchronised, non-zero origin): a line here means it accepted ours.
read -r offset stratum leap adjusted < <(/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        r = json.loads(line)
        print(repr(r["offset"]), r["stratum"], r["leap"], str(r["adjusted"]).lower())
        break
' "$WORK/ntpdig.out") || fail "ntpdig printed no JSON report"

[[ $adjusted == false ]] || fail "ntpdig says it adjusted the clock"
[[ $leap == no-leap ]] || fail "ntpdig reports leap '$leap', expected 'no-leap' (server runs with --leap 0)"
abs_below "$offset" 0.001 || fail "ntpdig offset $offset s, expected |offset| < 1 ms on loopback"
say "$(printf 'offset=%+.6f s stratum=%s leap=%s (accepted)' "$offset" "$stratum" "$leap")"
