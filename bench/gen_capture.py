#!/usr/bin/python3
"""Synthetic NTP capture for the replay benchmark, with a known set of planted faults.

    gen_capture.py [-n PACKETS] [--seed N] [--interval-us US] OUT.pcap
        writes OUT.pcap (Ethernet/IPv4/UDP, microsecond pcap) and OUT.expected.json beside it,
        and prints the expected counts per rule.
    gen_capture.py verify OUT.expected.json REPORT.json
        compares `ntp-probe replay --format json OUT.pcap` with the plan: every finding (rule,
        frames, client, server) and every counter must match exactly. Exit 0 if they do, 1 if not.

The capture is plain NTPv4 client/server traffic (48-byte requests and replies) between 5,000
clients and 4 servers, two pairs of symmetric peers, and a few mode 6 and broadcast packets.
One event starts every 8 ms (--interval-us 8000, about 250 packets/s: a 1M-packet file spans
about 67 minutes of capture time, a 100k one about 7), so the analyzer's 120 s flow window holds
about the same state in both. A smaller interval gives a busier capture. Client c acts every
max(5000, 2.5 s / interval) events (40 s at 8 ms), so no client has two exchanges in flight.

Planted, per 1,000,000 packets (scaled with -n, at least one of each):
  origin_lowbit     reply origin = request transmit XOR 1 (lowest bit of the fraction)
                    -> rfc5905/8/origin-copy, paired by flow
  version           reply VN 3 to a VN 4 request          -> rfc5905/A.5.1/vn4
  zero_transmit     reply transmit 0                      -> rfc5905/8/transmit-nonzero
  poll              reply poll 10 to a poll 6 request     -> rfc5905/8/poll-echo
  receive_after_transmit  receive 1 ms after transmit     -> rfc5905/8/receive-before-transmit
  amplification     68-byte reply (20-byte MAC) to a 48-byte request -> rfc5905/8/no-amplification
  kiss              stratum 0, LI 0, reference ID 127.0.0.1, no kiss code -> rfc5905/7.4/kiss-code
  stratum           stratum 17                            -> rfc5905/7.3/stratum-range
  leap              LI 3 with stratum 2                   -> rfc5905/7.3/leap-consistent
  duplicate         the reply sent twice                  -> rfc5905/8/one-reply (+ duplicate_replies)
  malformed         20-byte datagram to port 123          -> rfc5905/7.3/well-formed (+ malformed)
  symmetric_origin  mode 1/2 origin off in its lowest bit -> rfc5905/9.2/mode1
  unanswered        a request with no reply               -> unanswered (no finding)
  retransmit        the same request again 1 s later      -> retransmissions (no finding)
  misordered        the reply before its request in the file -> replies_before_request (no finding)
  unsolicited       a reply to a client that never asked  -> unsolicited (no finding)
  mode6, broadcast  counted only
"""

import argparse
import heapq
import json
import random
import struct
import sys
from collections import Counter
from pathlib import Path

NTP_MINUS_UNIX = 2_208_988_800
START_NS = 1_704_067_200 * 10**9  # 2024-01-01T00:00:00Z
SLOT_NS = 8_000_000               # default: one event starts every 8 ms (jittered inside the slot)
MIN_CLIENTS = 5000                # client c acts in slots c, c + n_clients, ...: every 40 s at 8 ms
MIN_CLIENT_PERIOD_NS = 2_500_000_000  # > a retransmission's 1 s + the longest round trip
N_SERVERS = 4
SYM_PERIOD = 8000                 # slots between two rounds of a symmetric pair: 64 s
SYM_PAIRS = 2
FLOW_TIMEOUT_NS = 120 * 10**9     # the analyzer's default

