#!/usr/bin/env python3
"""Real servers for bench/checkers.sh, and the schedule that takes some of them down.

One process, one epoll loop, no threads:

  tcp mode   listens on every real server that starts up (one socket per address and port),
             accepts each connection and closes it at once; a real server goes down by
             closing its listening socket (new connections are refused), or with
             --down-action drop by joining the nftables set `inet kabench down` (SYNs dropped:
             probes time out; the script sets up the set and its rule).
  file mode  the real servers are someone else's (nginx); a real server goes down when the
             file DOWN_DIR/IP-PORT exists (nginx answers 503 for it), and starts down when
             it exists from the start.

The servers file has one line per real server: "IP PORT up|down". Commands come one per line
on the control FIFO:

  go N SPREAD SEED   take N real servers that are up down, each at a uniformly random moment
                     within SPREAD seconds from now (chosen with SEED)
  stats              write "accepts COUNT" (tcp mode: connections accepted so far)
  quit               exit

Results go to the output file, flushed at once: "ready LISTENERS" when listening,
"down IP PORT BEFORE AFTER" (wall-clock seconds around the close or the file creation),
"accepts COUNT", "done".
"""

import argparse
import heapq
import os
import random
import selectors
import socket
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["tcp", "file"], required=True)
    ap.add_argument("--servers", required=True)
    ap.add_argument("--control", required=True, help="FIFO to read commands from")
    ap.add_argument("--out", required=True)
    ap.add_argument("--down-dir", help="file mode: where the down files go")
    ap.add_argument("--down-action", choices=["close", "drop"], default="close", help="tcp mode")
    ap.add_argument("--backlog", type=int, default=128)
    a = ap.parse_args()

    servers = []
    for line in open(a.servers):
        ip, port, state = line.split()
        servers.append((ip, int(port), state == "up"))
    out = open(a.out, "w", buffering=1)

    def say(text):
        out.write(text + "\n")
        out.flush()

    sel = selectors.EpollSelector()
    listeners = {}  # (ip, port) -> socket
    if a.mode == "tcp":
        for ip, port, up in servers:
            if not up:
                continue
            s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((ip, port))
            s.listen(a.backlog)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, (ip, port))
            listeners[(ip, port)] = s
    else:
        if not a.down_dir:
            sys.exit("file mode needs --down-dir")
        os.makedirs(a.down_dir, exist_ok=True)
        for ip, port, up in servers:
            path = os.path.join(a.down_dir, f"{ip}-{port}")
            if up:
                if os.path.exists(path):
                    os.unlink(path)
            else:
                open(path, "w").close()

    # The control FIFO: O_RDWR so that it never reads EOF when the writer is between opens.
    ctl_fd = os.open(a.control, os.O_RDWR | os.O_NONBLOCK)
    sel.register(ctl_fd, selectors.EVENT_READ, "control")
    ctl_buf = b""

    say(f"ready {len(listeners) if a.mode == 'tcp' else len(servers)}")
    accepts = 0
    schedule = []  # heap of (monotonic due, ip, port)

    def take_down(ip, port):
        before = time.time()
        if a.mode == "tcp" and a.down_action == "drop":
            subprocess.run(["nft", f"add element inet kabench down {{ {ip} . {port} }}"], check=True)
        elif a.mode == "tcp":
            s = listeners.pop((ip, port), None)
            if s is None:
                return
            sel.unregister(s)
            s.close()
        else:
            open(os.path.join(a.down_dir, f"{ip}-{port}"), "w").close()
        after = time.time()
        say(f"down {ip} {port} {before:.6f} {after:.6f}")

    running = True
    while running:
        timeout = None
        if schedule:
            timeout = max(0.0, schedule[0][0] - time.monotonic())
        for key, _ in sel.select(timeout):
            if key.data == "control":
                try:
                    chunk = os.read(ctl_fd, 4096)
                except BlockingIOError:
                    continue
                ctl_buf += chunk
                while b"\n" in ctl_buf:
                    line, ctl_buf = ctl_buf.split(b"\n", 1)
                    words = line.decode().split()
                    if not words:
                        continue
                    if words[0] == "go":
                        n, spread, seed = int(words[1]), float(words[2]), int(words[3])
                        up = sorted(
                            (ip, port) for ip, port, u in servers if u
                        )
                        rng = random.Random(seed)
                        now = time.monotonic()
                        for ip, port in rng.sample(up, min(n, len(up))):
                            heapq.heappush(schedule, (now + rng.uniform(0, spread), ip, port))
                    elif words[0] == "stats":
                        say(f"accepts {accepts}")
                    elif words[0] == "quit":
                        running = False
                continue
            s = key.fileobj
            while True:
                try:
                    conn, _ = s.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                accepts += 1
                conn.close()
        now = time.monotonic()
        while schedule and schedule[0][0] <= now:
            _, ip, port = heapq.heappop(schedule)
            take_down(ip, port)
    say(f"accepts {accepts}")
    say("done")


if __name__ == "__main__":
    main()
