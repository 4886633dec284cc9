#!/usr/bin/python3
"""Compare ntp-probe suite reports (--json FILE) with an expected-outcomes file.

    compare_outcomes.py check EXPECTED REPORT.json [--label NAME] [--version TEXT]
        Exit 0 if every case of the report has the outcome EXPECTED gives it and the two
        name the same cases; otherwise print one block per difference (case, expected
        outcome, actual outcome, and the case's summary / expected / actual from the report,
        with the first datagram sent and the replies, in hex) and exit 1.

    compare_outcomes.py write EXPECTED REPORT.json [REPORT.json...] [--header LINE]...
        Require that all the reports give every case the same outcome (a flip is printed and
        exits 1, writing nothing), then write EXPECTED: the --header lines as '# ' comments,
        then one 'CASE-ID OUTCOME' line per case, in the order the suite ran them.

    compare_outcomes.py table REPORT.json
        Print the report's summary counts and its non-pass cases.

    compare_outcomes.py summary DIR [--peers P,P...] [--suites S,S...]
        From the expected files DIR/PEER.SUITE.txt: one Markdown table of outcome counts per
        suite (a column per peer), then one table of every case that is not 'pass' for some
        peer, with each peer's outcome (the tables of docs/interop.md and README.md).

EXPECTED: '#' lines and blank lines are ignored; 'pass|info' accepts either outcome (a server
that does either, by timing, where the RFC allows both; the summary counts the first); '# version: TEXT' records the peer's version
(check notes, without failing, when --version differs). Exit 2 on bad input.
Python standard library only.
"""
import argparse
import json
import sys

OUTCOMES = ("pass", "fail", "warn", "info", "skip", "inconclusive")


def die(msg):
    print("compare_outcomes: " + msg, file=sys.stderr)
    sys.exit(2)


