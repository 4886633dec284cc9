#!/usr/bin/env bash
# interop.nts-vs-chronyd — `ntp-probe query --nts` against chronyd's NTS server (RFC 8915),
# configured as its documentation shows (ntsserverkey/ntsservercert), with a self-signed
# certificate made for 127.0.0.1 here: key establishment over TLS 1.3 with the certificate
# verified against --ca, then NTS-protected requests to the NTP port chronyd negotiates (a high
# port, so it sends NTPv4 Port Negotiation). Every reply must be authenticated under the S2C key
# with the Unique Identifier echoed and carry a new cookie; eight cookies at key establishment.
# Without --ca the self-signed certificate is refused (exit 3, one line); --insecure accepts it.
# chronyd runs with -x, no upstream, without CAP_SYS_TIME; the clock is checked afterwards.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.nts-vs-chronyd "$@"
need probe clockcheck peers work
fetch_peers
nts_certificate

tcp_free() { [[ -z $(ss -Htln "sport = :$1" 2> /dev/null) ]]; }
tcp_bound() { [[ -n $(ss -Htln "sport = :$1" 2> /dev/null) ]]; }
NTS_PORT=$(pick_port 7)
tcp_free "$NTS_PORT" || NTS_PORT=$(pick_port 11)
CHRONYD_EXTRA=("ntsserverkey $WORK/key.pem" "ntsservercert $WORK/cert.pem" "ntsport $NTS_PORT" "ntsdumpdir $WORK")
start_chronyd
wait_until 10 "$CHRONYD_PID" tcp_bound "$NTS_PORT" || fail "chronyd did not listen for NTS-KE on TCP port $NTS_PORT"
KE=127.0.0.1:$NTS_PORT

nts_query "" "$KE" chronyd --ntp-port "$CHRONYD_PORT" --negotiated

# The system's trust store does not hold our self-signed certificate: refused, in one line.
rc=0
run_fg 20 "" "$WORK/untrusted.txt" "$ARG_PROBE" query --nts "$KE" --timeout 1 || rc=$?
[[ $rc == 3 ]] || fail "query --nts without --ca exited $rc, expected 3 (certificate not trusted)"
[[ $(wc -l < "$WORK/untrusted.txt") == 1 ]] && grep -q "certificate is not trusted" "$WORK/untrusted.txt" ||
    fail "query --nts without --ca did not say, in one line, that the certificate is not trusted"
rc=0
run_fg 20 "" "$WORK/insecure.txt" "$ARG_PROBE" query --nts "$KE" --insecure --timeout 1 || rc=$?
[[ $rc == 0 ]] || fail "query --nts --insecure exited $rc, expected 0"
grep -q "certificate not checked (--insecure)" "$WORK/insecure.txt" || fail "--insecure is not said in the report"

# The nts-ke (RFC 8915 §3, §4) and nts (§5) suites: the outcomes recorded in
# tests/interop/expected/chronyd.{nts-ke,nts}.txt (the non-passes are explained in docs/interop.md).
nts_suites "" "$KE" chronyd "chronyd $(peer_version chrony)'s NTS server (ntsserverkey, ntsservercert, ntsport; tests/interop/nts-vs-chronyd.sh)"

stop_pid "$CHRONYD_PID"
show_log "chronyd, exit $STOP_RC after SIGTERM" "$CHRONYD_LOG"
say "query --nts against chronyd: key establishment, authenticated replies, certificate checked; refused untrusted, accepted --insecure"
