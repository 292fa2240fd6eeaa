#!/usr/bin/env bash
# Health-checker benchmark: keepalived-rs's checker side (`-C --dataplane none`) probing many
# real servers in a private network namespace. Measures, over a window of WINDOW seconds:
#   * CPU: share of one core, from utime+stime in /proc/PID/stat at both ends of the window
#     (also per thread, and the real servers' own CPU for scale);
#   * memory: VmRSS and VmHWM at the end of the window;
#   * detection latency: DOWNS real servers that are up are taken down at known moments
#     (spread uniformly over the window's first SPREAD seconds) and timed until the daemon's
#     `Removing service [ip]:tcp:port from VS ...` line (-l: stderr, millisecond
#     timestamps); p50/p99/max against the bound delay_loop + retry x delay_before_retry +
#     connect_timeout and the issue's goal delay_loop + connect_timeout;
#   * correctness under load: no real server removed that was not taken down, none missed,
#     and the probe rate the real servers saw against the one the configuration asks for;
#   * the baseline, in the same run just before the daemon: bench/checkers-floor.c (built
#     here with cc), a C prober making the same system calls per probe and nothing else,
#     probing the same real servers at the same rate for FLOOR seconds. The kernel's TCP
#     work is most of a probe's cost; the ratio ours / floor is what the daemon adds.
#     (Real keepalived cannot be the baseline here: its checker process exits without IPVS.)
#
#   sudo bench/checkers.sh [tcp] [http]            # default: both
#
# Scenarios:
#   tcp   TCP_CHECK on VS x RS_PER_VS real servers (default 100 x 100 = 10,000), served by
#         bench/checkers-listener.py (one Python process, one epoll loop, one listening
#         socket per real server, accept and close). DOWN_AT_START of them have no listener
#         (refused) and DROP_AT_START have one behind an nftables drop rule (the probe times
#         out at connect_timeout). Taking one down: TCP_DOWN=close closes its listening
#         socket (refused from then on), TCP_DOWN=drop adds it to the drop set (timeouts).
#   http  HTTP_GET (url /health, status_code 200) on HTTP_VS x HTTP_RS_PER_VS real servers
#         (default 10 x 100 = 1,000), all served by one nginx (Debian's package, own
#         temporary configuration, one process: master_process off) listening on every real
#         server's address and port. A real server is down while a file named after its
#         address and port exists (nginx answers 503); HTTP_DOWN_AT_START start down.
#
# Environment (defaults in brackets):
#   DELAY_LOOP [1] CONNECT_TIMEOUT [1] RETRY [0] DELAY_BEFORE_RETRY [1]   checker timing
#   WINDOW [60]   measured seconds;  SPREAD [45]  the downs' spread from the window's start
#   VS [100] RS_PER_VS [100] DOWN_AT_START [400] DROP_AT_START [100] DOWNS [200]
#   TCP_DOWN [close]
#   HTTP_VS [10] HTTP_RS_PER_VS [100] HTTP_DOWN_AT_START [50] HTTP_DOWNS [100]
#   FLOOR [20]    seconds of the baseline prober (0: skip it)
#   SEED [1]      choice of the real servers down at start and taken down, and their moments
#   OURS=path     use this keepalived-rs binary and skip the release build
#   KEEP=1        keep the scratch directory (configurations, daemon logs, raw samples)
#
# Addresses (inside the namespace only; the namespace makes 192.0.2.0/24, 198.51.100.0/24
# and 203.0.113.0/24 local on its lo): virtual servers 192.0.2.0/24 (never contacted: no
# data plane), TCP real servers 198.51.100.1-200 ports 10001+, HTTP real servers
# 203.0.113.1-200 ports 8001+. Everything this script starts is killed by PID on exit (also
# on failure or Ctrl-C), the namespace is deleted, and every wait is bounded.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COMMAND="bench/checkers.sh${*:+ $*}"
SCENARIOS=${*:-tcp http}
DELAY_LOOP=${DELAY_LOOP:-1}
CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-1}
RETRY=${RETRY:-0}
DELAY_BEFORE_RETRY=${DELAY_BEFORE_RETRY:-1}
WINDOW=${WINDOW:-60}
SPREAD=${SPREAD:-45}
VS=${VS:-100}
RS_PER_VS=${RS_PER_VS:-100}
DOWN_AT_START=${DOWN_AT_START:-400}
DROP_AT_START=${DROP_AT_START:-100}
DOWNS=${DOWNS:-200}
TCP_DOWN=${TCP_DOWN:-close}
HTTP_VS=${HTTP_VS:-10}
HTTP_RS_PER_VS=${HTTP_RS_PER_VS:-100}
HTTP_DOWN_AT_START=${HTTP_DOWN_AT_START:-50}
HTTP_DOWNS=${HTTP_DOWNS:-100}
SEED=${SEED:-1}
FLOOR=${FLOOR:-20}

