#!/usr/bin/env python3
"""killwatch.py PID TIMEOUT_S [MAX_EXTRA_MS] [COMM_REGEX]

Used by bench/faults/crash.sh to SIGKILL a daemon *during* a data-plane write: polls
/proc/PID/task/*/children about every 0.2 ms (no forks); as soon as PID has a child whose
name matches COMM_REGEX (default ^nft$: our daemon applies each data-plane change with one
`nft -f -` transaction), waits a random 0..MAX_EXTRA_MS ms (default 3) and sends SIGKILL to
PID. After TIMEOUT_S seconds without such a child it sends SIGKILL anyway.
Prints one line: "hit COMM CHILD_PID SEEN_MS KILL_MS CHILD_ALIVE_AFTER" or
"miss - - - KILL_MS -" (times from start, ms).
"""
import glob
import os
import random
import re
import signal
import sys
import time


def children(pid):
    out = []
    for f in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(f) as fh:
                out.extend(int(x) for x in fh.read().split())
        except OSError:
            pass
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def main():
    pid = int(sys.argv[1])
    timeout = float(sys.argv[2])
    extra = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    pat = re.compile(sys.argv[4] if len(sys.argv) > 4 else r"^nft$")
    t0 = time.monotonic()
    deadline = t0 + timeout
    tasks = f"/proc/{pid}/task"
    while time.monotonic() < deadline:
        if not os.path.isdir(tasks):
            print("gone - - - - -")
            return
        for c in children(pid):
            name = comm(c)
            if pat.search(name):
                seen = (time.monotonic() - t0) * 1000
                time.sleep(random.uniform(0, extra) / 1000)
                os.kill(pid, signal.SIGKILL)
                killed = (time.monotonic() - t0) * 1000
                still = "yes" if os.path.isdir(f"/proc/{c}") else "no"
                print(f"hit {name} {c} {seen:.1f} {killed:.1f} {still}")
                return
        time.sleep(0.0002)
    os.kill(pid, signal.SIGKILL)
    print(f"miss - - - {(time.monotonic() - t0) * 1000:.1f} -")


if __name__ == "__main__":
    main()
