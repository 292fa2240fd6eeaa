#!/usr/bin/env python3
"""hup-loop.py PID COUNT INTERVAL_MS SAMPLE_EVERY [TOGGLE_SRC TOGGLE_ALT TARGET] > samples.tsv

The reload loop of bench/faults/reload-traffic.sh: sends COUNT SIGHUPs to PID, one every
INTERVAL_MS (paced on a monotonic clock), and every SAMPLE_EVERY SIGHUPs (and at 0 and at the
end) prints one line: hups_sent, seconds since start, total VmRSS kB of PID and all its
descendants, the per-process VmRSS list, and utime+stime ticks of them all.
With TOGGLE_SRC TOGGLE_ALT TARGET, before each SIGHUP TARGET is replaced (atomically, by
rename) with TOGGLE_SRC's or TOGGLE_ALT's content, alternately: every reload then changes the
configuration.
Stops early (and says so on stderr) if PID disappears.
"""
import os
import shutil
import signal
import sys
import time

pid = int(sys.argv[1])
count = int(sys.argv[2])
interval = float(sys.argv[3]) / 1000
every = int(sys.argv[4])
toggle = sys.argv[5:8] if len(sys.argv) >= 8 else None


def descendants(p):
    out = [p]
    i = 0
    while i < len(out):
        q = out[i]
        i += 1
        try:
            for t in os.listdir(f"/proc/{q}/task"):
                with open(f"/proc/{q}/task/{t}/children") as fh:
                    out.extend(int(x) for x in fh.read().split())
        except OSError:
            pass
    return out


def sample(sent, t0):
    total = 0
    parts = []
    ticks = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/status") as fh:
                name = ""
                for line in fh:
                    if line.startswith("Name:"):
                        name = line.split()[1]
                    if line.startswith("VmRSS:"):
                        kb = int(line.split()[1])
                        total += kb
                        parts.append(f"{name}:{p}:{kb}")
            with open(f"/proc/{p}/stat") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
                ticks += int(f[11]) + int(f[12])
        except (OSError, ValueError, IndexError):
            pass
    print(f"{sent}\t{time.monotonic() - t0:.3f}\t{total}\t{','.join(parts)}\t{ticks}", flush=True)


t0 = time.monotonic()
sample(0, t0)
next_at = t0
sent = 0
for i in range(count):
    now = time.monotonic()
    if now < next_at:
        time.sleep(next_at - now)
    next_at += interval
    if toggle:
        src = toggle[i % 2]
        tmp = toggle[2] + ".tmp"
        shutil.copyfile(src, tmp)
        os.rename(tmp, toggle[2])
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        print(f"hup-loop: pid {pid} gone after {sent} SIGHUPs", file=sys.stderr)
        break
    sent += 1
    if sent % every == 0:
        sample(sent, t0)
if sent % every:
    sample(sent, t0)
