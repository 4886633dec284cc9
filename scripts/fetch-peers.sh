#!/usr/bin/env bash
# fetch-peers.sh DIR — download the real NTP peers the interop tests run against,
# from the Debian 12 archive, and unpack them under DIR without installing anything.
#
#   DIR/debs/            the .deb files, as `apt-get download` left them
#   DIR/root/            chrony, ntpsec, ntpsec-ntpdig, ntpsec-ntpdate, python3-ntp, and the
#                        clients client-test judges: monitoring-plugins-basic (check_ntp_time),
#                        rdate, python3-ntplib (+ any shared library the base system lacks),
#                        `dpkg -x`-ed
#   DIR/root-openntpd/   openntpd, on its own: its /usr/sbin/ntpd would overwrite ntpsec's
#   DIR/root-timesyncd/  systemd-timesyncd, on its own: it needs the system's libsystemd-shared
#                        (the systemd package); where that is missing client-test leaves it out
#   DIR/peers.env        shell assignments (binary paths, PYTHONPATH, LD_LIBRARY_PATH)
#                        that tests/interop/lib.sh sources
#
# Idempotent: a stamp file records what was unpacked; a second run only prints the paths.
# Concurrent runs (ctest -j) serialise on DIR/.lock.
# Exit 0 on success; otherwise one line on stderr saying why, and exit 1.
set -euo pipefail

fail() { echo "fetch-peers: $*" >&2; exit 1; }

