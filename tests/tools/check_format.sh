#!/usr/bin/env bash
# Every C++ file of ours is as .clang-format (pinned to clang-format 14, Debian 12's) would write
# it. Exit 0 formatted, 1 not (the files are named; `clang-format -i FILE` fixes them), 77 no
# clang-format 14 here.
#   check_format.sh SOURCE_DIR
set -euo pipefail
cd "$1"
tool=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z $tool ]] || ! "$tool" --version | grep -q "version 14\."; then
    echo "check_format: skipped: no clang-format 14"
    exit 77
fi
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
else
    mapfile -t files < <(find lib capture server probe fuzz tests bench -name '*.cpp' -o -name '*.hpp' | sort)
fi
bad=()
for f in "${files[@]}"; do
    "$tool" --dry-run -Werror "$f" > /dev/null 2>&1 || bad+=("$f")
done
if [[ ${#bad[@]} -gt 0 ]]; then
    echo "check_format: ${#bad[@]} of ${#files[@]} files are not as .clang-format writes them (clang-format -i fixes them):"
    printf '  %s\n' "${bad[@]}"
    exit 1
fi
echo "check_format: ${#files[@]} files formatted"
