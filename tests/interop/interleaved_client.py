#!/usr/bin/python3
"""An NTP client that asks for RFC 9769 interleaved mode, and records what it sends and gets.

    interleaved_client.py HOST PORT COUNT PCAP

Sends COUNT client requests, 0.3 s apart, from one socket. The first is a basic request; each
next one carries, as its origin, the receive timestamp of the server's last reply and, as its
receive, the time that reply arrived (RFC 9769 section 2): a server that supports interleaved
mode then answers with the request's receive field as origin and the transmit timestamp of its
previous reply. Every datagram sent and received is written to PCAP (link type RAW, IPv4 + UDP,
in the order they happened). Prints one line per exchange: basic or interleaved. Exit 0 when
every request was answered; 1 otherwise. Python standard library only; bounded in count and time.
"""
import socket
import struct
import sys
import time

NTP_EPOCH = 2208988800


def ntp(t):
    s = int(t)
    return (s + NTP_EPOCH) << 32 | int((t - s) * 2**32)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(src, dst, payload):
    (sa, sp), (da, dp) = src, dst
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(sa) + socket.inet_aton(da) + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sp, dp, udp_len, 0) + payload
    udp = udp[:6] + struct.pack("!H", checksum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0,
                     socket.inet_aton(sa), socket.inet_aton(da))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + udp


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    host, port, count, path = sys.argv[1], int(sys.argv[2]), min(int(sys.argv[3]), 50), sys.argv[4]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    sock.connect((host, port))
    here, there = sock.getsockname(), sock.getpeername()
    records = []  # (unix time, src, dst, payload)
    origin = receive = 0
    answered = 0
    for i in range(count):
        t1 = time.time()
        transmit = ntp(t1)
        request = struct.pack("!BBbbII4sQQQQ", 0x23, 0, 6, 0, 0, 0, b"\0" * 4, 0, origin, receive, transmit)
        sock.send(request)
        records.append((t1, here, there, request))
        try:
            reply = sock.recv(2048)
        except socket.timeout:
            print("%d: no reply" % i)
            continue
        t4 = time.time()
        records.append((t4, there, here, reply))
        answered += 1
        h = struct.unpack("!BBbbII4sQQQQ", reply[:48])
        mode = "interleaved" if receive and h[8] == receive and h[8] != transmit else "basic"
        print("%d: %s reply, stratum %d, origin %016x, receive %016x, transmit %016x" % (i, mode, h[1], h[8], h[9], h[10]))
        origin, receive = h[9], ntp(t4)
        time.sleep(0.3)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for t, src, dst, payload in records:
            data = frame(src, dst, payload)
            f.write(struct.pack("<IIII", int(t), int((t - int(t)) * 1e6), len(data), len(data)) + data)
    sys.exit(0 if answered == count else 1)


if __name__ == "__main__":
    main()