[[ $# -eq 1 && -n $1 ]] || fail "usage: fetch-peers.sh DIR"
mkdir -p "$1" 2> /dev/null || fail "cannot create $1"
dir=$(cd "$1" && pwd)

# The peers that share one tree, and the one that needs its own (see header).
main_pkgs=(chrony ntpsec ntpsec-ntpdig ntpsec-ntpdate python3-ntp monitoring-plugins-basic rdate python3-ntplib)
own_tree_pkgs=(openntpd)
timesyncd_pkgs=(systemd-timesyncd)
# The stamp names this script's own hash too, so editing it re-fetches.
stamp_text="fetch-peers $(sha256sum < "${BASH_SOURCE[0]}" | cut -c1-16): ${main_pkgs[*]} | ${own_tree_pkgs[*]} | ${timesyncd_pkgs[*]}"

debs=$dir/debs
log=$dir/fetch.log
stamp=$dir/.stamp
env_file=$dir/peers.env

exec 9>"$dir/.lock"
flock -w 100 9 || fail "timed out waiting for another fetch-peers.sh on $dir"

summary() {
    # shellcheck source=/dev/null
    source "$env_file"
    echo "fetch-peers: peers in $dir"
    local line
    while IFS= read -r line; do echo "  $line"; done < "$dir/versions.txt"
    echo "  chronyd  = $CHRONYD"
    echo "  ntpd     = $NTPD (ntpsec)"
    echo "  ntpdig   = $NTPDIG"
    echo "  ntpdate  = $NTPDATE"
    echo "  openntpd = $OPENNTPD"
    echo "  check_ntp_time = $CHECK_NTP_TIME"
    echo "  rdate    = $RDATE"
}

if [[ -f $stamp && $(<"$stamp") == "$stamp_text" && -f $env_file && -d $dir/root && -d $dir/root-openntpd &&
      -d $dir/root-timesyncd ]]; then
    summary
    exit 0
fi

: > "$log"
mkdir -p "$debs"

# download PKG... — into $debs; one `apt-get update` and a retry if the first try fails
# (stale or missing package lists). Output goes to the log, not the terminal.
download() {
    local attempt
    for attempt in 1 2; do
        if (cd "$debs" && apt-get -o APT::Sandbox::User=root download "$@") >> "$log" 2>&1; then
            return 0
        fi
        [[ $attempt == 1 ]] && { apt-get update >> "$log" 2>&1 || true; }
    done
    fail "apt-get download failed for: $* (see $log)"
}

deb_of() {
    local f=("$debs/$1"_*.deb)
    [[ -f ${f[0]} ]] || fail "no .deb for $1 in $debs after download (see $log)"
    echo "${f[0]}"
}

# unpack TREE PKG... — dpkg -x into TREE.
unpack() {
    local tree=$1 pkg
    shift
    for pkg in "$@"; do
        dpkg -x "$(deb_of "$pkg")" "$tree" >> "$log" 2>&1 || fail "dpkg -x failed for $pkg (see $log)"
    done
}

lib_dirs() { find "$1" -name '*.so*' -type f -printf '%h\n' | sort -u | paste -sd:; }

# missing_libs TREE — sonames the tree's ELF files need that neither the system
# nor the tree provides.
missing_libs() {
    local tree=$1 ld_path f
    ld_path=$(lib_dirs "$tree")
    find "$tree" -type f \( -perm -u+x -o -name '*.so*' \) -print0 |
        while IFS= read -r -d '' f; do
            [[ $(head -c 4 "$f" | od -An -c | tr -d ' ') == 177ELF ]] || continue
            LD_LIBRARY_PATH=$ld_path ldd "$f" 2>/dev/null | awk '/not found/ {print $1}'
        done | sort -u
}

# lib_deps PKG... — library packages (lib*) the packages depend on that are not installed.
lib_deps() {
    apt-cache depends "$@" 2>/dev/null | awk '$1 ~ /Depends:/ && $2 ~ /^lib/ {print $2}' | sort -u |
        while read -r p; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
        done
}

rm -f "$stamp"
all_pkgs=("${main_pkgs[@]}" "${own_tree_pkgs[@]}")
download "${all_pkgs[@]}" "${timesyncd_pkgs[@]}"

# Unpack into fresh trees, renamed into place once complete.
rm -rf "$dir/root.new" "$dir/root-openntpd.new" "$dir/root-timesyncd"
mkdir -p "$dir/root.new" "$dir/root-openntpd.new" "$dir/root-timesyncd"
unpack "$dir/root.new" "${main_pkgs[@]}"
unpack "$dir/root-openntpd.new" "${own_tree_pkgs[@]}"
unpack "$dir/root-timesyncd" "${timesyncd_pkgs[@]}"

# Shared libraries the base system lacks: fetch the not-installed lib* dependencies
# (a few rounds, for their own dependencies) until ldd is satisfied.
extra_pkgs=()
for tree in "$dir/root.new" "$dir/root-openntpd.new"; do
    frontier=("${all_pkgs[@]}")
    for _round in 1 2 3 4; do
        [[ -z $(missing_libs "$tree") ]] && break
        mapfile -t new < <(lib_deps "${frontier[@]}")
        [[ ${#new[@]} -gt 0 ]] || break
        download "${new[@]}"
        unpack "$tree" "${new[@]}"
        extra_pkgs+=("${new[@]}")
        frontier=("${new[@]}")
    done
    still=$(missing_libs "$tree" | paste -sd' ')
    [[ -z $still ]] || fail "unresolved shared libraries in $(basename "$tree" .new): $still"
done

rm -rf "$dir/root" "$dir/root-openntpd"
mv "$dir/root.new" "$dir/root"
mv "$dir/root-openntpd.new" "$dir/root-openntpd"

# ntpsec's python module loads libntpc.so through ctypes: first beside its own
# __init__.py, then via ldconfig/gcc (absent on a bare system), then at the absolute
# /usr/lib path. A relative link beside the module lets the unpacked copy find its own.
ntp_mod=$dir/root/usr/lib/python3/dist-packages/ntp
libntpc=("$dir"/root/usr/lib/*/ntp/libntpc.so.1)
[[ -d $ntp_mod && -e ${libntpc[0]} ]] || fail "python3-ntp unpacked without ntp/ or libntpc.so.1"
ln -sfn "../../../${libntpc[0]#"$dir/root/usr/lib/"}" "$ntp_mod/libntpc.so"

root=$dir/root
{
    for p in "${all_pkgs[@]}" "${timesyncd_pkgs[@]}" "${extra_pkgs[@]}"; do
        f=$(deb_of "$p")
        echo "$p $(dpkg-deb -f "$f" Version)"
    done
} > "$dir/versions.txt"

{
    printf 'PEERS_ROOT=%q\n' "$root"
    printf 'PEERS_OPENNTPD_ROOT=%q\n' "$dir/root-openntpd"
    printf 'CHRONYD=%q\n' "$root/usr/sbin/chronyd"
    printf 'NTPD=%q\n' "$root/usr/sbin/ntpd"
    printf 'NTPDIG=%q\n' "$root/usr/bin/ntpdig"
    printf 'NTPDATE=%q\n' "$root/usr/sbin/ntpdate"
    printf 'OPENNTPD=%q\n' "$dir/root-openntpd/usr/sbin/ntpd"
    printf 'CHECK_NTP_TIME=%q\n' "$root/usr/lib/nagios/plugins/check_ntp_time"
    printf 'RDATE=%q\n' "$root/usr/sbin/rdate"
    printf 'TIMESYNCD=%q\n' "$dir/root-timesyncd/lib/systemd/systemd-timesyncd"
    printf 'PEERS_PATH=%q\n' "$root/usr/bin:$root/usr/sbin"
    printf 'PEERS_PYTHONPATH=%q\n' "$root/usr/lib/python3/dist-packages"
    printf 'PEERS_LD_LIBRARY_PATH=%q\n' "$(lib_dirs "$root")"
    printf 'PEERS_OPENNTPD_LD_LIBRARY_PATH=%q\n' "$(lib_dirs "$dir/root-openntpd")"
} > "$env_file"

# shellcheck source=/dev/null
source "$env_file"
for f in "$CHRONYD" "$NTPD" "$NTPDIG" "$NTPDATE" "$OPENNTPD" "$CHECK_NTP_TIME" "$RDATE"; do
    [[ -x $f ]] || fail "expected executable missing after unpack: $f"
done

echo "$stamp_text" > "$stamp"
summary
