#!/usr/bin/env bash
# interop.nts-vs-ntpsec — `ntp-probe query --nts` and the nts-ke and nts suites against ntpsec's
# NTS server (RFC 8915), configured as its documentation shows (`nts enable`, `nts key`, `nts
# cert`, `nts cookie`), with a self-signed certificate made for 127.0.0.1 here. ntpsec knows only
# port 123 (NTP) and 4460 (NTS-KE), so it runs in a network namespace made for this test, with
# Debian's restrict lines (the 127.0.0.1 exemption included, as Debian ships it). Its clock
# discipline stays on (`disable kernel` only): with `disable ntp` every reply is LI 3 and NTS
# clients refuse it; its only source is the LOCAL refclock and it runs without CAP_SYS_TIME, so
# every clock call fails harmlessly; the clock is checked afterwards.
# ntpsec sends no NTPv4 Server or Port Negotiation: the NTP exchange goes to the KE host, port 123.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.nts-vs-ntpsec "$@"
need probe clockcheck peers work
fetch_peers
nts_certificate
netns_create nts-ntpsec

NTPSEC_DISCIPLINE=""
NTPSEC_EXTRA=("nts enable" "nts key $WORK/key.pem" "nts cert $WORK/cert.pem" "nts cookie $WORK/ntskeys")
start_ntpsec "$NETNS"
tcp_bound() { [[ -n $(ip netns exec "$NETNS" ss -Htln "sport = :4460" 2> /dev/null) ]]; }
wait_until 10 "$NTPSEC_PID" tcp_bound || fail "ntpsec did not listen for NTS-KE on TCP port 4460"
KE=127.0.0.1

nts_query "$NETNS" "$KE" ntpsec --ntp-port 123 --not-negotiated

# The nts-ke (RFC 8915 §3, §4) and nts (§5) suites: the outcomes recorded in
# tests/interop/expected/ntpsec.{nts-ke,nts}.txt (the non-passes are explained in docs/interop.md).
nts_suites "$NETNS" "$KE" ntpsec "ntpsec $(peer_version ntpsec)'s NTS server (nts enable, key, cert, cookie; Debian's restrict lines; tests/interop/nts-vs-ntpsec.sh)"

stop_pid "$NTPSEC_PID"
show_log "ntpsec ntpd, exit $STOP_RC after SIGTERM" "$NTPSEC_LOG"
say "query --nts and the NTS suites against ntpsec: key establishment, authenticated replies, the outcomes recorded"
