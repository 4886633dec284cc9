#!/usr/bin/env python3
"""check.py — replay one capture and compare the verdict with its sidecar.

    check.py --probe NTP-PROBE CAPTURE.pcap [--expected FILE]
    check.py --probe NTP-PROBE CAPTURE.pcap --mutate COPY.pcap --expect-mismatch

Runs `ntp-probe replay CAPTURE --format json` and compares its exit code, its counts and its
findings (per rule: how many, and at which frames when the sidecar lists them) with the
sidecar, CAPTURE with .expected for .pcap unless --expected names another. Every difference is
printed. Any rule with findings that the sidecar does not list is a difference: a sidecar
states all of them. The format is in captures/README.md.

--mutate COPY: judge a copy of CAPTURE, written to COPY, in which one byte of the first
server reply's origin timestamp (its lowest byte) is flipped; --expect-mismatch: succeed only
if the comparison finds differences. Together they prove that the comparison can fail.

Exit codes: 0 the verdict is the sidecar's (with --expect-mismatch: it differs), 1 it differs
(with --expect-mismatch: it does not), 2 usage, unreadable sidecar or replay could not judge.
Python 3 standard library only.
"""

import argparse
import json
import os
import re
import struct
import subprocess
import sys

# Keys every sidecar must give (nested counts with a dot); any other count in replay's report
# may be given too. "findings" is the total number of findings.
REQUIRED = ["exit_code", "frames", "ntp_datagrams", "requests", "replies", "exchanges", "unanswered",
            "unsolicited", "paired_by_flow", "retransmissions", "duplicate_replies", "replies_before_request",
            "malformed", "broadcast", "symmetric.packets", "mode6.requests", "mode6.responses",
            "mode7.requests", "mode7.responses", "findings"]
FINDING_RE = re.compile(r"^finding\s+(\S+)$")
PAIR_RE = re.compile(r"^(\d+)->(\d+)$")


class SidecarError(Exception):
    pass


