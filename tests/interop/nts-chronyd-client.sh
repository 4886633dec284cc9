#!/usr/bin/env bash
# interop.nts-chronyd-client — chronyd as an NTS client (RFC 8915) of ntp-server --nts-cert
# --nts-key, print-only (-Q -x, without CAP_SYS_TIME): it trusts the test certificate
# (ntstrustedcerts), runs key establishment with ntp-server's KE server, then takes its
# NTS-protected time. It must accept the reference server's replies (an offset below 1 ms on
# loopback) and measure nothing from `--misbehave nts-bad-tag` (authenticator that does not
# verify) or `--misbehave nts-wrong-uid` (a Unique Identifier not its own).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.nts-chronyd-client "$@"
need server clockcheck peers work
fetch_peers
CERT=$INTEROP_REPO/tests/data/nts-test-cert.pem
KEY=$INTEROP_REPO/tests/data/nts-test-key.pem

# run_case NAME [MISBEHAVIOUR] — ntp-server with NTS (and the misbehaviour), chronyd -Q against it.
run_case() {
    local name=$1 ke
    SERVER_EXTRA=(--nts-cert "$CERT" --nts-key "$KEY" --nts-port 0 -v)
    [[ -n ${2:-} ]] && SERVER_EXTRA+=(--misbehave "$2")
    start_ntp_server_on_free_port
    wait_until 10 "$SERVER_PID" grep -q '^NTS-KE server listening on' "$SERVER_LOG" || fail "no NTS-KE server line"
    ke=$(sed -n 's/^NTS-KE server listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$SERVER_LOG")
    mkdir -p "$WORK/$name.dump"
    chronyd_query "$name" 8 "server 127.0.0.1 port $port nts ntsport $ke iburst maxsamples 1" \
        "ntstrustedcerts $CERT" "ntsdumpdir $WORK/$name.dump"
    stop_ntp_server
    show_log "ntp-server ($name)" "$SERVER_LOG"
}

run_case good
[[ $CLIENT_RC == 0 && -n $CLIENT_OFFSET ]] || fail "chronyd -Q took no NTS measurement from ntp-server (exit $CLIENT_RC)"
abs_below "$CLIENT_OFFSET" 0.001 || fail "chronyd offset $CLIENT_OFFSET s, expected |offset| < 1 ms on loopback"
grep -q "NTS-KE 127.0.0.1:[0-9]*: answered" "$SERVER_LOG" || fail "ntp-server logged no NTS-KE answer"
good=$CLIENT_OFFSET
for bad in nts-bad-tag nts-wrong-uid; do
    run_case "$bad" "$bad"
    [[ -z $CLIENT_OFFSET ]] || fail "chronyd took a measurement (offset $CLIENT_OFFSET s) from --misbehave $bad"
done
say "$(printf 'chronyd -Q over NTS: offset=%+.6f s from ntp-server; nothing from nts-bad-tag or nts-wrong-uid' "$good")"
