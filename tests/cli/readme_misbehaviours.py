#!/usr/bin/env python3
"""README's misbehaviour table is what `ntp-server --list-misbehaviours --format markdown` prints.
With --write it puts that table in README.md (`cmake --build build --target readme`).

usage: readme_misbehaviours.py NTP_SERVER README.md [--write]
"""
import difflib
import subprocess
import sys

server, readme = sys.argv[1], sys.argv[2]
table = subprocess.run([server, "--list-misbehaviours", "--format", "markdown"], check=True,
                       capture_output=True, text=True, timeout=30).stdout
text = open(readme, encoding="utf-8").read()
start = text.find("| name | effect |\n")
if start < 0:
    sys.exit("README.md has no misbehaviour table ('| name | effect |')")
end = text.find("\n\n", start)
shown = text[start:end + 1]
if shown != table and "--write" in sys.argv[3:]:
    open(readme, "w", encoding="utf-8").write(text[:start] + table + text[end + 1:])
    print("README.md's table now lists the %d misbehaviours" % (table.count("\n") - 2))
    sys.exit(0)
if shown != table:
    sys.stdout.writelines(difflib.unified_diff(shown.splitlines(True), table.splitlines(True),
                                               "README.md", "ntp-server --list-misbehaviours"))
    sys.exit("README.md's misbehaviour table is stale: cmake --build build --target readme")
print("README.md's table lists the %d misbehaviours" % (table.count("\n") - 2))
