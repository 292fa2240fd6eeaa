#!/usr/bin/env python3
"""vrrp-forge.py: forged and malformed VRRP adverts on an Ethernet interface (AF_PACKET), for
bench/faults/hostile-flood.sh and bench/faults/security.sh. Root, inside a test namespace.

  vrrp-forge.py flood IFACE CLASS SECONDS [--rate PPS] [common options]
      sends CLASS as fast as it can (or at PPS) for SECONDS; prints JSON {"class", "sent",
      "seconds", "pps", "per_class": {...}}
  vrrp-forge.py send IFACE CLASS COUNT [--gap MS] [common options]
      sends COUNT packets, GAP ms apart (default 10)
  vrrp-forge.py show CLASS [common options]
      prints the packet in hex (for checking)

common options: --src IP (default 192.0.2.66) --dst IP (default 224.0.0.18; a unicast
  address is sent to --dst-mac) --dst-mac MAC --vrid N (51) --prio N (254) --vip IP
  (192.0.2.50) --auth PASSWORD (bench42) --adver-int S (1, VRRPv2 seconds) --version 2|3
  (2; v3 uses centiseconds and no auth)

CLASS (each otherwise a valid, *higher priority* advert for --vrid, so that a daemon that
accepted it would give up mastership):
  valid      nothing wrong (for checks: a daemon must take it)
  ttl        IP TTL 64 instead of 255                  -> our reason ttl
  vrid       VRID 52..250 (not --vrid, cycling)        -> unknown_vrid
  checksum   VRRP checksum off by one                  -> checksum
  auth       PASS password "wrong!!!"                  -> auth_failure
  truncated  IP packet cut 6 bytes into the VRRP header -> truncated
  oversized  1400-byte VRRP payload, count_ip 1        -> length
  version    VRRP version 4                            -> length (a version other than 2/3
                                                          has no auth data) or version
  unicast    valid advert sent to --unicast-dst (default 192.0.2.11, MAC --unicast-mac
             02:00:00:00:00:11) instead of the group   -> cast_mismatch on a multicast instance
  mixed      all the invalid classes above in turn
"""
import argparse
import json
import socket
import struct
import sys
import time

INVALID = ["ttl", "vrid", "checksum", "auth", "truncated", "oversized", "version", "unicast"]


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def mcast_mac(ip):
    b = socket.inet_aton(ip)
    return bytes([0x01, 0x00, 0x5E, b[1] & 0x7F, b[2], b[3]])


def build(cls, a, n=0):
    """One Ethernet frame of class cls (n varies what can vary)."""
    version = a.version
    vrid = a.vrid
    ttl = 255
    auth = a.auth.encode()[:8].ljust(8, b"\0")
    src, dst = a.src, a.dst
    if cls == "ttl":
        ttl = 64
    elif cls == "vrid":
        vrid = 52 + (n % 199)
        if vrid == a.vrid:
            vrid += 1
    elif cls == "auth":
        auth = b"wrong!!!"
    elif cls == "version":
        version = 4
    elif cls == "unicast":
        dst = a.unicast_dst
    vip = socket.inet_aton(a.vip)
    if version == 3 or (version == 4 and a.version == 3):
        interval = int(round(a.adver_int * 100)) & 0x0FFF
        vr = struct.pack("!BBBBH", (version << 4) | 1, vrid, a.prio, 1, interval) + b"\0\0" + vip
        # v3 IPv4 checksum over a pseudo-header
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 112, len(vr))
        c = csum(pseudo + vr)
    else:
        vr = struct.pack("!BBBBBBH", (version << 4) | 1, vrid, a.prio, 1, 1, int(a.adver_int), 0) + vip + auth
        c = csum(vr)
    if cls == "checksum":
        c = (c + 1) & 0xFFFF
    vr = vr[:6] + struct.pack("!H", c) + vr[8:]
    if cls == "oversized":
        vr = vr + bytes(1400 - len(vr))
    if cls == "truncated":
        vr = vr[:6]
    total = 20 + len(vr)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, total, n & 0xFFFF, 0, ttl, 112, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    if dst == a.dst and socket.inet_aton(dst)[0] >= 224:
        dmac = mcast_mac(dst)
    else:
        dmac = mac(a.unicast_mac if cls == "unicast" else a.dst_mac)
    return dmac + mac(a.src_mac) + b"\x08\x00" + ip + vr


