#!/usr/bin/env python3
"""A test client for `ntp-probe client-test`: one SNTP request, one verdict. Two characters:

  --careful  sends a data-minimised request (VN 4, mode 3, a random transmit timestamp, the rest
             zero) from a connected socket, and takes a reply only if its origin is our transmit
             timestamp, it is mode 4, VN 4, stratum 1-15, LI not 3, with nonzero receive and
             transmit timestamps; a kiss-o'-death ends it (no retry); era by the nearest to our
             clock (RFC 5905 §6).
  --sloppy   sends its clock in the origin field as well, takes the first datagram of 48 bytes
             or more from anyone, computes the offset as T3 - T4 with no era, and sends the
             request three more times when it sees a kiss-o'-death.
  --backwards  careful, but prints the offset with the wrong sign (client minus server).
  --deaf     sends the request and takes nothing.

  --loop     a daemon: the exchange again every --interval seconds until it is ended, one line
             for each; careful, it doubles the interval at each RATE and stops asking (but runs
             on) after DENY or RSTR; sloppy, it never changes pace.

Prints "offset SECONDS" and exits 0 when it took the time, else one line and exits 1; with
--print FORMAT it prints as that real client does (chronyd -Q, check_ntp_time, rdate -p, systemd-timesyncd's debug log), so
that client-test's adapters can be tested without the clients.
usage: sntp_client.py --careful|--sloppy|--backwards|--deaf HOST PORT [--wait SECONDS]
                      [--print chronyd|check_ntp_time|rdate|timesyncd] [--loop [--interval S]]
"""
import argparse
import os
import socket
import struct
import sys
import time

NTP_UNIX = 2208988800  # seconds from 1900 to 1970
ERA = 2 ** 32


def to_ntp(t):
    s = int(t) + NTP_UNIX
    return ((s % ERA) << 32) | int((t - int(t)) * ERA)


def from_ntp(raw, near):
    """Seconds since 1970 of a 64-bit NTP timestamp, in the era nearest to `near`."""
    secs, frac = raw >> 32, raw & 0xFFFFFFFF
    base = secs + frac / ERA - NTP_UNIX
    best = None
    for era in (-1, 0, 1, 2):
        t = base + era * ERA
        if best is None or abs(t - near) < abs(best - near):
            best = t
    return best


def report(offset, fmt):
    if fmt == "chronyd":
        print("2026-12-07T00:00:00Z chronyd version 4.3 starting")
        print("2026-12-07T00:00:00Z System clock wrong by %.6f seconds (ignored)" % offset)
    elif fmt == "check_ntp_time":
        print("NTP %s: Offset %.10g secs|offset=%.6fs;60.000000;120.000000;" %
              ("OK" if abs(offset) < 60 else "CRITICAL", offset, offset))
        return 0 if abs(offset) < 60 else 2
    elif fmt == "timesyncd":
        print("NTP response:\n  offset       : %+.3f sec\n  adjust (jump): %+.3f sec" % (offset, offset))
    elif fmt == "rdate":
        print(time.strftime("%a %b %e %H:%M:%S UTC %Y", time.gmtime(time.time() + offset)))
    else:
        print("offset %.6f" % offset)
    return 0


def careful(host, port, wait, sign=1, fmt=None):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))  # the kernel drops replies from any other address or port
    xmt = int.from_bytes(os.urandom(8), "big")
    s.send(struct.pack("!B3x36xQ", 0x23, xmt))
    t1 = time.time()
    s.settimeout(wait)
    try:
        data = s.recv(2048)
    except socket.timeout:
        print("no reply")
        return 1
    t4 = time.time()
    if len(data) < 48:
        print("a reply shorter than a header")
        return 1
    b0, stratum = data[0], data[1]
    li, vn, mode = b0 >> 6, (b0 >> 3) & 7, b0 & 7
    org, rec, tx = struct.unpack("!QQQ", data[24:48])
    if org != xmt:
        print("origin is not my transmit timestamp")
        return 1
    if stratum == 0:
        global last_kiss
        last_kiss = bytes(data[12:16])
        print("kiss-o'-death %r: stopping" % data[12:16])
        return 1
    if mode != 4 or vn != 4 or not 1 <= stratum <= 15 or li == 3 or rec == 0 or tx == 0:
        print("unusable reply: LI %d VN %d mode %d stratum %d" % (li, vn, mode, stratum))
        return 1
    t2, t3 = from_ntp(rec, t1), from_ntp(tx, t4)
    return report(sign * ((t2 - t1) + (t3 - t4)) / 2, fmt)


def deaf(host, port, wait):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    s.send(struct.pack("!B3x36xQ", 0x23, int.from_bytes(os.urandom(8), "big")))
    print("took nothing")
    return 1


def sloppy(host, port, wait):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(wait)
    for attempt in range(4):
        now = time.time()
        s.sendto(struct.pack("!B3x12xQQQQ", 0x1B, 0, to_ntp(now), 0, to_ntp(now)), (host, port))
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            continue
        if len(data) < 48:
            continue
        if data[1] == 0 and attempt < 3:
            continue  # a kiss-o'-death: try again at once
        t4 = time.time()
        tx = struct.unpack("!Q", data[40:48])[0]
        print("offset %.6f" % ((tx >> 32) + (tx & 0xFFFFFFFF) / ERA - NTP_UNIX - t4))
        return 0
    print("no reply")
    return 1


last_kiss = None


def loop(exchange, interval, careful_pace):
    global last_kiss
    while True:
        last_kiss = None
        exchange()
        sys.stdout.flush()
        if careful_pace and last_kiss in (b"DENY", b"RSTR"):
            while True:
                time.sleep(3600)  # no more requests to that server, and running on
        if careful_pace and last_kiss == b"RATE":
            interval *= 2
        time.sleep(interval)


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--careful", action="store_true")
    g.add_argument("--sloppy", action="store_true")
    g.add_argument("--backwards", action="store_true")
    g.add_argument("--deaf", action="store_true")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--wait", type=float, default=1.0)
    ap.add_argument("--print", dest="fmt", choices=("chronyd", "check_ntp_time", "rdate", "timesyncd"))
    ap.add_argument("--loop", action="store_true")
    ap.add_argument("--interval", type=float, default=0.2)
    a = ap.parse_args()
    if a.loop:
        if a.sloppy:
            return loop(lambda: sloppy(a.host, a.port, a.wait), a.interval, False)
        return loop(lambda: careful(a.host, a.port, a.wait, 1, a.fmt), a.interval, True)
    if a.sloppy:
        return sloppy(a.host, a.port, a.wait)
    if a.deaf:
        return deaf(a.host, a.port, a.wait)
    return careful(a.host, a.port, a.wait, -1 if a.backwards else 1, a.fmt)


if __name__ == "__main__":
    sys.exit(main())
