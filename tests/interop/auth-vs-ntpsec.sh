#!/usr/bin/env bash
# interop.auth-vs-ntpsec — symmetric-key authentication against ntpsec, both ways, with one
# ntp.keys file (MD5, SHA1 and AES-128 keys), in a network namespace made for this test (ntpsec
# and ntpdig know only port 123):
#   1. ntp-probe query --keys --key-id N against ntpsec's ntpd with `keys` and `trustedkey`:
#      every key's reply carries a MAC of it that verifies under our digests;
#   1b. ntp-probe --suite auth against the same ntpd, signed with each key (no failure; the
#      outcomes with the AES key as tests/interop/expected/ntpsec.auth.txt records them);
#   2. ntpdig -a N -k FILE against ntp-server --keys: it accepts our authenticated replies for
#      each key, and none from ntp-server --misbehave auth-bad-digest.
# No daemon or client holds CAP_SYS_TIME; ntpsec runs with its clock discipline off.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.auth-vs-ntpsec "$@"
need server probe clockcheck peers work
fetch_peers
netns_create auth-ntpsec

keys=$WORK/ntp.keys
cat > "$keys" <<KEYS
# ntpsec ntp.keys: an ASCII key of up to 20 characters, or hex
1 MD5 ntpkit-md5-secret
2 SHA1 0123456789abcdef0123456789abcdef01234567
3 AES 000102030405060708090a0b0c0d0e0f
KEYS
bad=()

# 1. Our query against ntpsec.
NTPSEC_EXTRA=("keys $keys" "trustedkey 1 2 3")
start_ntpsec "$NETNS"
for id in 1 2 3; do
    ok=no
    for _ in $(seq 15); do   # ntpsec selects its refclock after a few seconds
        rc=0
        run_fg 10 "$NETNS" "$WORK/query.$id.txt" "$ARG_PROBE" query 127.0.0.1 --keys "$keys" --key-format ntp \
            --key-id "$id" -t 1 --color never || rc=$?
        if grep -q "reply MAC of key $id, verified" "$WORK/query.$id.txt"; then ok=yes; break; fi
        sleep 1
    done
    echo "  key $id: exit $rc ($(grep -m1 -E '^auth ' "$WORK/query.$id.txt" || echo 'no auth line'))"
    [[ $ok == yes ]] || bad+=("query-key-$id")
done

# 1b. The auth suite against ntpsec, signed with each key: no failure, and the outcomes signed
# with the AES-128 key are those recorded in tests/interop/expected/ntpsec.auth.txt.
auth_suite "$NETNS" 127.0.0.1 "$keys" ntpsec.auth "ntpsec 1.2.2 with keys and trustedkey, the auth suite signed with AES-128 key 3 (tests/interop/auth-vs-ntpsec.sh)" --key-format ntp
stop_pid "$NTPSEC_PID"
show_log "ntpsec ntpd, exit $STOP_RC after SIGTERM" "$NTPSEC_LOG"

# 2. ntpdig against ntp-server --keys, then against its bad-digest misbehaviour.
dig() {  # dig KEY-ID MISBEHAVIOUR — sets DIG_RC and DIG_JSON (the reply ntpdig accepted, or empty)
    local id=$1 mb=$2 out=$WORK/ntpdig.$1.$2.out
    SERVER_EXTRA=(--keys "$keys" --key-format ntp)
    [[ $mb == - ]] || SERVER_EXTRA+=(--misbehave "$mb")
    start_ntp_server "$NETNS" 127.0.0.1:123 || fail "ntp-server could not start in $NETNS"
    DIG_RC=0
    run_fg 20 "$NETNS" "$out" "$NTPDIG" -j -t 2 -a "$id" -k "$keys" 127.0.0.1 || DIG_RC=$?
    stop_ntp_server
    DIG_JSON=$(grep -m1 '^{' "$out" || true)
}
for id in 1 2 3; do
    dig "$id" -
    echo "  ntpdig -a $id: exit $DIG_RC ${DIG_JSON:0:120}"
    [[ $DIG_RC == 0 && -n $DIG_JSON ]] || bad+=("ntpdig-rejected-key-$id")
done
dig 3 auth-bad-digest
echo "  ntpdig -a 3, ntp-server --misbehave auth-bad-digest: exit $DIG_RC ${DIG_JSON:0:120}"
[[ -z $DIG_JSON ]] || bad+=("ntpdig-accepted-a-bad-digest")

[[ ${#bad[@]} == 0 ]] || fail "authentication with ntpsec: ${bad[*]}"
say "ntpsec's MACs verify under our digests (MD5, SHA1, AES-128), ntpdig accepts ours and refuses a bad digest"
