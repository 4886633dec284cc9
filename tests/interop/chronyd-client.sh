#!/usr/bin/env bash
# interop.chronyd-client — chronyd in print-once mode (-Q: measure, print the offset, exit,
# never touch the clock; -x on top) polls our server on a loopback high port.
# chronyd 4.3 still resolves its run-as user in -Q mode, hence -u root (no _chrony user
# here); every file it may write is in the work dir and its command sockets are off.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
interop_init interop.chronyd-client "$@"
need server clockcheck peers work
fetch_peers

# Our server exits when it cannot bind; try a few ports.
start_ntp_server_on_free_port

conf=$WORK/chronyd.conf
cat > "$conf" <<CONF
server 127.0.0.1 port $port iburst
pidfile $WORK/chronyd.pid
cmdport 0
bindcmdaddress /
CONF
echo "chronyd.conf:"; sed 's/^/    /' "$conf"

# -t 20: chronyd gives up (non-zero exit) if it got no usable measurement by then.
rc=0
run_fg 30 "" "$WORK/chronyd.out" "$CHRONYD" -Q -x -u root -t 20 -f "$conf" || rc=$?
stop_ntp_server
[[ $rc == 0 ]] || fail "chronyd -Q exited with status $rc (no usable measurement from our server)"

offset=$(sed -n 's/.*System clock wrong by \([-+]*[0-9.]*\) seconds.*/\1/p' "$WORK/chronyd.out" | tail -n 1)
[[ -n $offset ]] || fail "chronyd printed no 'System clock wrong by' line"
abs_below "$offset" 0.001 || fail "chronyd offset $offset s, expected |offset| < 1 ms on loopback"
say "$(printf 'offset=%+.6f s (accepted, port %s)' "$offset" "$port")"