def load_report(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        die("cannot read report %s: %s" % (path, e))
    cases = doc.get("cases")
    if not isinstance(cases, list):
        die("%s has no 'cases' list" % path)
    seen = {}
    for c in cases:
        cid, outcome = c.get("id"), c.get("outcome")
        if not cid or outcome not in OUTCOMES:
            die(("%s: a case without an id or with an unknown outcome: %r" % (path, c))[:300])
        if cid in seen:
            die("%s: case %s appears twice" % (path, cid))
        seen[cid] = c
    return doc, seen


def load_expected(path):
    expected, version = {}, None
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        die("cannot read expected file %s: %s" % (path, e))
    for n, line in enumerate(lines, 1):
        s = line.strip()
        if s.startswith("# version:"):
            version = s[len("# version:"):].strip()
        if not s or s.startswith("#"):
            continue
        parts = s.split()
        if len(parts) != 2 or any(o not in OUTCOMES for o in parts[1].split("|")):
            die("%s:%d: expected 'CASE-ID OUTCOME' (outcome one of %s, or two joined by '|'), got %r"
                % (path, n, ", ".join(OUTCOMES), line))
        if parts[0] in expected:
            die("%s:%d: case %s listed twice" % (path, n, parts[0]))
        expected[parts[0]] = parts[1]
    return expected, version


def text(value):
    """A report string as the probe meant it. ntp-probe's JSON writer escapes each byte of a
    UTF-8 sequence on its own ('\u00c2\u00a7' for '§'); undo that where the string decodes so."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def evidence(case, indent="      "):
    out = []
    for key in ("summary", "expected", "actual"):
        if case.get(key):
            out.append("%s%-9s %s" % (indent, key + ":", text(case[key])))
    for pkt in case.get("sent", [])[:1]:
        out.append("%s%-9s %s" % (indent, "sent:", pkt.get("hex", "")))
    for pkt in case.get("received", [])[:2]:
        out.append("%s%-9s %s" % (indent, "received:", pkt.get("hex", "")))
    if not case.get("received"):
        out.append("%s%-9s %s" % (indent, "received:", "nothing"))
    return out


def cmd_check(args):
    expected, exp_version = load_expected(args.expected)
    doc, actual = load_report(args.report)
    label = args.label or args.expected
    if args.version and exp_version and args.version != exp_version:
        print("%s: note: %s was recorded against version %s, this run is %s"
              % (label, args.expected, exp_version, args.version))
    diffs = []
    order = list(actual) + [c for c in expected if c not in actual]
    for cid in order:
        exp, case = expected.get(cid), actual.get(cid)
        if case is None:
            diffs.append(["  %s: expected %s, but the suite did not run it (case removed or renamed?)"
                          % (cid, exp)])
        elif exp is None:
            diffs.append(["  %s: not in the expected file (a new case?); actual outcome %s"
                          % (cid, case["outcome"])] + evidence(case))
        elif case["outcome"] not in exp.split("|"):
            diffs.append(["  %s: expected %s, actual %s" % (cid, exp, case["outcome"])]
                         + evidence(case))
    counts = doc.get("summary", {})
    summary = ", ".join("%s %s" % (counts.get(k, 0), k) for k in OUTCOMES)
    if not diffs:
        print("%s: all %d cases as expected (%s)" % (label, len(actual), summary))
        return 0
    print("%s: %d difference%s from %s (this run: %s):"
          % (label, len(diffs), "" if len(diffs) == 1 else "s", args.expected, summary))
    for d in diffs:
        print("\n".join(d))
    return 1


def cmd_write(args):
    runs = [load_report(p) for p in args.reports]
    first_doc, first = runs[0]
    flips = []
    for path, (_, cases) in zip(args.reports[1:], runs[1:]):
        if list(cases) != list(first):
            flips.append("  %s runs other cases than %s" % (path, args.reports[0]))
        for cid, case in first.items():
            other = cases.get(cid)
            if other is not None and other["outcome"] != case["outcome"]:
                flips.append("  %s: %s in %s, %s in %s" % (cid, case["outcome"], args.reports[0],
                                                          other["outcome"], path))
                flips.extend(evidence(case) + evidence(other))
    if flips:
        print("compare_outcomes: the runs disagree; not writing %s:" % args.expected)
        print("\n".join(flips))
        return 1
    with open(args.expected, "w", encoding="utf-8") as f:
        for h in args.header:
            f.write(("# " + h).rstrip() + "\n")
        for cid, case in first.items():
            f.write("%s %s\n" % (cid, case["outcome"]))
    counts = first_doc.get("summary", {})
    print("wrote %s: %d cases, identical in %d run%s (%s)"
          % (args.expected, len(first), len(runs), "" if len(runs) == 1 else "s",
             ", ".join("%s %s" % (counts.get(k, 0), k) for k in OUTCOMES)))
    return 0


def cmd_table(args):
    doc, cases = load_report(args.report)
    counts = doc.get("summary", {})
    print(" ".join("%s=%s" % (k, counts.get(k, 0)) for k in ("total",) + OUTCOMES))
    for cid, case in cases.items():
        if case["outcome"] != "pass":
            print("%s %s | %s" % (cid, case["outcome"], text(case.get("summary", ""))))
    return 0


PEERS = ("ntp-server", "chronyd", "ntpsec", "openntpd")
SUITES = ("rfc5905", "rfc4330", "rfc7822", "security", "ratelimit")
ROWS = (("pass", "passed"), ("fail", "failed"), ("warn", "warnings"), ("info", "info"),
        ("skip", "skipped"), ("inconclusive", "inconclusive"))


def cmd_summary(args):
    peers = args.peers.split(",") if args.peers else list(PEERS)
    suites = args.suites.split(",") if args.suites else list(SUITES)
    table = {}  # (suite, peer) -> {case: outcome}
    for suite in suites:
        for peer in peers:
            path = "%s/%s.%s.txt" % (args.dir, peer, suite)
            table[suite, peer] = load_expected(path)[0]
    head = "| %%s | %s |" % " | ".join(peers)
    rule = "|---|" + "---:|" * len(peers)
    for suite in suites:
        cases = table[suite, peers[0]]
        print(head % ("%s (%d case%s)" % (suite, len(cases), "" if len(cases) == 1 else "s")))
        print(rule)
        for key, label in ROWS:
            counts = [sum(1 for o in table[suite, p].values() if o.split("|")[0] == key) for p in peers]
            if key in ("pass", "fail", "warn", "info") or any(counts):
                print("| %s | %s |" % (label, " | ".join(str(c) for c in counts)))
        print()
    print(head % "case")
    print("|---|" + "---|" * len(peers))
    for suite in suites:
        for cid in table[suite, peers[0]]:
            row = [table[suite, p].get(cid, "-").replace("|", "/") for p in peers]
            if any(o != "pass" for o in row):
                print("| %s `%s` | %s |" % (suite, cid, " | ".join(row)))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check")
    p.add_argument("expected")
    p.add_argument("report")
    p.add_argument("--label")
    p.add_argument("--version")
    p = sub.add_parser("write")
    p.add_argument("expected")
    p.add_argument("reports", nargs="+")
    p.add_argument("--header", action="append", default=[])
    p = sub.add_parser("table")
    p.add_argument("report")
    p = sub.add_parser("summary")
    p.add_argument("dir")
    p.add_argument("--peers")
    p.add_argument("--suites")
    args = ap.parse_args()
    return {"check": cmd_check, "write": cmd_write, "table": cmd_table,
            "summary": cmd_summary}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
