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

# -t 20: chronyd gives up (non-zero exit) if it got no usable measurement by then.
chronyd_query chronyd 20 "server 127.0.0.1 port $port iburst"
stop_ntp_server
[[ $CLIENT_RC == 0 ]] || fail "chronyd -Q exited with status $CLIENT_RC (no usable measurement from our server)"
offset=$CLIENT_OFFSET
[[ -n $offset ]] || fail "chronyd printed no 'System clock wrong by' line"
abs_below "$offset" 0.001 || fail "chronyd offset $offset s, expected |offset| < 1 ms on loopback"
say "$(printf 'offset=%+.6f s (accepted, port %s)' "$offset" "$port")"
