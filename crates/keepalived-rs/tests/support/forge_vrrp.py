#!/usr/bin/env python3
"""Sends malformed and forged VRRPv2 adverts to 224.0.0.18 from the namespace it runs in,
for the hostile-input tests: each class breaks one rule of the receive path.

    forge_vrrp.py SRC VRID PASSWORD COUNT CLASS[,CLASS...]

Sends COUNT packets of each class (round-robin over the classes, paced in bursts so a
daemon that keeps up loses none to its socket buffer), then prints one line per class:
"<class> <sent>". The IP header is ours (IP_HDRINCL): the kernel fills in only the IP
checksum and total length.
"""
import socket
import struct
import sys
import time

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def vrrp(vrid, prio, password, vip, version=2, typ=1, interval=1, bad_sum=False, extra=b""):
    auth = password.encode()[:8].ljust(8, b"\0")
    hdr = struct.pack("!BBBBBBH", (version << 4) | typ, vrid, prio, 1, 1, interval, 0)
    body = hdr + socket.inet_aton(vip) + auth + extra
    c = csum(body)
    if bad_sum:
        c ^= 0x5A5A
    return body[:6] + struct.pack("!H", c) + body[8:]

def v3(vrid, prio, vip):
    hdr = struct.pack("!BBBBHH", 0x31, vrid, prio, 1, 100, 0) + socket.inet_aton(vip)
    return hdr[:6] + struct.pack("!H", csum(hdr)) + hdr[8:]

def ip(src, payload, ttl=255):
    # version/IHL, TOS 0xC0, total length (kernel fills), id, frag, TTL, proto 112, csum (kernel fills)
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, ttl, 112, 0,
                       socket.inet_aton(src), socket.inet_aton("224.0.0.18")) + payload

def main():
    src, vrid, password, count, classes = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5].split(",")
    vip = "192.0.2.250"
    good = lambda **kw: vrrp(vrid, 100, password, vip, **kw)
    make = {
        "ttl": lambda: ip(src, good(), ttl=64),
        "unknown_vrid": lambda: ip(src, vrrp((vrid % 255) + 1, 100, password, vip)),
        "checksum": lambda: ip(src, good(bad_sum=True)),
        "auth_failure": lambda: ip(src, vrrp(vrid, 254, "wrong" + password, vip)),
        # A well-formed VRRPv3 advert (no auth data, 12-bit interval) to a v2 instance: the
        # length is right for its version, the version is not ours.
        "version": lambda: ip(src, v3(vrid, 100, vip)),
        "type": lambda: ip(src, good(typ=2)),
        "interval_mismatch": lambda: ip(src, good(interval=3)),
        "truncated": lambda: ip(src, good()[:6]),
        "oversized": lambda: ip(src, good(extra=b"\0" * 1200)),
    }
    packets = [(c, make[c]()) for c in classes]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    sent = {c: 0 for c in classes}
    for i in range(count):
        for c, p in packets:
            s.sendto(p, ("224.0.0.18", 0))
            sent[c] += 1
        if i % 20 == 19:
            time.sleep(0.002)
    for c in classes:
        print(c, sent[c])

if __name__ == "__main__":
    main()