PER_MILLION = {
    "origin_lowbit": 100, "version": 50, "zero_transmit": 40, "poll": 30, "receive_after_transmit": 30,
    "amplification": 20, "kiss": 20, "stratum": 20, "leap": 20, "duplicate": 60, "malformed": 15,
    "symmetric_origin": 10, "unanswered": 200, "retransmit": 50, "misordered": 40, "unsolicited": 25,
    "mode6": 30, "broadcast": 30,
}
# Packets each planted event puts in the file (a normal exchange is 2).
EVENT_PACKETS = {"unanswered": 1, "duplicate": 3, "retransmit": 3, "unsolicited": 1, "malformed": 1, "broadcast": 1}
# Faults judged on an exchange, and the one finding each gives.
EXCHANGE_RULE = {
    "origin_lowbit": "rfc5905/8/origin-copy",
    "version": "rfc5905/A.5.1/vn4",
    "zero_transmit": "rfc5905/8/transmit-nonzero",
    "poll": "rfc5905/8/poll-echo",
    "receive_after_transmit": "rfc5905/8/receive-before-transmit",
    "amplification": "rfc5905/8/no-amplification",
    "kiss": "rfc5905/7.4/kiss-code",
    "stratum": "rfc5905/7.3/stratum-range",
    "leap": "rfc5905/7.3/leap-consistent",
}
ALL_RULES = [
    "rfc5905/8/origin-copy", "rfc5905/8/reply-mode", "rfc5905/A.5.1/vn4", "rfc5905/8/poll-echo",
    "rfc5905/8/receive-before-transmit", "rfc5905/8/transmit-nonzero", "rfc5905/8/no-amplification",
    "rfc5905/7.4/kiss-code", "rfc5905/7.3/stratum-range", "rfc5905/7.3/leap-consistent", "rfc5905/8/one-reply",
    "rfc5905/7.3/well-formed", "rfc5905/9.2/mode1",
]

NTP_HDR = struct.Struct(">BBbbII4sQQQQ")
PCAP_REC = struct.Struct("<IIII")
ETH_IP_UDP = struct.Struct(">6s6sHBBHHHBBH4s4sHHHH")
ETHERTYPE_IPV4 = 0x0800


