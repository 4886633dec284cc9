#!/usr/bin/python3
"""The shipped systemd unit's system call filter, for real: ntp-server runs as the unit starts it
(--leap auto, --user nobody, no CAP_SYS_TIME) under the unit's own SystemCallFilter= lines,
rebuilt with libseccomp (python3-seccomp) from systemd's own group lists (systemd-analyze
syscall-filter), and must answer a query. As a control, the same filter without the unit's
line for the clock calls must kill it with SIGSYS, as systemd would: the test can fail.
The clock is read (never set) before and after, and must not have moved.

usage: unit_filter.py UNIT NTP_SERVER NTP_PROBE CLOCKCHECK
Exit 0 pass, 1 fail, 77 skip (not root, or no systemd-analyze).
"""
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

PR_CAPBSET_DROP = 24
CAP_SYS_TIME = 25
# systemd.exec(5): with an allow list these are always allowed, besides the listed groups.
IMPLICIT = ["execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn"]


def unit_filter(unit_text):
    """The allowed names and groups of every SystemCallFilter= line (all allow lists here)."""
    names = []
    for line in unit_text.splitlines():
        m = re.match(r"^SystemCallFilter=(.*)$", line.strip())
        if not m:
            continue
        value = m.group(1).strip()
        if value.startswith("~"):
            sys.exit("unit_filter.py: the unit has a deny list (%s); this test rebuilds allow lists only" % line)
        names.extend(value.split())
    if not names:
        sys.exit("unit_filter.py: the unit has no SystemCallFilter=")
    return names


def systemd_groups():
    out = subprocess.run(["systemd-analyze", "syscall-filter"], check=True, capture_output=True, text=True,
                         timeout=30).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line.strip()
            groups[current] = []
        elif current and line.strip() and not line.strip().startswith("#"):
            groups[current].append(line.strip())
    return groups


def expand(names, groups):
    out, seen = set(), set()

    def walk(n):
        if n.startswith("@"):
            if n in seen:
                return
            seen.add(n)
            if n not in groups:
                sys.exit("unit_filter.py: systemd knows no group %s" % n)
            for m in groups[n]:
                walk(m)
        else:
            out.add(n)

    for n in names:
        walk(n)
    return out | set(IMPLICIT)


def start_filtered(server, args, allowed):
    """Forks; the child drops CAP_SYS_TIME, loads the filter and execs the server."""
    import ctypes
    import seccomp

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            os.dup2(write_fd, 1)
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_CAPBSET_DROP, CAP_SYS_TIME, 0, 0, 0) != 0:
                os._exit(90)
            f = seccomp.SyscallFilter(defaction=seccomp.KILL_PROCESS)
            for name in sorted(allowed):
                try:
                    f.add_rule(seccomp.ALLOW, name)
                except (ValueError, RuntimeError, OSError):
                    pass  # a name this architecture or libseccomp does not have
            f.load()
            os.execv(server, [server] + args)
        finally:
            os._exit(91)
    os.close(write_fd)
    return pid, read_fd


def read_line(fd, seconds):
    data, end = b"", time.monotonic() + seconds
    while b"\n" not in data and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").split("\n")[0]


def wait(pid, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def clock(clockcheck):
    line = subprocess.run([clockcheck], check=True, capture_output=True, text=True, timeout=10).stdout
    return dict(kv.split("=", 1) for kv in line.split())


def main():
    unit_path, server, probe, clockcheck = sys.argv[1:5]
    if os.geteuid() != 0:
        print("unit_filter.py: skipped: needs root (the unit binds as root and drops to nobody)")
        return 77
    if subprocess.run(["sh", "-c", "command -v systemd-analyze"], capture_output=True).returncode != 0:
        print("unit_filter.py: skipped: no systemd-analyze to read systemd's group lists")
        return 77
    unit = open(unit_path, encoding="utf-8").read()
    exec_start = re.search(r"^ExecStart=\S+ (.*)$", unit, re.M).group(1).split()
    names = unit_filter(unit)
    groups = systemd_groups()
    allowed = expand(names, groups)
    args = exec_start + ["--listen", "127.0.0.1:0"]  # the unit's arguments, on a free loopback port
    print("unit: SystemCallFilter=%s -> %d system calls; ntp-server %s" % (" ".join(names), len(allowed), " ".join(args)))
    before = clock(clockcheck)
    ok = True

    pid, fd = start_filtered(server, args, allowed)
    line = read_line(fd, 10)
    m = re.match(r"^NTP server listening on 127\.0\.0\.1:(\d+)$", line)
    if not m:
        status = wait(pid, 2)
        print("FAIL: under the unit's filter the server did not start (%r; %s)" % (line, describe(status)))
        return 1
    port = m.group(1)
    q = subprocess.run([probe, "query", "127.0.0.1:" + port, "-t", "1", "--format", "json"], capture_output=True,
                       text=True, timeout=30)
    try:
        doc = json.loads(q.stdout)
    except ValueError:
        doc = {}
    if doc.get("received") != 1:
        print("FAIL: the server under the unit's filter did not answer a query: %s %s" % (q.stdout, q.stderr))
        ok = False
    else:
        r = doc["replies"][0]
        print("answered under the filter: LI %s, stratum %s, refid %s" % (r.get("leap"), r.get("stratum"), r.get("refid")))
    time.sleep(1.2)  # past the server's state refresh (adjtimex again)
    if os.waitpid(pid, os.WNOHANG)[0] != 0:
        print("FAIL: the server died under the unit's filter")
        return 1
    os.kill(pid, signal.SIGHUP)  # systemctl reload: the counters, and it goes on
    time.sleep(0.2)
    if os.waitpid(pid, os.WNOHANG)[0] != 0:
        print("FAIL: the server died on SIGHUP under the unit's filter")
        return 1
    os.kill(pid, signal.SIGTERM)
    status = wait(pid, 10)
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        print("FAIL: the server did not exit cleanly on SIGTERM under the filter: %s" % describe(status))
        ok = False
    os.close(fd)

    # The control: without the unit's allow line for the clock calls, --leap auto is fatal.
    bare = expand([n for n in names if n.startswith("@")], groups)
    pid, fd = start_filtered(server, args, bare)
    status = wait(pid, 10)
    os.close(fd)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS:
        print("control: with %s alone the server is killed with SIGSYS, as under systemd" %
              " ".join(n for n in names if n.startswith("@")))
    else:
        print("FAIL: the control did not die of SIGSYS (%s): the test cannot tell a wrong filter" % describe(status))
        ok = False

    after = clock(clockcheck)
    step = int(after["realtime_minus_monotonic_ns"]) - int(before["realtime_minus_monotonic_ns"])
    if abs(step) > 50_000_000 or any(before[k] != after[k] for k in ("status", "freq", "offset", "tick")):
        print("!!! FAIL: THE SYSTEM CLOCK MOVED during this test: before %s, after %s" % (before, after))
        ok = False
    print("unit filter: %s" % ("pass" if ok else "FAIL"))
    return 0 if ok else 1


def describe(status):
    if os.WIFSIGNALED(status):
        return "killed by %s" % signal.Signals(os.WTERMSIG(status)).name
    if os.WIFEXITED(status):
        return "exit %d" % os.WEXITSTATUS(status)
    return "status %d" % status


if __name__ == "__main__":
    sys.exit(main())