def frames(cls, a):
    classes = INVALID if cls == "mixed" else [cls]
    out = []
    for c in classes:
        k = 199 if c == "vrid" else 1
        for n in range(k):
            out.append((c, build(c, a, n)))
    if cls == "mixed":
        # round robin over classes, vrid cycling inside its own slot
        by = {c: [f for (cc, f) in out if cc == c] for c in classes}
        rr = []
        for i in range(199):
            for c in classes:
                rr.append((c, by[c][i % len(by[c])]))
        return rr
    return out


def iface_mac(iface):
    with open(f"/sys/class/net/{iface}/address") as fh:
        return fh.read().strip()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["flood", "send", "show"])
    p.add_argument("args", nargs="*")
    p.add_argument("--src", default="192.0.2.66")
    p.add_argument("--dst", default="224.0.0.18")
    p.add_argument("--dst-mac", default="ff:ff:ff:ff:ff:ff")
    p.add_argument("--unicast-dst", default="192.0.2.11")
    p.add_argument("--unicast-mac", default="02:00:00:00:00:11")
    p.add_argument("--vrid", type=int, default=51)
    p.add_argument("--prio", type=int, default=254)
    p.add_argument("--vip", default="192.0.2.50")
    p.add_argument("--auth", default="bench42")
    p.add_argument("--adver-int", type=float, default=1.0)
    p.add_argument("--version", type=int, default=2)
    p.add_argument("--ttl", type=int, default=None, help="override the TTL (send/show)")
    p.add_argument("--rate", type=float, default=0.0)
    p.add_argument("--gap", type=float, default=10.0)
    a = p.parse_args()
    if a.cmd == "show":
        a.src_mac = "02:00:00:00:00:66"
        for c, f in frames(a.args[0], a)[:3]:
            print(c, f.hex())
        return
    iface = a.args[0]
    cls = a.args[1]
    a.src_mac = iface_mac(iface)
    fr = frames(cls, a)
    if a.ttl is not None:
        # rebuild the IP header with this TTL
        new = []
        for c, f in fr:
            ip = bytearray(f[14:34])
            ip[8] = a.ttl
            ip[10:12] = b"\0\0"
            ip[10:12] = struct.pack("!H", csum(bytes(ip)))
            new.append((c, f[:14] + bytes(ip) + f[34:]))
        fr = new
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    per = {}
    sent = 0
    t0 = time.monotonic()
    if a.cmd == "send":
        count = int(a.args[2])
        for i in range(count):
            c, f = fr[i % len(fr)]
            s.send(f)
            per[c] = per.get(c, 0) + 1
            sent += 1
            time.sleep(a.gap / 1000)
    else:
        seconds = float(a.args[2])
        end = t0 + seconds
        n = len(fr)
        i = 0
        send = s.send
        if a.rate > 0:
            gap = 1.0 / a.rate
            nxt = t0
            while True:
                now = time.monotonic()
                if now >= end:
                    break
                if now < nxt:
                    time.sleep(nxt - now)
                nxt += gap
                c, f = fr[i % n]
                try:
                    send(f)
                    per[c] = per.get(c, 0) + 1
                    sent += 1
                except OSError:
                    pass
                i += 1
        else:
            counts = [0] * n
            only = [f for (_, f) in fr]
            while True:
                # batches of 256 between clock reads
                for _ in range(256):
                    j = i % n
                    try:
                        send(only[j])
                        counts[j] += 1
                    except OSError:
                        pass
                    i += 1
                if time.monotonic() >= end:
                    break
            for j, (c, _) in enumerate(fr):
                per[c] = per.get(c, 0) + counts[j]
            sent = sum(counts)
    dt = time.monotonic() - t0
    print(json.dumps({"class": cls, "sent": sent, "seconds": round(dt, 3),
                      "pps": round(sent / dt if dt else 0), "per_class": per}))


if __name__ == "__main__":
    main()
