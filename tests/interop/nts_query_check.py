#!/usr/bin/env python3
"""Checks `ntp-probe query --nts --format json` output against what RFC 8915 describes for a
server made by an interop test: TLS 1.3, ALPN ntske/1, the certificate verified, AEAD 15, eight
cookies, the NTP port expected (negotiated or not), and every reply authenticated under the S2C
key with the Unique Identifier echoed and a new cookie, its offset below 1 ms on loopback.

usage: nts_query_check.py JSON --peer NAME --ntp-port N [--negotiated | --not-negotiated]
Prints one summary line, and each expectation missed; exits 1 if any was."""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("--peer", required=True)
    ap.add_argument("--ntp-port", type=int, required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--negotiated", dest="negotiated", action="store_true")
    g.add_argument("--not-negotiated", dest="negotiated", action="store_false")
    a = ap.parse_args()
    doc = json.load(open(a.json))
    ke, bad = doc["nts"], []

    def want(ok, what):
        if not ok:
            bad.append(what)

    want(ke["tls_version"] == "TLSv1.3", "TLS 1.3, got %s" % ke["tls_version"])
    want(ke["alpn"] == "ntske/1", "ALPN ntske/1, got %r" % ke["alpn"])
    want(ke["certificate_verified"], "the certificate verified against --ca")
    want(ke["aead"] == 15, "AEAD_AES_SIV_CMAC_256 (15), got %s" % ke["aead"])
    want(ke["cookies"] == 8, "8 cookies, got %s" % ke["cookies"])
    want(ke["negotiated"] == a.negotiated,
         "NTPv4 Port Negotiation %s, got %s" % ("sent" if a.negotiated else "absent", ke["negotiated"]))
    want(ke["ntp_port"] == a.ntp_port, "NTP port %d, got %s" % (a.ntp_port, ke["ntp_port"]))
    replies = doc["replies"]
    want(len(replies) > 0, "at least one reply")
    for i, r in enumerate(replies):
        n = r.get("nts", {})
        want(r["usable"], "reply %d usable (problems: %s)" % (i + 1, r["problems"]))
        want(n.get("authenticated") and n.get("unique_id_echoed"), "reply %d authenticated, UID echoed" % (i + 1))
        want(n.get("new_cookies", 0) >= 1, "reply %d with a new cookie" % (i + 1))
        want(abs(r.get("offset_s", 1)) < 0.001,
             "reply %d offset below 1 ms on loopback, got %s" % (i + 1, r.get("offset_s")))
    for b in bad:
        print("  expected:", b)
    print("%s over NTS: %s, %s, %d cookies of %d octets, NTP port %d%s; %d/%d replies authenticated" % (
        a.peer, ke["tls_version"], ke["tls_cipher"], ke["cookies"], ke["cookie_length"], ke["ntp_port"],
        " (negotiated)" if ke["negotiated"] else "",
        sum(1 for r in replies if r.get("nts", {}).get("authenticated")), len(replies)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
