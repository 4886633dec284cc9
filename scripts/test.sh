#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the default build (unit, cli, e2e,
# fuzz corpus replay, interop with real NTP daemons and clients), the same tests that need no
# network peers under ASan + UBSan, and a short libFuzzer smoke of every harness (clang).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc)

cmake --preset default
cmake --build --preset default -j "$jobs"
ctest --preset default -j "$jobs"

cmake --preset asan
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs" -L 'unit|cli|e2e|fuzz'

bash fuzz/smoke.sh 6
