#!/usr/bin/python3
"""A hostile NTS-KE server (RFC 8915 §4) for the client's robustness tests: TLS 1.3 with the
test certificate, ALPN "ntske/1" selected, then one named misbehaviour on every connection.

usage: hostile_ke_server.py --mode MODE --cert PEM --key PEM [--lifetime S] [--max-connections N] [--seed N]

Prints "listening on 127.0.0.1:PORT" (port 0: the kernel's choice) and serves connections, each
on its own thread, until --max-connections have come or --lifetime seconds have passed; then it
exits by itself, whatever its connections are doing. Nothing else goes to stdout or stderr (a
test that reads only the first line must not block it on a full pipe).

Modes (what each connection gets once TLS is up and the request has been read, 1 s at most):
  garbage                 4 KiB of (seeded) random bytes as TLS application data, then close
  raw-garbage             4 KiB of random bytes on the TCP stream itself, beneath TLS, then close
  endless                 valid non-critical records of an unknown type, never End of Message
  huge                    16 records of 65535 octets each (about 1 MiB), then held open
  huge-header             a record header claiming 65535 octets, 100 of them, then held open
  stall-handshake         TCP accepted, the ClientHello read, no TLS answer ever
  stall-after-handshake   TLS completed, the request read, no answer ever
  slowloris               the valid response, one octet per TLS record every 200 ms
  close-mid-record        Next Protocol, then half an AEAD record, then close_notify and close
  reset-mid-record        the same half response, then a TCP reset (no close_notify)
"""
import argparse
import os
import random
import socket
import ssl
import struct
import sys
import threading
import time

MODES = ("garbage", "raw-garbage", "endless", "huge", "huge-header", "stall-handshake",
         "stall-after-handshake", "slowloris", "close-mid-record", "reset-mid-record")

END_OF_MESSAGE = b"\x80\x00\x00\x00"
UNKNOWN_TYPE = 0x4321  # not in the RFC 8915 §7.6 registry; critical bit clear: to be ignored
ENDLESS_CAP = 64 << 20  # octets per connection, so that even endless ends


def record(rtype: int, body: bytes, critical: bool = False) -> bytes:
    return struct.pack("!HH", (0x8000 if critical else 0) | rtype, len(body)) + body


def valid_response() -> bytes:
    """What a correct server answers (NTPv4, AEAD_AES_SIV_CMAC_256, eight cookies, End of Message)."""
    out = record(1, struct.pack("!H", 0), critical=True)
    out += record(4, struct.pack("!H", 15), critical=True)
    for i in range(8):
        out += record(5, bytes([i]) * 100)
    return out + END_OF_MESSAGE


class Connection:
    def __init__(self, raw: socket.socket, ctx: ssl.SSLContext, mode: str, deadline: float, seed: int):
        self.raw, self.ctx, self.mode, self.deadline = raw, ctx, mode, deadline
        self.rng = random.Random(seed)
        self.tls = None

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def hold_open(self, sock) -> None:
        """Sends nothing more; returns when the peer closes or the lifetime ends."""
        while self.left() > 0:
            sock.settimeout(min(1.0, max(self.left(), 0.01)))
            try:
                if not sock.recv(4096):
                    return
            except socket.timeout:
                continue
            except (OSError, ssl.SSLError):
                return

    def read_request(self) -> None:
        """The client's request, up to its End of Message (framed), 1 s or 4 KiB, whichever is first."""
        got, end = b"", time.monotonic() + 1.0
        while len(got) < 4096 and time.monotonic() < end:
            self.tls.settimeout(max(end - time.monotonic(), 0.01))
            try:
                chunk = self.tls.recv(4096)
            except (socket.timeout, ssl.SSLWantReadError):
                break
            if not chunk:
                break
            got += chunk
            at = 0
            while at + 4 <= len(got):
                rtype, length = struct.unpack_from("!HH", got, at)
                if rtype == 0x8000 and length == 0:
                    return
                at += 4 + length

    def run(self) -> None:
        try:
            self.raw.settimeout(max(self.left(), 0.01))
            if self.mode == "stall-handshake":
                self.raw.recv(4096)  # the ClientHello
                self.hold_open(self.raw)
                return
            self.tls = self.ctx.wrap_socket(self.raw, server_side=True, do_handshake_on_connect=False)
            self.tls.settimeout(min(5.0, max(self.left(), 0.01)))
            self.tls.do_handshake()
            self.read_request()
            self.tls.settimeout(min(5.0, max(self.left(), 0.01)))
            getattr(self, "mode_" + self.mode.replace("-", "_"))()
        except (OSError, ssl.SSLError, ValueError):
            pass  # the client left, or refused us: that is its business
        finally:
            try:
                (self.tls or self.raw).close()
            except OSError:
                pass

    def mode_garbage(self) -> None:
        self.tls.sendall(self.rng.randbytes(4096))
        self.tls.unwrap()

    def mode_raw_garbage(self) -> None:
        # Beneath TLS (the plain socket's sendall): the client's record layer sees no TLS record.
        socket.socket.sendall(self.tls, self.rng.randbytes(4096))

    def mode_endless(self) -> None:
        chunk = b"".join(record(UNKNOWN_TYPE, self.rng.randbytes(12)) for _ in range(1024))
        sent = 0
        while sent < ENDLESS_CAP and self.left() > 0:
            self.tls.sendall(chunk)
            sent += len(chunk)

    def mode_huge(self) -> None:
        body = self.rng.randbytes(65535)
        for _ in range(16):
            if self.left() <= 0:
                return
            self.tls.sendall(record(UNKNOWN_TYPE, body))
        self.hold_open(self.tls)

    def mode_huge_header(self) -> None:
        self.tls.sendall(struct.pack("!HH", UNKNOWN_TYPE, 65535) + self.rng.randbytes(100))
        self.hold_open(self.tls)

    def mode_stall_after_handshake(self) -> None:
        self.hold_open(self.tls)

    def mode_slowloris(self) -> None:
        for octet in valid_response():
            if self.left() <= 0:
                return
            self.tls.sendall(bytes([octet]))
            time.sleep(0.2)
        self.hold_open(self.tls)

    def half_response(self) -> bytes:
        return record(1, struct.pack("!H", 0), critical=True) + record(4, struct.pack("!H", 15), critical=True)[:5]

    def mode_close_mid_record(self) -> None:
        self.tls.sendall(self.half_response())
        self.tls.unwrap()

    def mode_reset_mid_record(self) -> None:
        self.tls.sendall(self.half_response())
        self.tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", required=True, choices=MODES)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--lifetime", type=float, default=30.0, help="seconds before it exits by itself (30, the most)")
    p.add_argument("--max-connections", type=int, default=64)
    p.add_argument("--seed", type=int, default=8915, help="of the random bytes, the same on every connection")
    a = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["ntske/1"])
    deadline = time.monotonic() + min(a.lifetime, 30.0)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    threads = []
    for _ in range(a.max_connections):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        listener.settimeout(left)
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            break
        t = threading.Thread(target=Connection(conn, ctx, a.mode, deadline, a.seed).run, daemon=True)
        t.start()
        threads.append(t)
    listener.close()
    for t in threads:
        t.join(max(deadline - time.monotonic(), 0))
    sys.stdout.flush()
    os._exit(0)  # threads still running are cut off with the process: the lifetime is a bound


if __name__ == "__main__":
    sys.exit(main())
