#!/usr/bin/env bash
# interop.auth-vs-chronyd — symmetric-key authentication against a real chronyd, both ways, with
# one chrony keyfile (MD5, SHA1 and AES128 keys):
#   1. ntp-probe query --keys --key-id N against chronyd serving with that keyfile: every key's
#      reply carries a MAC of it that verifies (our digests agree with chrony's), and a request
#      under the right id but the wrong secret gets no usable reply;
#   2. chronyd -Q as a client with `server ... key N` against ntp-server --keys: it accepts our
#      authenticated replies for each key, and measures nothing from ntp-server --misbehave
#      auth-bad-digest.
#   1b. ntp-probe --suite auth against the same chronyd, signed with each key (no failure; the
#      outcomes with the AES128 key as tests/interop/expected/chronyd.auth.txt records them);
# chronyd runs with -x (and -Q in print-only mode), without CAP_SYS_TIME, files in the work dir.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.auth-vs-chronyd "$@"
need server probe clockcheck peers work
fetch_peers

keys=$WORK/chrony.keys
cat > "$keys" <<KEYS
1 MD5 ASCII:ntpkit-md5-secret
2 SHA1 HEX:0123456789abcdef0123456789abcdef01234567
3 AES128 HEX:000102030405060708090a0b0c0d0e0f
KEYS
wrong=$WORK/wrong.keys
echo "3 AES128 HEX:ff0102030405060708090a0b0c0d0e0f" > "$wrong"

# 1. Our query against chronyd.
CHRONYD_EXTRA=("keyfile $keys")
start_chronyd
bad=()
for id in 1 2 3; do
    ok=no
    for _ in $(seq 10); do   # chronyd answers from its local reference after a moment
        rc=0
        run_fg 10 "" "$WORK/query.$id.txt" "$ARG_PROBE" query "$CHRONYD_TARGET" --keys "$keys" --key-id "$id" -t 1 \
            --color never || rc=$?
        if [[ $rc == 0 ]] && grep -q "reply MAC of key $id, verified" "$WORK/query.$id.txt"; then ok=yes; break; fi
        sleep 1
    done
    sed -n 's/^auth  */  key '"$id"': /p' "$WORK/query.$id.txt"
    [[ $ok == yes ]] || bad+=("query-key-$id")
done
rc=0
run_fg 10 "" "$WORK/query.wrong.txt" "$ARG_PROBE" query "$CHRONYD_TARGET" --keys "$wrong" --key-id 3 -t 1 \
    --color never || rc=$?
echo "  wrong secret: exit $rc ($(grep -m1 -E '^(auth|unusable|reply) ' "$WORK/query.wrong.txt" || true))"
[[ $rc != 0 ]] || bad+=("query-wrong-secret-accepted")

# 1b. The auth suite against chronyd, signed with each key: no failure, and the outcomes signed
# with the AES-CMAC key are those recorded in tests/interop/expected/chronyd.auth.txt.
auth_suite "" "$CHRONYD_TARGET" "$keys" chronyd.auth "chronyd 4.3 with a keyfile, the auth suite signed with AES128 key 3 (tests/interop/auth-vs-chronyd.sh)"
stop_pid "$CHRONYD_PID"
show_log "chronyd, exit $STOP_RC after SIGTERM" "$CHRONYD_LOG"

# 2. chronyd -Q against ntp-server --keys, then against its bad-digest misbehaviour.
client() {  # client KEY-ID MISBEHAVIOUR — sets CLIENT_RC and CLIENT_OFFSET (chronyd_query)
    local id=$1 mb=$2
    SERVER_EXTRA=(--keys "$keys")
    [[ $mb == - ]] || SERVER_EXTRA+=(--misbehave "$mb")
    start_ntp_server_on_free_port
    chronyd_query "chronyd-client.$id.$mb" 8 "server 127.0.0.1 port $port iburst key $id" "keyfile $keys"
    stop_ntp_server
}
for id in 1 2 3; do
    client "$id" -
    echo "  chronyd -Q, key $id: exit $CLIENT_RC, offset ${CLIENT_OFFSET:-none}"
    [[ $CLIENT_RC == 0 && -n $CLIENT_OFFSET ]] || bad+=("chronyd-rejected-key-$id")
done
client 3 auth-bad-digest
echo "  chronyd -Q, key 3, ntp-server --misbehave auth-bad-digest: exit $CLIENT_RC"
[[ $CLIENT_RC != 0 ]] || bad+=("chronyd-accepted-a-bad-digest")

[[ ${#bad[@]} == 0 ]] || fail "authentication with chronyd: ${bad[*]}"
say "chronyd's MACs verify under our digests (MD5, SHA1, AES128), chronyd -Q accepts ours and refuses a bad digest"