def parse_sidecar(path):
    """Returns (provenance, {key: int}, {rule: (count, [pairs] or None)})."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise SidecarError(f"no sidecar: cannot read {path} ({e.strerror}); every capture needs one "
                           "(format: captures/README.md)") from None
    provenance = None
    counts, findings = {}, {}
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep:
            raise SidecarError(f"{path}:{n}: expected 'KEY: VALUE', got {raw!r}")
        if key == "provenance":
            provenance = value.strip()
            continue
        value = value.split("#", 1)[0].strip()  # a trailing comment
        m = FINDING_RE.match(key)
        if m:
            rule = m.group(1)
            words = value.split()
            if not words or not words[0].isdigit():
                raise SidecarError(f"{path}:{n}: 'finding {rule}:' takes a count, then optionally 'at REQ->REPLY ...'")
            pairs = None
            if len(words) > 1:
                if words[1] != "at" or len(words) < 3 or not all(PAIR_RE.match(w) for w in words[2:]):
                    raise SidecarError(f"{path}:{n}: after the count: 'at REQ->REPLY ...' (frame numbers, 0 for none)")
                pairs = words[2:]
                if len(pairs) != int(words[0]):
                    raise SidecarError(f"{path}:{n}: {words[0]} findings of {rule}, but {len(pairs)} frame pairs")
            if rule in findings:
                raise SidecarError(f"{path}:{n}: rule {rule} given twice")
            findings[rule] = (int(words[0]), pairs)
            continue
        if not re.fullmatch(r"-?\d+", value):
            raise SidecarError(f"{path}:{n}: {key}: expected a whole number, got {value!r}")
        if key in counts:
            raise SidecarError(f"{path}:{n}: {key} given twice")
        counts[key] = int(value)
    if not provenance:
        raise SidecarError(f"{path}: no 'provenance:' line (implementation and version, client, how recorded, date)")
    missing = [k for k in REQUIRED if k not in counts]
    if missing:
        raise SidecarError(f"{path}: no expected value for: {', '.join(missing)} (the keys a sidecar must give: "
                           "captures/README.md)")
    return provenance, counts, findings


def lookup(report, key):
    node = report
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, int) and not isinstance(node, bool) else None


def replay(probe, capture):
    try:
        proc = subprocess.run([probe, "replay", capture, "--format", "json", "--color", "never"],
                              capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SidecarError(f"cannot run {probe} replay: {e}") from None
    if proc.returncode not in (0, 1):
        raise SidecarError(f"ntp-probe replay {capture} exited with {proc.returncode} (2: usage, 3: unreadable file):\n"
                           f"{proc.stderr.strip()}")
    try:
        doc = json.loads(proc.stdout)
        report = doc["files"][0]
    except (ValueError, KeyError, IndexError) as e:
        raise SidecarError(f"ntp-probe replay printed no JSON report with one file ({e}):\n{proc.stdout[:500]}") from None
    return proc.returncode, report


def compare(exit_code, report, counts, findings):
    """Returns the list of differences, one line each."""
    diffs = []
    for key, want in counts.items():
        if key == "exit_code":
            got = exit_code
        elif key == "findings":
            got = len(report.get("findings", []))
        else:
            got = lookup(report, key)
        if got is None:
            diffs.append(f"{key}: the sidecar expects {want}, but replay's report has no count '{key}'")
        elif got != want:
            diffs.append(f"{key}: expected {want}, replay says {got}")
    by_rule = {}
    for f in report.get("findings", []):
        by_rule.setdefault(f["rule"], []).append(f)
    for rule in sorted(set(by_rule) | set(findings)):
        got = by_rule.get(rule, [])
        want, pairs = findings.get(rule, (0, None))
        got_pairs = [f"{f.get('request_frame', 0)}->{f.get('reply_frame', 0)}" for f in got]
        if rule not in findings and got:
            diffs.append(f"finding {rule}: not in the sidecar, replay reports {len(got)} at {' '.join(got_pairs)}")
        elif len(got) != want:
            diffs.append(f"finding {rule}: expected {want}, replay reports {len(got)}"
                         + (f" at {' '.join(got_pairs)}" if got else ""))
        elif pairs is not None and sorted(pairs) != sorted(got_pairs):
            diffs.append(f"finding {rule}: expected at {' '.join(pairs)}, replay reports at {' '.join(got_pairs)}")
        else:
            continue
        for f in got[:5]:
            diffs.append(f"    frames {f.get('request_frame', 0)}->{f.get('reply_frame', 0)}: "
                         f"expected {f.get('expected', '')!r}, actual {f.get('actual', '')!r}")
    return diffs


def mutate(src, dst):
    """Copies the pcap SRC to DST with the lowest byte of the first server reply's origin
    timestamp flipped. Returns a sentence saying where."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    if len(data) < 24:
        raise SidecarError(f"{src}: not a pcap file")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise SidecarError(f"{src}: --mutate reads classic pcap only")
    link = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    pos, frame = 24, 0
    while pos + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[pos + 8:pos + 12])[0]
        pkt = pos + 16
        frame += 1
        ip = {1: 14, 101: 0, 113: 16, 0: 4}.get(link)
        if ip is None:
            raise SidecarError(f"{src}: --mutate knows link types Ethernet, raw IP, SLL and NULL, not {link}")
        ip += pkt
        if link == 1 and data[pkt + 12:pkt + 14] != b"\x08\x00":
            ip = None  # not IPv4
        if ip is not None and data[ip] >> 4 == 4 and data[ip + 9] == 17:
            udp = ip + (data[ip] & 0x0F) * 4
            sport = struct.unpack(">H", data[udp:udp + 2])[0]
            ntp = udp + 8
            if sport == 123 and ntp + 48 <= pkt + incl and data[ntp] & 7 == 4:
                at = ntp + 31  # origin timestamp: bytes 24-31 of the NTP header; its lowest byte
                old = data[at]
                data[at] ^= 0xFF
                with open(dst, "wb") as f:
                    f.write(data)
                return (f"frame {frame}: origin timestamp byte 31 of the NTP header (file offset {at}) "
                        f"0x{old:02x} -> 0x{data[at]:02x}")
        pos = pkt + incl
    raise SidecarError(f"{src}: no IPv4 server reply (UDP source port 123, mode 4) to mutate")


def main():
    ap = argparse.ArgumentParser(description="Replay one capture and compare the verdict with its sidecar.")
    ap.add_argument("capture")
    ap.add_argument("--probe", required=True, help="the ntp-probe executable")
    ap.add_argument("--expected", help="the sidecar (default: CAPTURE with .expected for .pcap)")
    ap.add_argument("--mutate", metavar="COPY", help="judge a copy with one origin byte of the first reply flipped")
    ap.add_argument("--expect-mismatch", action="store_true", help="succeed only if the verdict differs")
    args = ap.parse_args()

    name = os.path.basename(args.capture)
    sidecar = args.expected or os.path.splitext(args.capture)[0] + ".expected"
    try:
        provenance, counts, findings = parse_sidecar(sidecar)
        judged = args.capture
        if args.mutate:
            print(f"{name}: mutated copy {args.mutate}: {mutate(args.capture, args.mutate)}")
            judged = args.mutate
        exit_code, report = replay(args.probe, judged)
    except SidecarError as e:
        print(f"{name}: ERROR: {e}", file=sys.stderr)
        return 2

    print(f"{name}: {provenance}")
    diffs = compare(exit_code, report, counts, findings)
    label = f"{name}{' (mutated copy)' if args.mutate else ''}"
    if diffs:
        print(f"{label}: {len(diffs)} difference(s) from {os.path.basename(sidecar)}:")
        for d in diffs:
            print(f"  {d}")
    else:
        rules = ", ".join(f"{r} {c}" for r, (c, _) in sorted(findings.items()) if c) or "none"
        print(f"{label}: as expected: exit {exit_code}, {report.get('exchanges')} exchanges, findings: {rules}")
    if args.expect_mismatch:
        if diffs:
            print(f"{label}: differs from the sidecar, as it must")
            return 0
        print(f"{label}: FAIL: matches the sidecar although it was changed; the comparison cannot fail", file=sys.stderr)
        return 1
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
