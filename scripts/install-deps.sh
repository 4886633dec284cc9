#!/usr/bin/env bash
# Installs the Debian 12 packages ntpkit builds and tests with, if any is missing.
# The real NTP peers for the interop tests are NOT installed here: the tests fetch them with
# apt-get download and unpack them under the build tree.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libpcap-dev nettle-dev libssl-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang libclang-rt-14-dev clang-format
  iproute2 util-linux openssl python3 python3-junitparser python3-seccomp systemd tshark ca-certificates chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
