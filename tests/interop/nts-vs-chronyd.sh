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
command -v openssl > /dev/null || skip "the openssl command is missing (Debian package openssl)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" > "$WORK/openssl.log" 2>&1 ||
    { cat "$WORK/openssl.log"; fail "openssl could not make a certificate"; }

tcp_free() { [[ -z $(ss -Htln "sport = :$1" 2> /dev/null) ]]; }
tcp_bound() { [[ -n $(ss -Htln "sport = :$1" 2> /dev/null) ]]; }
NTS_PORT=$(pick_port 7)
tcp_free "$NTS_PORT" || NTS_PORT=$(pick_port 11)
CHRONYD_EXTRA=("ntsserverkey $WORK/key.pem" "ntsservercert $WORK/cert.pem" "ntsport $NTS_PORT" "ntsdumpdir $WORK")
start_chronyd
wait_until 10 "$CHRONYD_PID" tcp_bound "$NTS_PORT" || fail "chronyd did not listen for NTS-KE on TCP port $NTS_PORT"
KE=127.0.0.1:$NTS_PORT

# chronyd may need a moment before it answers from its local reference: retry for ~10 s.
deadline=$(( $(date +%s) + 10 ))
while :; do
    rc=0
    run_fg 20 "" "$WORK/query.json" "$ARG_PROBE" query --nts "$KE" --ca "$WORK/cert.pem" --count 3 --interval 0.2 \
        --timeout 1 --format json || rc=$?
    [[ $rc == 0 ]] && break
    (( $(date +%s) < deadline )) || fail "ntp-probe query --nts got no usable reply from chronyd (exit $rc)"
    sleep 1
done
/usr/bin/python3 - "$WORK/query.json" "$CHRONYD_PORT" <<'PY' || fail "the NTS exchange with chronyd is not what RFC 8915 describes (above)"
import json, sys
doc = json.load(open(sys.argv[1]))
ke, bad = doc["nts"], []
def want(ok, what):
    if not ok:
        bad.append(what)
want(ke["tls_version"] == "TLSv1.3", "TLS 1.3, got %s" % ke["tls_version"])
want(ke["alpn"] == "ntske/1", "ALPN ntske/1, got %r" % ke["alpn"])
want(ke["certificate_verified"], "the certificate verified against --ca")
want(ke["aead"] == 15, "AEAD_AES_SIV_CMAC_256 (15), got %s" % ke["aead"])
want(ke["cookies"] == 8, "8 cookies, got %s" % ke["cookies"])
want(ke["negotiated"] and ke["ntp_port"] == int(sys.argv[2]), "NTPv4 Port Negotiation naming %s, got %s" % (sys.argv[2], ke["ntp_port"]))
for i, r in enumerate(doc["replies"]):
    n = r.get("nts", {})
    want(r["usable"], "reply %d usable (problems: %s)" % (i + 1, r["problems"]))
    want(n.get("authenticated") and n.get("unique_id_echoed"), "reply %d authenticated, UID echoed" % (i + 1))
    want(n.get("new_cookies", 0) >= 1, "reply %d with a new cookie" % (i + 1))
    want(abs(r.get("offset_s", 1)) < 0.001, "reply %d offset below 1 ms on loopback, got %s" % (i + 1, r.get("offset_s")))
for b in bad:
    print("  expected:", b)
print("chronyd over NTS: %s, %s, %d cookies of %d octets, NTP port %d; %d/%d replies authenticated" % (
    ke["tls_version"], ke["tls_cipher"], ke["cookies"], ke["cookie_length"], ke["ntp_port"],
    sum(1 for r in doc["replies"] if r.get("nts", {}).get("authenticated")), len(doc["replies"])))
sys.exit(1 if bad else 0)
PY

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

# The nts-ke (RFC 8915 §3, §4) and nts (§5) suites against chronyd's NTS server: the outcomes
# recorded in tests/interop/expected/chronyd.{nts-ke,nts}.txt (the non-passes are explained in
# docs/interop.md).
COMPARE=(/usr/bin/python3 "$INTEROP_REPO/tests/interop/compare_outcomes.py")
for suite in nts-ke nts; do
    EXPECTED=$INTEROP_REPO/tests/interop/expected/chronyd.$suite.txt
    rc=0
    run_fg 90 "" "$WORK/$suite-suite.txt" "$ARG_PROBE" --suite "$suite" --nts "$KE" --ca "$WORK/cert.pem" -t 1 \
        --json "$WORK/$suite-suite.json" --color never || rc=$?
    [[ $rc == 0 || $rc == 1 ]] || fail "ntp-probe --suite $suite exited $rc"
    "${COMPARE[@]}" table "$WORK/$suite-suite.json" | sed 's/^/    /' || true
    if [[ -n ${UPDATE_EXPECTED:-} ]]; then   # UPDATE_EXPECTED=1: record what this run saw
        "${COMPARE[@]}" write "$EXPECTED" "$WORK/$suite-suite.json" \
            --header "ntp-probe --suite $suite -t 1 against chronyd's NTS server: one line per case, 'CASE-ID OUTCOME'." \
            --header "version: chrony $(peer_version chrony)" \
            --header "Regenerate: UPDATE_EXPECTED=1 ctest --test-dir build -R '^interop\.nts-vs-chronyd\$' (see README.md)"
    else
        "${COMPARE[@]}" check "$EXPECTED" "$WORK/$suite-suite.json" --label "chronyd.$suite" ||
            fail "the $suite suite's outcomes against chronyd differ from $EXPECTED (above)"
    fi
done

stop_pid "$CHRONYD_PID"
show_log "chronyd, exit $STOP_RC after SIGTERM" "$CHRONYD_LOG"
say "query --nts against chronyd: key establishment, authenticated replies, certificate checked; refused untrusted, accepted --insecure"
