#!/usr/bin/env python3
"""http-probe.py URL_HOST PORT SECONDS [INTERVAL_MS] [TIMEOUT_MS] > summary.json

The client of bench/faults/reload-traffic.sh: one new TCP connection and one HTTP/1.0 GET
every INTERVAL_MS (default 10), each bounded by TIMEOUT_MS (default 1000), for SECONDS (or
until SIGTERM/SIGINT). A request fails when it cannot connect, times out, or does not get a
200 answer. Prints JSON: counts, answers by body (the real server's / node's name), failures
with their times (seconds since start) and the longest run of consecutive failures.
"""
import json
import signal
import socket
import sys
import time

host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
interval = (float(sys.argv[4]) if len(sys.argv) > 4 else 10.0) / 1000
timeout = (float(sys.argv[5]) if len(sys.argv) > 5 else 1000.0) / 1000

stop = False


def on_signal(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)

req = f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode()
t0 = time.monotonic()
end = t0 + seconds
n = ok = 0
answers = {}
failures = []
reasons = {}
streak_start = None
longest = 0.0
next_at = t0
while not stop and time.monotonic() < end:
    now = time.monotonic()
    if now < next_at:
        time.sleep(next_at - now)
    next_at += interval
    t = time.monotonic() - t0
    n += 1
    err = None
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(req)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
            err = "status:" + head.split(b"\r\n", 1)[0].decode(errors="replace")
        else:
            name = body.decode(errors="replace").strip()
            answers[name] = answers.get(name, 0) + 1
    except socket.timeout:
        err = "timeout"
    except OSError as e:
        err = type(e).__name__
    if err is None:
        ok += 1
        if streak_start is not None:
            longest = max(longest, t - streak_start)
            streak_start = None
    else:
        failures.append([round(t, 3), err])
        reasons[err] = reasons.get(err, 0) + 1
        if streak_start is None:
            streak_start = t
if streak_start is not None:
    longest = max(longest, time.monotonic() - t0 - streak_start)
print(json.dumps({
    "requests": n,
    "ok": ok,
    "failed": n - ok,
    "answers": answers,
    "failure_reasons": reasons,
    "longest_outage_s": round(longest, 3),
    "duration_s": round(time.monotonic() - t0, 3),
    "failures": failures[:200],
}))
