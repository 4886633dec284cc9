#!/usr/bin/env bash
# The main job: install what is missing, build, start the reference server on loopback and
# judge it with the rfc5905 conformance suite. Exits with the probe's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default --target ntp-server ntp-probe  # what it runs, nothing more

port=${NTPKIT_PORT:-1123}
log=$(mktemp)
./build/server/ntp-server --listen "127.0.0.1:${port}" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do
  grep -q "listening on" "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 3; }
  sleep 0.1
done
cat "$log"

set +e
./build/probe/ntp-probe query "127.0.0.1:${port}"
echo
./build/probe/ntp-probe --suite rfc5905 "127.0.0.1:${port}"
code=$?
set -e
exit $code