die() { echo "checkers.sh: $*" >&2; exit 1; }
say() { echo "checkers.sh: $*" >&2; }
for s in $SCENARIOS; do [[ $s == tcp || $s == http ]] || die "unknown scenario $s (tcp, http)"; done
for v in DELAY_LOOP CONNECT_TIMEOUT RETRY DELAY_BEFORE_RETRY WINDOW SPREAD VS RS_PER_VS DOWN_AT_START \
    DROP_AT_START DOWNS HTTP_VS HTTP_RS_PER_VS HTTP_DOWN_AT_START HTTP_DOWNS SEED FLOOR; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer"
done
[[ $TCP_DOWN == close || $TCP_DOWN == drop ]] || die "TCP_DOWN is close or drop"
((SPREAD + 3 * (DELAY_LOOP + RETRY * DELAY_BEFORE_RETRY + CONNECT_TIMEOUT) <= WINDOW)) ||
    die "SPREAD too long for WINDOW: the last detections would fall outside the window"
[[ $(id -u) -eq 0 ]] || die "needs root (network namespace)"
for t in ip python3 awk pgrep nft cc; do command -v $t >/dev/null || die "missing $t"; done
if [[ " $SCENARIOS " == *" http "* ]] && ! command -v nginx >/dev/null; then
    say "installing nginx-light"
    DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light >&2 || die "cannot install nginx"
fi
NGINX=$(command -v nginx || true)

# --- build (once, release, never alongside another cargo build on this small box) ---
if [[ -n ${OURS:-} ]]; then
    [[ -x $OURS ]] || die "OURS=$OURS is not executable"
    OURS_DESC="binary $OURS"
else
    # Anchored on the program name, so a shell whose command line mentions cargo is not a
    # build. Waits at most an hour.
    for ((i = 0; ; i++)); do
        pgrep -f '^([^ ]*/)?cargo (build|test|clippy|fuzz)( |$)' >/dev/null || break
        ((i < 180)) || die "another cargo process has been running for an hour"
        ((i == 0)) && say "another cargo process is running; waiting..."
        sleep 20
    done
    (cd "$ROOT" && cargo build --release -p keepalived-rs) >&2 || die "release build failed"
    OURS=$ROOT/target/release/keepalived-rs
    OURS_DESC="working tree at $(cd "$ROOT" && git rev-parse --short HEAD)"
    (cd "$ROOT" && git diff --quiet HEAD -- crates Cargo.toml Cargo.lock) ||
        OURS_DESC="$OURS_DESC with uncommitted changes"
fi