def ntp(ns):
    """NTP timestamp (64-bit) of a Unix time in nanoseconds."""
    sec, frac_ns = divmod(ns, 10**9)
    return ((sec + NTP_MINUS_UNIX) << 32) | ((frac_ns << 32) // 10**9)


class Host:
    __slots__ = ("ip", "mac", "addr_sum", "port", "text")

    def __init__(self, ip, port, mac):
        self.ip = bytes(ip)
        self.mac = mac
        self.addr_sum = (self.ip[0] << 8 | self.ip[1]) + (self.ip[2] << 8 | self.ip[3])
        self.port = port
        self.text = "%d.%d.%d.%d" % tuple(self.ip)

    def endpoint(self):
        return "%s:%d" % (self.text, self.port)


class Writer:
    """Orders packets by time (a heap of what is scheduled), numbers frames, writes pcap records."""

    def __init__(self, path):
        self.f = open(path, "wb")
        # pcap global header: microsecond timestamps, snaplen 65535, LINKTYPE_ETHERNET.
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.buf = bytearray()
        self.heap = []
        self.seq = 0
        self.frames = 0
        self.bytes = 0

    def push(self, t_ns, src, dst, payload, tag=None):
        """Schedule a UDP datagram src -> dst at t_ns. tag = (dict, key) receives its frame number."""
        self.seq += 1
        ip_len = 28 + len(payload)
        ident = self.seq & 0xFFFF
        s = 0x4500 + 0x4000 + 0x4011 + src.addr_sum + dst.addr_sum + ip_len + ident
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        frame = ETH_IP_UDP.pack(dst.mac, src.mac, ETHERTYPE_IPV4, 0x45, 0, ip_len, ident, 0x4000, 64, 17,
                                ~s & 0xFFFF, src.ip, dst.ip, src.port, dst.port, 8 + len(payload), 0) + payload
        heapq.heappush(self.heap, (t_ns, self.seq, frame, tag))

    def flush_until(self, t_ns):
        heap, buf = self.heap, self.buf
        while heap and heap[0][0] <= t_ns:
            t, _, frame, tag = heapq.heappop(heap)
            self.frames += 1
            sec, ns = divmod(t, 10**9)
            n = len(frame)
            buf += PCAP_REC.pack(sec, ns // 1000, n, n)
            buf += frame
            self.bytes += 16 + n
            if tag is not None:
                tag[0][tag[1]] = self.frames
            if len(buf) >= 1 << 22:
                self.f.write(buf)
                buf.clear()

    def close(self):
        self.flush_until(1 << 80)
        self.f.write(self.buf)
        self.f.close()
        return self.bytes + 24


def plan_counts(packets):
    scale = packets / 1_000_000
    counts = {k: max(1, round(v * scale)) for k, v in PER_MILLION.items()}
    extra = sum(n * (EVENT_PACKETS.get(k, 2) - 2) for k, n in counts.items() if k != "symmetric_origin")
    if (packets - extra) % 2:  # one more 1-packet event makes the total exact
        counts["broadcast"] += 1
        extra -= 1
    return counts, (packets - extra) // 2


def generate(path, packets, seed, slot_ns=SLOT_NS):
    rng = random.Random(seed)
    counts, n_slots = plan_counts(packets)
    n_clients = max(MIN_CLIENTS, -(-MIN_CLIENT_PERIOD_NS // slot_ns))

    servers = [Host((192, 0, 2, 1 + i), 123, bytes((2, 0, 0, 0, 1, 1 + i))) for i in range(N_SERVERS)]
    clients = []
    for c in range(n_clients):
        ip = (172, 16 + (c >> 16), (c >> 8) & 0xFF, c & 0xFF)
        clients.append(Host(ip, 32768 + (c * 7919) % 28000, bytes((2, 0, 1, c >> 16, (c >> 8) & 0xFF, c & 0xFF))))
    client_offset = [rng.randrange(-50_000, 50_000) * 1000 for _ in range(n_clients)]  # client clocks, +-50 ms
    strangers = [Host((198, 51, 100, 1 + k % 250), 40000 + k, bytes((2, 0, 0, 2, 0, k % 250))) for k in range(counts["unsolicited"])]
    broadcast_dst = Host((255, 255, 255, 255), 123, b"\xff" * 6)
    peers = [(Host((192, 0, 2, 101 + 2 * p), 123, bytes((2, 0, 0, 3, p, 1))),
              Host((192, 0, 2, 102 + 2 * p), 123, bytes((2, 0, 0, 3, p, 2)))) for p in range(SYM_PAIRS)]
    refids = [bytes((203, 0, 113, 1 + i)) for i in range(N_SERVERS)]

    # Which slots hold what. Symmetric rounds at fixed slots (every 64 s per pair).
    sym_offset = [500 + 1000 * p for p in range(SYM_PAIRS)]
    sym_slot = {}
    for p in range(SYM_PAIRS):
        for s in range(sym_offset[p], n_slots, SYM_PERIOD):
            sym_slot[s] = p
    sym_rounds = [len(range(sym_offset[p], n_slots, SYM_PERIOD)) for p in range(SYM_PAIRS)]
    # Symmetric origin faults: any packet but a pair's very first (origin 0, never checked).
    sym_candidates = [(p, r, d) for p in range(SYM_PAIRS) for r in range(sym_rounds[p]) for d in (0, 1) if (r, d) != (0, 0)]
    sym_faults = set(rng.sample(sym_candidates, min(counts["symmetric_origin"], len(sym_candidates))))
    counts["symmetric_origin"] = len(sym_faults)

    # An unanswered request stays pending for 120 s; a reply that comes before its request on the
    # same flow in that time would be paired with it by flow. Keep the two on disjoint clients.
    kind_of = {}
    free = [s for s in range(n_slots) if s not in sym_slot]
    for kind, cls in (("unanswered", 0), ("misordered", 1)):
        for s in rng.sample([s for s in free if (s % n_clients) % 4 == cls], counts[kind]):
            kind_of[s] = kind
    free = [s for s in free if s not in kind_of]
    others = [k for k in PER_MILLION if k not in ("unanswered", "misordered", "symmetric_origin")]
    picked = iter(rng.sample(free, sum(counts[k] for k in others)))
    for kind in others:
        for _ in range(counts[kind]):
            kind_of[next(picked)] = kind

    w = Writer(path)
    records = []  # planted events whose findings need frame numbers
    stats = Counter()
    server_exchanges = Counter()
    sym_last = [[None, None] for _ in range(SYM_PAIRS)]  # per pair: (transmit, time) of A's and B's last packet
    sym_round = [0] * SYM_PAIRS
    stranger = 0
    getrandbits, randrange = rng.getrandbits, rng.randrange
    mode6_resp = b"version=\"ntpd 4.2.8p15\", processor=\"x86_64\", system=\"Linux\", leap=00, stratum=2, precision=-23".ljust(180, b" ")

    for s in range(n_slots):
        t = START_NS + s * slot_ns + randrange(0, slot_ns // 2, 1000)
        w.flush_until(t)
        if s in sym_slot:
            p = sym_slot[s]
            r = sym_round[p]
            sym_round[p] += 1
            a, b = peers[p]
            for d, (src, dst, mode, when) in enumerate(((a, b, 1, t), (b, a, 2, t + 2_000_000))):
                peer_last = sym_last[p][1 - d]
                origin = peer_last[0] if peer_last else 0
                if peer_last is not None:
                    assert when - peer_last[1] < FLOW_TIMEOUT_NS - 10**10
                    stats["symmetric_checks"] += 1
                rec = None
                if (p, r, d) in sym_faults:
                    origin ^= 1
                    rec = {"rule": "rfc5905/9.2/mode1", "client": src.endpoint(), "server": dst.endpoint(), "server_addr": dst.text}
                    records.append(rec)
                tx = ntp(when) ^ getrandbits(12)
                payload = NTP_HDR.pack(0x20 | mode, 2, 6, -23, 0x100, 0x200, refids[p % N_SERVERS], ntp(when - 10**10),
                                       origin, ntp(when - 10**6) if d else 0, tx)
                w.push(when, src, dst, payload, (rec, "reply") if rec else None)
                sym_last[p][d] = (tx, when)
                stats["symmetric_packets"] += 1
            continue

        c = s % n_clients
        cl, sv = clients[c], servers[c % N_SERVERS]
        kind = kind_of.get(s, "normal")
        rtt = randrange(200_000, 30_000_000, 1000)
        T = ntp(t + client_offset[c]) ^ getrandbits(12)

        if kind == "malformed":
            rec = {"rule": "rfc5905/7.3/well-formed", "client": cl.endpoint(), "server": sv.endpoint(), "server_addr": sv.text}
            records.append(rec)
            w.push(t, cl, sv, bytes((0x23, 0, 6, 0xEC)) + bytes(16), (rec, "request"))
            stats["malformed"] += 1
            continue
        if kind == "broadcast":
            w.push(t, sv, broadcast_dst, NTP_HDR.pack(0x25, 2, 6, -23, 0x100, 0x200, refids[c % N_SERVERS], ntp(t - 10**10), 0, 0, ntp(t)))
            stats["broadcast"] += 1
            continue
        if kind == "mode6":
            req = struct.pack(">BBHHHHH", 0x16, 0x02, s & 0xFFFF, 0, 0, 0, 0)
            resp = struct.pack(">BBHHHHH", 0x16, 0x82, s & 0xFFFF, 0x0615, 0, 0, len(mode6_resp)) + mode6_resp
            w.push(t, cl, sv, req)
            w.push(t + rtt, sv, cl, resp)
            stats["mode6_requests"] += 1
            stats["mode6_request_bytes"] += len(req)
            stats["mode6_responses"] += 1
            stats["mode6_response_bytes"] += len(resp)
            continue
        if kind == "unsolicited":
            st = strangers[stranger]
            stranger += 1
            rx = ntp(t - 10**6)
            w.push(t, sv, st, NTP_HDR.pack(0x24, 2, 6, -23, 0x100, 0x200, refids[c % N_SERVERS], ntp(t - 10**10),
                                           ntp(t - 2 * 10**6) ^ getrandbits(20), rx, rx + 107_374))
            stats["replies"] += 1
            stats["unsolicited"] += 1
            continue

        request = NTP_HDR.pack(0x23, 0, 6, -20, 0, 0, b"\0\0\0\0", 0, 0, 0, T)
        stats["requests"] += 1
        if kind == "unanswered":
            w.push(t, cl, sv, request)
            stats["unanswered"] += 1
            continue

        # An exchange with a reply.
        rx = ntp(t + rtt // 2)
        tx = rx + 107_374 + getrandbits(10)  # ~25 us later
        vn_mode, stratum, poll, origin, refid = 0x24, 2, 6, T, refids[c % N_SERVERS]
        trailer = b""
        if kind == "origin_lowbit":
            origin = T ^ 1
        elif kind == "version":
            vn_mode = 0x1C
        elif kind == "zero_transmit":
            tx = 0
        elif kind == "poll":
            poll = 10
        elif kind == "receive_after_transmit":
            rx = tx + 4_294_967  # 1 ms after transmit
        elif kind == "amplification":
            trailer = struct.pack(">I", 1) + bytes(16)
        elif kind == "kiss":
            stratum, refid = 0, b"\x7f\x00\x00\x01"
        elif kind == "stratum":
            stratum = 17
        elif kind == "leap":
            vn_mode = 0xE4
        reply = NTP_HDR.pack(vn_mode, stratum, poll, -23, 0x100, 0x200, refid, ntp(t - 10**10), origin, rx, tx) + trailer

        rec = None
        if kind in EXCHANGE_RULE:
            rec = {"rule": EXCHANGE_RULE[kind], "client": cl.endpoint(), "server": sv.endpoint(), "server_addr": sv.text}
            if kind == "origin_lowbit":
                rec["lowbit"] = True
            records.append(rec)
        elif kind == "duplicate":
            rec = {"rule": "rfc5905/8/one-reply", "client": cl.endpoint(), "server": sv.endpoint(), "server_addr": sv.text,
                   "no_request_frame": True}
            records.append(rec)
        req_tag = (rec, "request") if rec is not None and kind != "duplicate" else None
        rep_tag = (rec, "reply") if rec is not None and kind != "duplicate" else None

        if kind == "misordered":
            w.push(t, sv, cl, reply)
            w.push(t + 100_000, cl, sv, request)
            stats["replies_before_request"] += 1
        else:
            w.push(t, cl, sv, request, req_tag)
            if kind == "retransmit":
                w.push(t + 10**9, cl, sv, request)
                stats["requests"] += 1
                stats["retransmissions"] += 1
                w.push(t + 10**9 + rtt, sv, cl, reply)
            else:
                w.push(t + rtt, sv, cl, reply, rep_tag)
            if kind == "duplicate":
                w.push(t + rtt + 50_000, sv, cl, reply, (rec, "reply"))
                stats["replies"] += 1
                stats["duplicate_replies"] += 1
        stats["replies"] += 1
        stats["exchanges"] += 1
        server_exchanges[sv.text] += 1
        if kind == "origin_lowbit":
            stats["paired_by_flow"] += 1

    total_bytes = w.close()
    assert w.frames == packets, (w.frames, packets)

    findings = []
    server_findings = Counter()
    for rec in records:
        rq = 0 if rec.get("no_request_frame") else rec.get("request", 0)
        rp = rec.get("reply", 0)
        findings.append({"rule": rec["rule"], "request_frame": rq, "reply_frame": rp, "client": rec["client"],
                         "server": rec["server"], "lowbit": bool(rec.get("lowbit"))})
        server_findings[rec["server_addr"]] += 1
    findings.sort(key=lambda f: (f["reply_frame"] or f["request_frame"], f["rule"]))
    per_rule = {r: 0 for r in ALL_RULES}
    for f in findings:
        per_rule[f["rule"]] += 1

    expected_stats = {
        "frames": packets, "ntp_datagrams": packets,
        "requests": stats["requests"], "replies": stats["replies"], "exchanges": stats["exchanges"],
        "unanswered": stats["unanswered"], "unsolicited": stats["unsolicited"],
        "replies_before_request": stats["replies_before_request"], "paired_by_flow": stats["paired_by_flow"],
        "retransmissions": stats["retransmissions"], "duplicate_replies": stats["duplicate_replies"],
        "malformed": stats["malformed"], "broadcast": stats["broadcast"],
        "symmetric": {"packets": stats["symmetric_packets"], "origin_checks": stats["symmetric_checks"],
                      "origin_failures": counts["symmetric_origin"]},
        "mode6": {"requests": stats["mode6_requests"], "request_bytes": stats["mode6_request_bytes"],
                  "responses": stats["mode6_responses"], "response_bytes": stats["mode6_response_bytes"]},
        "mode7": {"requests": 0, "request_bytes": 0, "responses": 0, "response_bytes": 0},
        "icmp_errors": 0, "tcp_on_ntp_port": 0, "fragments_pending": 0, "fragments_given_up": 0,
    }
    servers_expected = {}
    for addr in sorted(set(server_exchanges) | set(server_findings)):
        servers_expected[addr] = {"exchanges": server_exchanges[addr], "findings": server_findings[addr]}
    return {
        "capture": str(path), "packets": packets, "bytes": total_bytes, "seed": seed, "interval_us": slot_ns // 1000,
        "clients": n_clients, "capture_seconds": round(n_slots * slot_ns / 1e9, 1),
        "planted": counts, "rules": per_rule, "stats": expected_stats, "servers": servers_expected,
        "findings": findings,
    }


def rule_summary(per_rule):
    short = lambda r: r.rsplit("/", 1)[1]
    return ", ".join("%s %d" % (short(r), n) for r, n in per_rule.items() if n)


def verify(expected_path, report_path):
    exp = json.loads(Path(expected_path).read_text())
    try:
        rep = json.loads(Path(report_path).read_text())
    except (OSError, ValueError) as e:
        print("planted findings: MISMATCH (%s is not a JSON report: %s)" % (report_path, e))
        return 1
    files = rep.get("files", [])
    if len(files) != 1:
        print("verify: the report holds %d files, expected 1" % len(files))
        return 1
    f = files[0]
    problems = []
    if f.get("error"):
        problems.append("error: %s" % f["error"])

    def cmp(path, want, got):
        if isinstance(want, dict):
            for k, v in want.items():
                cmp(path + "." + k, v, (got or {}).get(k))
        elif want != got:
            problems.append("%s: expected %s, got %s" % (path, want, got))

    for k, v in exp["stats"].items():
        cmp(k, v, f.get(k))
    cmp("servers", exp["servers"], f.get("servers"))
    if set(f.get("servers", {})) != set(exp["servers"]):
        problems.append("servers: expected %s, got %s" % (sorted(exp["servers"]), sorted(f.get("servers", {}))))

    key = lambda x: (x["rule"], x.get("request_frame", 0), x.get("reply_frame", 0), x["client"], x["server"])
    want = Counter(key(x) for x in exp["findings"])
    got = Counter(key(x) for x in f.get("findings", []))
    missing, extra = want - got, got - want
    for k in list(missing)[:10]:
        problems.append("missing finding %s frames %s -> %s (%s -> %s)" % k)
    for k in list(extra)[:10]:
        problems.append("unexpected finding %s frames %s -> %s (%s -> %s)" % k)
    if len(missing) + len(extra) > 20:
        problems.append("... %d missing and %d unexpected findings in all" % (sum(missing.values()), sum(extra.values())))

    # The lowest-bit origin faults: each found at its frames, and reported as a difference in bit 0.
    lowbit = [x for x in exp["findings"] if x.get("lowbit")]
    by_frames = {(x["rule"], x.get("request_frame", 0), x.get("reply_frame", 0)): x for x in f.get("findings", [])}
    lowbit_found = 0
    for x in lowbit:
        g = by_frames.get((x["rule"], x["request_frame"], x["reply_frame"]))
        if g is None:
            continue
        if "differs in bits 0000000000000001" not in g.get("actual", ""):
            problems.append("origin-copy frames %d -> %d: actual %r does not name bit 0" % (x["request_frame"], x["reply_frame"], g.get("actual")))
            continue
        lowbit_found += 1

    got_rules = Counter(x["rule"] for x in f.get("findings", []))
    print("planted findings: %s (%s)" % ("exact" if not problems else "MISMATCH", rule_summary(exp["rules"])))
    print("lowest-bit origin faults found at their frames: %d of %d" % (lowbit_found, len(lowbit)))
    if problems:
        print("found per rule: %s" % rule_summary({r: got_rules.get(r, 0) for r in ALL_RULES}))
        for p in problems[:40]:
            print("  " + p)
        return 1
    return 0


def main(argv):
    if len(argv) > 1 and argv[1] == "verify":
        ap = argparse.ArgumentParser(prog="gen_capture.py verify", description="check a replay JSON report against the plan")
        ap.add_argument("expected")
        ap.add_argument("report")
        a = ap.parse_args(argv[2:])
        return verify(a.expected, a.report)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="the capture to write (.pcap); the plan goes to OUT.expected.json")
    ap.add_argument("-n", "--packets", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=5905)
    ap.add_argument("--interval-us", type=int, default=SLOT_NS // 1000,
                    help="capture time between two events (default 8000: about 250 packets/s)")
    a = ap.parse_args(argv[1:])
    if a.interval_us < 4:
        ap.error("--interval-us: at least 4")
    if a.packets < 20_000:
        ap.error("at least 20000 packets (the plan needs room for every planted kind)")
    out = Path(a.out)
    tmp = out.with_name(out.name + ".tmp")
    plan = generate(tmp, a.packets, a.seed, a.interval_us * 1000)
    plan["capture"] = str(out)
    exp_path = out.with_name(out.stem + ".expected.json")
    exp_path.write_text(json.dumps(plan, indent=1) + "\n")
    tmp.replace(out)  # last: a capture present means its plan is complete
    print("%s: %d packets, %.1f MB, %.0f s of capture time, %d clients, seed %d" % (
        out, plan["packets"], plan["bytes"] / 1e6, plan["capture_seconds"], plan["clients"], a.seed))
    print("expected findings: %d (%s)" % (len(plan["findings"]), rule_summary(plan["rules"])))
    s = plan["stats"]
    print("expected counts: exchanges %d, requests %d, replies %d, unanswered %d, unsolicited %d, retransmissions %d, "
          "duplicate replies %d, replies before request %d, paired by flow %d, malformed %d, symmetric %d/%d/%d, "
          "mode 6 %d+%d, broadcast %d" % (
              s["exchanges"], s["requests"], s["replies"], s["unanswered"], s["unsolicited"], s["retransmissions"],
              s["duplicate_replies"], s["replies_before_request"], s["paired_by_flow"], s["malformed"],
              s["symmetric"]["packets"], s["symmetric"]["origin_checks"], s["symmetric"]["origin_failures"],
              s["mode6"]["requests"], s["mode6"]["responses"], s["broadcast"]))
    print("plan: %s" % exp_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
