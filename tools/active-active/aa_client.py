#!/usr/bin/python3
"""Traffic for tools/active-active.sh: long-lived HTTP/1.1 connections through a VIP.

`run`: holds --conns keep-alive connections to VIP:PORT (spread over --src addresses), each
sending `GET /` every --interval seconds and checking that the real server that answers
(the body is its name) is the one that answered its first request. A connection is
*broken* when a request fails (reset, EOF, no answer within --timeout) or another real
server answers; it is then closed and replaced by a fresh one. Beside them, --new-rate new
connections a second each send one request (Connection: close), recording who answered.

Events go to --log, one JSON object a line, with wall-clock times (time.time()):
  {"ev":"open","t","id","src","lport","server"}        a long-lived connection's first answer
  {"ev":"broken","t","id","src","lport","server","kind","detail","age"}
  {"ev":"slow","t","id","lport","server","lat"}       a request that took more than --slow s
  {"ev":"new","t","ok","server","lat","src","lport"}  a new connection's single request
--snapshot is rewritten (atomically) every 0.25 s: the connections alive and the totals.

`report`: reads a log (and a snapshot taken before an event) and counts what happened in a
time window: broken connections among those established at the snapshot, by real server,
excluding a server (--exclude-server), the longest stall, new connections and who served
them. Prints one JSON object.

Bounded: `run` stops by itself after --duration seconds (and on SIGTERM/SIGINT).
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time

REQ = b"GET / HTTP/1.1\r\nHost: vip\r\nUser-Agent: aa-client\r\n\r\n"
REQ_CLOSE = b"GET / HTTP/1.1\r\nHost: vip\r\nUser-Agent: aa-client\r\nConnection: close\r\n\r\n"


class Client:
    def __init__(self, a):
        self.a = a
        self.log = open(a.log, "a", buffering=1)
        self.conns = {}  # id -> dict
        self.next_id = 0
        self.totals = {"requests": 0, "broken": 0, "new_ok": 0, "new_fail": 0, "opened": 0}
        self.stop = asyncio.Event()
        self.recycle = set()  # ids to close and reopen (not broken): SIGUSR1 picks half of them

    def emit(self, **kw):
        self.log.write(json.dumps(kw, separators=(",", ":")) + "\n")

    async def http(self, reader, writer, req):
        writer.write(req)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
            raise ValueError("status " + head.split(b"\r\n")[0].decode(errors="replace"))
        body = await reader.readexactly(length)
        return body.decode(errors="replace").strip()

    async def open_conn(self, src):
        loop = asyncio.get_running_loop()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((src, 0))
        try:
            await asyncio.wait_for(loop.sock_connect(s, (self.a.vip, self.a.port)), self.a.timeout)
        except BaseException:
            s.close()
            raise
        r, w = await asyncio.open_connection(sock=s)
        return r, w, s.getsockname()[1]

    async def long_lived(self, slot):
        src = self.a.src[slot % len(self.a.src)]
        while not self.stop.is_set():
            cid = self.next_id
            self.next_id += 1
            c = {"id": cid, "src": src, "lport": None, "server": None, "since": None, "last_ok": None}
            w = None
            try:
                r, w, lport = await self.open_conn(src)
                c["lport"] = lport
                while not self.stop.is_set():
                    t0 = time.time()
                    name = await asyncio.wait_for(self.http(r, w, REQ), self.a.timeout)
                    t1 = time.time()
                    self.totals["requests"] += 1
                    if c["server"] is None:
                        c["server"], c["since"] = name, t1
                        self.conns[cid] = c
                        self.totals["opened"] += 1
                        self.emit(ev="open", t=t1, id=cid, src=src, lport=lport, server=name)
                    elif name != c["server"]:
                        raise LookupError(name)
                    if t1 - t0 > self.a.slow:
                        self.emit(ev="slow", t=t1, id=cid, lport=lport, server=c["server"], lat=round(t1 - t0, 4))
                    c["last_ok"] = t1
                    if cid in self.recycle:
                        self.recycle.discard(cid)
                        self.emit(ev="recycled", t=t1, id=cid, lport=lport, server=c["server"])
                        break
                    try:
                        await asyncio.wait_for(self.stop.wait(), self.a.interval)
                    except asyncio.TimeoutError:
                        pass
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, LookupError,
                    asyncio.LimitOverrunError) as e:
                kind = {LookupError: "moved", asyncio.TimeoutError: "timeout",
                        asyncio.IncompleteReadError: "eof"}.get(type(e), type(e).__name__)
                if isinstance(e, ConnectionResetError):
                    kind = "reset"
                detail = str(e) if kind == "moved" else repr(e)[:120]
                if c["server"] is not None or c["lport"] is not None:
                    self.totals["broken"] += 1
                    self.emit(ev="broken", t=time.time(), id=cid, src=src, lport=c["lport"], server=c["server"],
                              kind=kind, detail=detail,
                              age=round(time.time() - c["since"], 3) if c["since"] else None,
                              last_ok=c["last_ok"])
                else:
                    self.emit(ev="connect_fail", t=time.time(), id=cid, src=src, detail=repr(e)[:120])
            finally:
                self.conns.pop(cid, None)
                if w is not None:
                    w.transport.abort()
            if not self.stop.is_set() and c["server"] is None:
                await asyncio.sleep(0.2)

    async def new_conns(self):
        i = 0
        while not self.stop.is_set() and self.a.new_rate > 0:
            src = self.a.src[i % len(self.a.src)]
            i += 1
            asyncio.ensure_future(self.one_new(src))
            try:
                await asyncio.wait_for(self.stop.wait(), 1.0 / self.a.new_rate)
            except asyncio.TimeoutError:
                pass

    async def one_new(self, src):
        t0 = time.time()
        w = None
        lport = None
        try:
            r, w, lport = await self.open_conn(src)
            name = await asyncio.wait_for(self.http(r, w, REQ_CLOSE), self.a.timeout)
            self.totals["new_ok"] += 1
            self.emit(ev="new", t=t0, ok=True, server=name, lat=round(time.time() - t0, 4), src=src, lport=lport)
        except Exception as e:  # noqa: BLE001 - every failure is a failed new connection
            self.totals["new_fail"] += 1
            self.emit(ev="new", t=t0, ok=False, server=None, lat=round(time.time() - t0, 4), src=src,
                      lport=lport, detail=repr(e)[:120])
        finally:
            if w is not None:
                w.transport.abort()

    async def snapshots(self):
        while not self.stop.is_set():
            snap = {"t": time.time(), "totals": self.totals,
                    "conns": [c for c in self.conns.values() if c["server"] is not None]}
            tmp = self.a.snapshot + ".tmp"
            with open(tmp, "w") as f:
                json.dump(snap, f)
            os.replace(tmp, self.a.snapshot)
            try:
                await asyncio.wait_for(self.stop.wait(), 0.25)
            except asyncio.TimeoutError:
                pass

    def recycle_half(self):
        ids = sorted(self.conns)
        self.recycle.update(ids[::2])

    async def main(self):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        loop.add_signal_handler(signal.SIGUSR1, self.recycle_half)
        loop.call_later(self.a.duration, self.stop.set)
        tasks = [asyncio.ensure_future(self.long_lived(i)) for i in range(self.a.conns)]
        tasks.append(asyncio.ensure_future(self.new_conns()))
        tasks.append(asyncio.ensure_future(self.snapshots()))
        await self.stop.wait()
        await asyncio.sleep(0.3)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.emit(ev="end", t=time.time(), totals=self.totals)


def read_log(path):
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # a line cut by a kill
    return out


def report(a):
    evs = read_log(a.log)
    snap = json.load(open(a.snapshot)) if a.snapshot else {"conns": []}
    t0, t1 = a.t0, a.t1
    est = {c["id"]: c for c in snap["conns"]}
    directors = {}
    if a.directors:
        # "lport director" lines (from the router's `ip route get`), keyed by src:lport
        for line in open(a.directors):
            p = line.split()
            if len(p) == 3:
                directors[(p[0], int(p[1]))] = p[2]
    by_server = {}
    by_director = {}
    for c in est.values():
        by_server[c["server"]] = by_server.get(c["server"], 0) + 1
        d = directors.get((c["src"], c["lport"]), "?")
        c["director"] = d
        by_director[d] = by_director.get(d, 0) + 1
    broken = [e for e in evs if e["ev"] == "broken" and t0 <= e["t"] <= t1 and e["id"] in est]
    kinds = {}
    for e in broken:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    excl = a.exclude_server
    broken_other = [e for e in broken if e["server"] != excl] if excl else broken
    broken_by_director = {}
    for e in broken:
        d = est[e["id"]]["director"]
        broken_by_director[d] = broken_by_director.get(d, 0) + 1
    slow = [e for e in evs if e["ev"] == "slow" and t0 <= e["t"] <= t1 and e["id"] in est]
    stalled_ids = {e["id"] for e in slow if e["lat"] > a.stall}
    new = [e for e in evs if e["ev"] == "new" and t0 <= e["t"] <= t1]
    new_srv = {}
    for e in new:
        if e["ok"]:
            new_srv[e["server"]] = new_srv.get(e["server"], 0) + 1
    after = [c for c in est.values() if a.opened_after is not None and c["since"] >= a.opened_after]
    after_ids = {c["id"] for c in after}
    res = {
        "established": len(est),
        "opened_after": len(after),
        "broken_opened_after": sum(1 for e in broken if e["id"] in after_ids),
        "by_server": by_server,
        "by_director": by_director,
        "broken": len(broken),
        "broken_kinds": kinds,
        "broken_by_director": broken_by_director,
        "broken_not_on_excluded": len(broken_other) if excl else None,
        "broken_examples": [{k: e.get(k) for k in ("id", "lport", "server", "kind", "detail")} for e in broken[:5]],
        "max_stall": round(max([e["lat"] for e in slow] + [0.0]), 3),
        "stalled_conns": len(stalled_ids),
        "new_ok": sum(1 for e in new if e["ok"]),
        "new_fail": sum(1 for e in new if not e["ok"]),
        "new_by_server": new_srv,
        "new_fail_examples": [e.get("detail") for e in new if not e["ok"]][:3],
    }
    if a.shell:
        for k, v in res.items():
            v = json.dumps(v, separators=(",", ":")) if isinstance(v, (dict, list)) else ("" if v is None else v)
            print("R_%s='%s'" % (k, str(v).replace("'", "")))
    else:
        print(json.dumps(res))


def stamp(a):
    """Runs a command (a monitor) and writes each line it prints with the wall-clock time it
    was read, until SIGTERM/SIGINT or the command ends."""
    import subprocess
    import threading
    out = open(a.out, "a", buffering=1)
    proc = subprocess.Popen(a.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0)

    def stop(*_):
        proc.terminate()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Timer(a.duration, stop).start()
    for line in iter(proc.stdout.readline, b""):
        out.write("%.6f %s\n" % (time.time(), line.decode(errors="replace").rstrip()))
    proc.wait()
    os._exit(0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--vip", required=True)
    r.add_argument("--port", type=int, default=80)
    r.add_argument("--src", required=True, help="comma-separated source addresses")
    r.add_argument("--conns", type=int, default=60)
    r.add_argument("--interval", type=float, default=0.1)
    r.add_argument("--new-rate", type=float, default=5.0)
    r.add_argument("--timeout", type=float, default=10.0)
    r.add_argument("--slow", type=float, default=0.25, help="log requests slower than this (s)")
    r.add_argument("--duration", type=float, default=600)
    r.add_argument("--log", required=True)
    r.add_argument("--snapshot", required=True)
    q = sub.add_parser("report")
    q.add_argument("--log", required=True)
    q.add_argument("--snapshot")
    q.add_argument("--directors", help="file of 'src lport director' lines")
    q.add_argument("--t0", type=float, required=True)
    q.add_argument("--t1", type=float, required=True)
    q.add_argument("--exclude-server")
    q.add_argument("--opened-after", type=float, help="also count the connections opened after this time")
    q.add_argument("--stall", type=float, default=1.0, help="a request slower than this stalls its connection")
    q.add_argument("--shell", action="store_true", help="print R_key='value' lines for eval in sh")
    m = sub.add_parser("stamp", help="time-stamp each line a command prints")
    m.add_argument("--out", required=True)
    m.add_argument("--duration", type=float, default=60)
    m.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    if a.cmd == "stamp":
        if a.command and a.command[0] == "--":
            a.command = a.command[1:]
        return stamp(a)
    if a.cmd == "run":
        a.src = a.src.split(",")
        asyncio.run(Client(a).main())
    else:
        report(a)


if __name__ == "__main__":
    sys.exit(main())
