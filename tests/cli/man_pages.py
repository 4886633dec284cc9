#!/usr/bin/python3
"""The man pages say what the binaries do: every option each --help lists (the top level and
every subcommand) is in the page, the page names the binary's version, and groff renders it
without a warning.

usage: man_pages.py NTP_PROBE ntp-probe.1 NTP_SERVER ntp-server.8
"""
import re
import shutil
import subprocess
import sys


def help_options(binary, *sub):
    text = subprocess.run([binary, *sub, "--help"], check=True, capture_output=True, text=True, timeout=30).stdout
    options = set(re.findall(r"^\s+(?:-\w,)?(--[a-z0-9-]+)", text, re.M))
    commands = re.findall(r"^Subcommands:\n((?:  \S.*\n)+)", text, re.M)
    subs = re.findall(r"^  (\w+)\s", commands[0], re.M) if commands else []
    return options, subs


def check(binary, page):
    problems = []
    roff = open(page, encoding="utf-8").read()
    # In roff a hyphen in an option is written \-.
    plain = roff.replace("\\-", "-")
    options, subs = help_options(binary)
    for sub in subs:
        more, _ = help_options(binary, sub)
        options |= more
        if not re.search(r"\b%s\b" % sub, plain):
            problems.append("%s: the subcommand %s is not described" % (page, sub))
    options.discard("--help")
    for option in sorted(options):
        if option not in plain:
            problems.append("%s: %s is in --help but not in the page" % (page, option))
    version = subprocess.run([binary, "--version"], check=True, capture_output=True, text=True).stdout.split()[-1]
    if ("ntpkit %s" % version) not in roff.splitlines()[0]:
        problems.append("%s: .TH does not name version %s: %s" % (page, version, roff.splitlines()[0]))
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True, text=True, timeout=30)
        if r.returncode != 0 or r.stderr.strip():
            problems.append("%s: groff warns: %s" % (page, r.stderr.strip()))
    return problems, len(options)


problems = []
for binary, page in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    p, n = check(binary, page)
    problems += p
    print("%s: %d options checked" % (page, n))
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