# --- scratch space, namespace, processes: all removed on exit ---
TMP=$(mktemp -d /tmp/ka-bench-checkers.XXXXXX)
chmod 755 "$TMP"
# A private copy: a rebuild in the checkout during the run must not swap the binary.
cp "$OURS" "$TMP/keepalived-rs" || die "cannot copy $OURS"
cc -O2 -Wall -o "$TMP/checkers-floor" "$ROOT/bench/checkers-floor.c" || die "cannot build checkers-floor.c"
NS=kabench-chk-$$
PIDS=()
cleanup() {
    local p ino
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    if ip netns list | grep -qw "$NS"; then
        # Only processes this script started live in this namespace.
        for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ino=$(stat -L -c %i "/run/netns/$NS" 2>/dev/null) &&
            rm -f "/run/keepalived-rs/state-net$ino.json" "/run/keepalived-rs/state-net$ino.json.tmp"
        ip netns del "$NS" 2>/dev/null
    fi
    wait 2>/dev/null
    if [[ -n ${KEEP:-} ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" || die "cannot create namespace $NS"
ip -n "$NS" link set lo up
for net in 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24; do
    ip -n "$NS" route add local "$net" dev lo || die "cannot make $net local in $NS"
done
# Drops SYNs to the real servers in the set (a host that does not answer).
ip netns exec "$NS" nft -f - <<'EOF' || die "cannot set up the nftables drop set"
table inet kabench {
    set down { type ipv4_addr . inet_service; }
    chain input {
        type filter hook input priority 0; policy accept;
        ip daddr . tcp dport @down drop
    }
}
EOF
# (Background processes are started with `ip netns exec` itself, which execs the program:
# $! is then the program's PID, not a subshell's.)
in_ns() { ip netns exec "$NS" "$@"; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

HZ=$(getconf CLK_TCK)
now() { date +%s.%N; }
# utime+stime (ticks) of a process or thread: the fields after the command name, 12 and 13.
ticks() { sed 's/.*) //' "$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }
# wait_for SECONDS CMD...: every 0.2 s until CMD succeeds; fails after SECONDS.
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS >= end)) && return 1
        sleep 0.2
    done
}
alive() { kill -0 "$1" 2>/dev/null; }
busy_builds() { # how many compilers and VMs run (other engineers' work on this box)
    local n
    n=$(pgrep -fc '^([^ ]*/)?(cargo|rustc|qemu-system-[^ ]*)( |$)' 2>/dev/null)
    echo "${n:-0}"
}

MACHINE="$(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r)"
REPORT=$TMP/report.md
{
    echo "command: $COMMAND  (DELAY_LOOP=$DELAY_LOOP CONNECT_TIMEOUT=$CONNECT_TIMEOUT RETRY=$RETRY" \
        "DELAY_BEFORE_RETRY=$DELAY_BEFORE_RETRY WINDOW=$WINDOW SPREAD=$SPREAD SEED=$SEED TCP_DOWN=$TCP_DOWN)"
    echo "ours: keepalived-rs, $OURS_DESC"
    echo "machine: $MACHINE"
    echo
} >"$REPORT"

# scenario NAME: one daemon run. Writes $TMP/NAME.* and appends to the report.
scenario() {
    local name=$1 dir=$TMP/$1 nvs nper n_down n_drop n_downs kind req0 req1 builds=0 i first=""
    mkdir -p "$dir"
    if [[ $name == tcp ]]; then
        nvs=$VS nper=$RS_PER_VS n_down=$DOWN_AT_START n_drop=$DROP_AT_START n_downs=$DOWNS kind=tcp
    else
        nvs=$HTTP_VS nper=$HTTP_RS_PER_VS n_down=$HTTP_DOWN_AT_START n_drop=0 n_downs=$HTTP_DOWNS kind=http
    fi
    # The configuration and the real servers' list ("IP PORT up|down|drop").
    python3 - "$dir" "$kind" "$nvs" "$nper" "$n_down" "$n_drop" "$SEED" "$DELAY_LOOP" \
        "$CONNECT_TIMEOUT" "$RETRY" "$DELAY_BEFORE_RETRY" <<'EOF' || die "cannot generate the configuration"
import random, sys
d, kind = sys.argv[1], sys.argv[2]
nvs, nper, n_down, n_drop, seed, loop, ct, retry, dbr = map(int, sys.argv[3:])
total = nvs * nper
assert total <= 200 * 5000 and n_down + n_drop < total
net, port0 = ("198.51.100", 10001) if kind == "tcp" else ("203.0.113", 8001)
rss = [(f"{net}.{g % 200 + 1}", port0 + g // 200) for g in range(total)]
rng = random.Random(seed)
picked = rng.sample(range(total), n_down + n_drop)
state = ["up"] * total
for g in picked[:n_down]:
    state[g] = "down"
for g in picked[n_down:]:
    state[g] = "drop"
with open(f"{d}/servers", "w") as f:
    for (ip, port), s in zip(rss, state):
        f.write(f"{ip} {port} {s}\n")
if kind == "tcp":
    check = (f"        TCP_CHECK {{\n            connect_timeout {ct}\n            retry {retry}\n"
             f"            delay_before_retry {dbr}\n        }}\n")
else:
    check = (f"        HTTP_GET {{\n            url {{\n                path /health\n"
             f"                status_code 200\n            }}\n            connect_timeout {ct}\n"
             f"            retry {retry}\n            delay_before_retry {dbr}\n        }}\n")
with open(f"{d}/keepalived.conf", "w") as f:
    f.write("global_defs {\n    router_id kabench\n}\n")
    for v in range(nvs):
        f.write(f"virtual_server 192.0.2.{v % 250 + 1} {80 + v // 250} {{\n    delay_loop {loop}\n"
                "    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n")
        for ip, port in rss[v * nper:(v + 1) * nper]:
            f.write(f"    real_server {ip} {port} {{\n        weight 1\n{check}    }}\n")
        f.write("}\n")
EOF
    local total=$((nvs * nper)) up=$((nvs * nper - n_down - n_drop))
    # Real servers behind the drop rule from the start.
    awk '$3 == "drop" {printf "add element inet kabench down { %s . %s }\n", $1, $2}' "$dir/servers" |
        in_ns nft -f - || die "cannot fill the drop set"

    # --- the real servers ---
    local server_pid="" helper_pid ctl=$dir/control
    mkfifo "$ctl"
    if [[ $kind == http ]]; then
        mkdir -p "$dir/nginx/www/down" "$dir/nginx/tmp"
        {
            echo "user root; daemon off; master_process off; worker_rlimit_nofile 16384;"
            echo "pid $dir/nginx/nginx.pid; error_log $dir/nginx/error.log warn;"
            echo "events { worker_connections 8192; }"
            echo "http {"
            echo "  access_log off;"
            for p in client_body proxy fastcgi uwsgi scgi; do echo "  ${p}_temp_path $dir/nginx/tmp/$p;"; done
            echo "  server {"
            awk '{printf "    listen %s:%s;\n", $1, $2}' "$dir/servers"
            echo "    root $dir/nginx/www;"
            echo "    location = /health {"
            echo "      if (-f \$document_root/down/\$server_addr-\$server_port) { return 503; }"
            echo "      return 200 \"ok\\n\";"
            echo "    }"
            echo "    location = /nginx_status { stub_status; }"
            echo "  }"
            echo "}"
        } >"$dir/nginx/nginx.conf"
        ip netns exec "$NS" "$NGINX" -p "$dir/nginx" -e "$dir/nginx/error.log" -c "$dir/nginx/nginx.conf" \
            >"$dir/nginx/stdout" 2>&1 &
        server_pid=$!
        PIDS+=("$server_pid")
        first=$(awk '$3 == "up" {print $1 ":" $2; exit}' "$dir/servers")
        wait_for 20 in_ns curl -sf -o /dev/null "http://$first/nginx_status" ||
            { cat "$dir/nginx/error.log" >&2; die "nginx did not start"; }
        ip netns exec "$NS" python3 "$ROOT/bench/checkers-listener.py" --mode file --servers "$dir/servers" \
            --control "$ctl" --out "$dir/helper.out" --down-dir "$dir/nginx/www/down" \
            2>"$dir/helper.err" &
        helper_pid=$!
        PIDS+=("$helper_pid")
    else
        ip netns exec "$NS" python3 "$ROOT/bench/checkers-listener.py" --mode tcp --servers "$dir/servers" \
            --control "$ctl" --out "$dir/helper.out" --down-action "$TCP_DOWN" 2>"$dir/helper.err" &
        helper_pid=$!
        PIDS+=("$helper_pid")
        server_pid=$helper_pid
    fi
    wait_for 60 grep -q '^ready' "$dir/helper.out" 2>/dev/null ||
        { cat "$dir/helper.err" >&2; die "the real servers did not start"; }
    exec 7<>"$ctl"
    requests() { # probes the real servers have answered so far
        if [[ $kind == http ]]; then
            in_ns curl -sf "http://$first/nginx_status" | awk '/^ *[0-9]+ +[0-9]+ +[0-9]+/ {print $3}'
        else
            local before
            before=$(grep -c '^accepts' "$dir/helper.out")
            echo stats >&7
            wait_for 5 eval '(($(grep -c "^accepts" "$dir/helper.out") > before))' || die "helper silent"
            grep '^accepts' "$dir/helper.out" | tail -1 | cut -d' ' -f2
        fi
    }

    # --- the baseline: the same probes from a minimal C prober ---
    local floor_out="" floor_req=0
    if ((FLOOR > 0)); then
        local path=""
        [[ $kind == http ]] && path=/health
        req0=$(requests)
        floor_out=$(timeout $((FLOOR + 30)) ip netns exec "$NS" "$TMP/checkers-floor" "$dir/servers" \
            "$FLOOR" "$DELAY_LOOP" "$CONNECT_TIMEOUT" $path) || die "$name: checkers-floor failed"
        floor_req=$(($(requests) - req0))
        sleep 2
    fi

    # --- the daemon ---
    local log=$dir/daemon.log pid
    ip netns exec "$NS" "$TMP/keepalived-rs" -C -n -l --dataplane none -f "$dir/keepalived.conf" 2>"$log" >/dev/null &
    pid=$!
    PIDS+=("$pid")
    # Started when every checker is activated and every real server down at start is out.
    started() {
        alive "$pid" || { cat "$log" >&2; die "the daemon exited"; }
        (($(grep -c 'Activating healthchecker' "$log") >= total &&
            $(grep -c 'Removing service' "$log") >= n_down + n_drop))
    }
    wait_for $((30 + 3 * (DELAY_LOOP + CONNECT_TIMEOUT))) started ||
        die "$name: not started after $((30 + 3 * (DELAY_LOOP + CONNECT_TIMEOUT))) s:" \
            "$(grep -c 'Removing service' "$log") of $((n_down + n_drop)) real servers down at start removed"
    sleep $((2 * (DELAY_LOOP + CONNECT_TIMEOUT)))
    local startup_cpu
    startup_cpu=$(ticks "/proc/$pid")

    # --- the window ---
    snap() { # $1 = tag: process and thread CPU ticks, real servers' ticks, load
        local t
        echo "$1 wall $(now)" >>"$dir/samples"
        echo "$1 proc $(ticks "/proc/$pid")" >>"$dir/samples"
        sed 's/.*) //' "/proc/$pid/stat" | awk -v t="$1" '{print t, "utime", $12; print t, "stime", $13}' >>"$dir/samples"
        for t in /proc/$pid/task/*; do
            echo "$1 thread $(cat "$t/comm" 2>/dev/null | tr ' ' _) $(ticks "$t")" >>"$dir/samples"
        done
        echo "$1 server $(ticks "/proc/$server_pid")" >>"$dir/samples"
        echo "$1 helper $(ticks "/proc/$helper_pid")" >>"$dir/samples"
        echo "$1 load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$dir/samples"
    }
    : >"$dir/samples"
    req0=$(requests)
    snap start
    echo "go $n_downs $SPREAD $SEED" >&7
    for ((i = 0; i < WINDOW; i++)); do
        sleep 1
        alive "$pid" || { tail -20 "$log" >&2; die "$name: the daemon died during the window"; }
        ((i % 10 == 0)) && builds=$((builds + $(busy_builds)))
    done
    snap end
    req1=$(requests)
    grep -E '^(VmRSS|VmHWM|RssAnon|Threads)' "/proc/$pid/status" >"$dir/status"
    ls "/proc/$pid/fd" | wc -l >"$dir/fds"

    # --- stop (SIGTERM, bounded) ---
    kill -TERM "$pid"
    wait_for 30 eval '! alive '"$pid" || { say "$name: daemon still running 30 s after SIGTERM; killing it"; kill -KILL "$pid"; }
    wait "$pid" 2>/dev/null
    echo quit >&7
    wait_for 10 grep -q '^done' "$dir/helper.out" || kill -KILL "$helper_pid" 2>/dev/null
    exec 7>&-
    if [[ $kind == http ]]; then kill -TERM "$server_pid" 2>/dev/null; fi
    wait_for 10 eval '! alive '"$server_pid" || kill -KILL "$server_pid" 2>/dev/null
    wait 2>/dev/null

    # --- report ---
    python3 - "$dir" "$name" "$kind" "$total" "$up" "$n_down" "$n_drop" "$n_downs" "$HZ" \
        "$DELAY_LOOP" "$CONNECT_TIMEOUT" "$RETRY" "$DELAY_BEFORE_RETRY" "$req0" "$req1" "$builds" \
        "$startup_cpu" "$TCP_DOWN" "$floor_out" "$floor_req" >>"$REPORT" <<'EOF' || die "report failed"
import datetime, re, statistics, sys
(d, name, kind, total, up, n_down, n_drop, n_downs, hz, loop, ct, retry, dbr, req0, req1, builds,
 startup_cpu, tcp_down, floor_out, floor_req) = sys.argv[1:]
floor = {}
if floor_out:
    w = floor_out.split()
    floor = {w[i]: float(w[i + 1]) for i in range(0, len(w) - 1, 2)}
total, up, n_down, n_drop, n_downs, hz = map(int, (total, up, n_down, n_drop, n_downs, hz))
loop, ct, retry, dbr = map(float, (loop, ct, retry, dbr))
req0, req1, builds, startup_cpu = int(req0), int(req1), int(builds), int(startup_cpu)
s = {}
threads = {}
for line in open(f"{d}/samples"):
    tag, what, *rest = line.split()
    if what == "thread":
        threads.setdefault(rest[0], {})[tag] = threads.get(rest[0], {}).get(tag, 0) + int(rest[1])
    elif what == "load":
        s[(tag, what)] = " ".join(rest)
    else:
        s[(tag, what)] = float(rest[0])
wall = s[("end", "wall")] - s[("start", "wall")]
share = lambda what: (s[("end", what)] - s[("start", what)]) / hz / wall
status = dict(l.split(":", 1) for l in open(f"{d}/status"))
mib = lambda k: int(status[k].split()[0]) / 1024
downs = {}
for line in open(f"{d}/helper.out"):
    w = line.split()
    if w[0] == "down":
        downs[(w[1], int(w[2]))] = (float(w[3]), float(w[4]))
def ts(text):
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()
removed = {}
rx = re.compile(r"^(\S+) Removing service \[([^\]]+)\]:\w+:(\d+) from VS")
for line in open(f"{d}/daemon.log"):
    m = rx.match(line)
    if m:
        removed.setdefault((m.group(2), int(m.group(3))), []).append(ts(m.group(1)))
go = s[("start", "wall")]
lat, lat_low, acts, missed = [], [], [], 0
for key, (before, after) in downs.items():
    # The log's time is truncated to the millisecond: +1 ms makes each latency an upper bound,
    # as does timing from just before the down action (a close takes microseconds; an `nft`
    # process, TCP_DOWN=drop, milliseconds). From its end, without the +1 ms: a lower bound.
    acts.append(after - before)
    later = [t for t in removed.get(key, []) if t + 0.001 >= before]
    if later:
        lat.append(later[0] + 0.001 - before)
        lat_low.append(later[0] - after)
    else:
        missed += 1
lat_low.sort()
acts.sort()
false = sum(1 for k, ts_ in removed.items() if k not in downs and any(t >= go for t in ts_))
state = {}
for line in open(f"{d}/servers"):
    ip, port, st = line.split()
    state[(ip, int(port))] = st
start_wrong = sum(1 for k, t in removed.items() if state.get(k) == "up" and k not in downs)
lat.sort()
q = lambda p: lat[min(len(lat) - 1, max(0, round(p * len(lat)) - 1))] if lat else float("nan")
bound = loop + retry * dbr + ct
goal = loop + ct
rate = (req1 - req0) / wall
if kind == "tcp":
    # Listeners that accept, on average over the window (each down closes one).
    end = s[("end", "wall")]
    expected = (up - sum(max(0.0, end - b) for b, _ in downs.values()) / wall) / loop
    seen = "successful probes seen by the listeners"
else:
    expected = total / loop  # nginx answers every probe, 200 or 503
    seen = "requests nginx answered (200 and 503)"
cpu = share("proc")
probes = total / loop
title = {"tcp": "TCP_CHECK", "http": "HTTP_GET"}[kind]
how = {"tcp": f"listener {'closed (refused)' if tcp_down == 'close' else 'dropped (timeout)'}",
       "http": "nginx answers 503"}[kind]
print(f"### {name}: {total:,} real servers with {title}, delay_loop {loop:g} s, "
      f"connect_timeout {ct:g} s, retry {retry:g}" + (f", delay_before_retry {dbr:g} s" if retry else ""))
print()
start = (f"{n_down} refusing and {n_drop} not answering" if kind == "tcp" else f"{n_down} answering 503")
print(f"{up:,} up, {start} from the start; {len(downs)} taken down "
      f"in the window ({how}). Window {wall:.1f} s; builds/VMs seen running in it: "
      f"{'yes' if builds else 'no'}; load average at start / end: {s[('start', 'load')]} / {s[('end', 'load')]}.")
print()
print("| measure | value | bound / goal | ratio |")
print("|---|---:|---:|---:|")
print(f"| CPU, share of one core (utime+stime over the window) | {cpu * 100:.2f} % | goal 5 % | **{cpu / 0.05:.2f}** |")
print(f"| of which user / system | {share('utime') * 100:.2f} % / {share('stime') * 100:.2f} % | | |")
if floor:
    fcpu = (floor["user"] + floor["sys"]) / floor["wall"]
    print(f"| baseline: C prober, same system calls, same servers and rate ({floor['wall']:.0f} s) "
          f"| {fcpu * 100:.2f} % (user {floor['user'] / floor['wall'] * 100:.2f} %) | | ours / floor **{cpu / fcpu:.2f}** |")
print(f"| CPU per probe (all probes, {probes:,.0f}/s asked) | {cpu * 1e6 / probes:.1f} µs | | |")
print(f"| VmRSS at the window's end / VmHWM | {mib('VmRSS'):.1f} / {mib('VmHWM'):.1f} MiB | | |")
print(f"| detection p50 | {q(0.5) * 1000:.0f} ms | bound {bound * 1000:.0f} ms | {q(0.5) / bound:.2f} |")
print(f"| detection p99 | {q(0.99) * 1000:.0f} ms | goal {goal * 1000:.0f} ms | **{q(0.99) / goal:.2f}** |")
print(f"| detection max | {lat[-1] * 1000 if lat else float('nan'):.0f} ms | bound {bound * 1000:.0f} ms | {(lat[-1] if lat else float('nan')) / bound:.2f} |")
if lat_low:
    ql = lambda p: lat_low[min(len(lat_low) - 1, max(0, round(p * len(lat_low)) - 1))]
    print(f"| lower bounds (from the end of the down action, which took {acts[len(acts) // 2] * 1000:.2f} ms "
          f"median, {acts[-1] * 1000:.2f} ms max): p99 / max | {ql(0.99) * 1000:.0f} / {lat_low[-1] * 1000:.0f} ms | | |")
print(f"| detections / taken down (missed) | {len(lat)} / {len(downs)} ({missed}) | | |")
print(f"| real servers removed that were up (false removals) | {false + start_wrong} | 0 | |")
print(f"| {seen} | {rate:,.0f}/s | {expected:,.0f}/s | {rate / expected:.2f} |")
if floor:
    print(f"| the same, for the baseline prober | {int(floor_req) / floor['wall']:,.0f}/s | "
          f"{(up if kind == 'tcp' else total) / loop:,.0f}/s | {int(floor_req) / floor['wall'] / ((up if kind == 'tcp' else total) / loop):.2f} |")
print()
per_thread = ", ".join(
    f"{t} {(v.get('end', 0) - v.get('start', 0)) / hz / wall * 100:.2f} %" for t, v in sorted(threads.items()))
print(f"Per thread (share of one core): {per_thread}. "
      f"Real servers' own CPU: {share('server') * 100:.1f} % of a core"
      + (f" (nginx), the down-file helper {share('helper') * 100:.1f} %" if kind == "http" else " (Python listener)")
      + f". Daemon CPU from exec to the window's start (start-up, {total:,} first probes): {startup_cpu / hz:.2f} s."
      + f" Threads {status['Threads'].strip()}, open fds at the end {open(f'{d}/fds').read().strip()}.")
print()
step = max(1, len(lat) // 20)
print(f"Detection latencies (ms), sorted, every {step}th: "
      + " ".join(f"{x * 1000:.0f}" for x in lat[::step]) + (f" ... {lat[-1] * 1000:.0f}" if lat else ""))
print()
EOF
}

for s in $SCENARIOS; do
    say "scenario $s"
    scenario "$s"
done
echo
cat "$REPORT"
