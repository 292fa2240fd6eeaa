#!/bin/bash
# nft-lb.sh -- the nftables load-balancer data plane: apply times and requests/s.
#
# 1. Apply: in a private network namespace, one NAT virtual service with N real servers
#    (default 10,000) is applied whole through ka_net::nft::NftDataplane (reconcile from the
#    empty table, one `nft -f` transaction, read back and compared), then one real server
#    flaps ROUNDS times (weight 0, then back: one Change::EditDest each), for wrr (the exact
#    IPVS cycle: a flap rewrites it) and mh (Maglev, M=65521: a flap changes ~M/N slots).
#    Times are wall clock around Dataplane::apply (planning + nft), read-back excluded.
# 2. Requests/s: wrk through the VIP vs. directly to the real servers, in the same run, for
#    NAT (client -> director -> rs1/rs2, replies back through the director) and DR (one L2
#    segment; the director's netdev ingress rewrites the MAC, real servers answer directly).
#    Both sides use two wrk processes (-t1 -c16 each): through the VIP, both at the VIP; direct,
#    one per real server (routed through the director for NAT, on the segment for DR), so the
#    same two nginx serve the same load. Rounds alternate VIP and direct; medians reported.
#
# Everything lives in namespaces created here (documentation addresses; the 10,000 servers
# use 198.18.0.0/15 and receive nothing) and is removed on exit, processes killed by PID.
#
# Usage (root): bench/nft-lb.sh [-n servers] [-r flap_rounds] [-d wrk_seconds] [-k rounds]
set -u
cd "$(dirname "$(readlink -f "$0")")/.."
N=10000; ROUNDS=10; DUR=5; K=3
while getopts "n:r:d:k:" o; do
    case $o in n) N=$OPTARG;; r) ROUNDS=$OPTARG;; d) DUR=$OPTARG;; k) K=$OPTARG;;
               *) sed -n '2,20p' "$0"; exit 2;; esac
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
for b in nft nginx wrk ip; do command -v $b >/dev/null || { echo "missing $b (apt-get install nftables nginx-light wrk iproute2)" >&2; exit 1; }; done

P="kanftb$$"
NSLIST=(); PIDS=()
WORK=$(mktemp -d /tmp/nft-lb-bench.XXXXXX)
cleanup() {
    local p n
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for n in "${NSLIST[@]}"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
    NSLIST=(); PIDS=()
}
trap 'cleanup; rm -rf "$WORK"' EXIT

echo "== build: cargo build --release -p ka-net --example nft_lb"
cargo build -q --release -p ka-net --example nft_lb || exit 1
BIN=$PWD/target/release/examples/nft_lb
echo "kernel $(uname -r), $(nft --version), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "commit $(git rev-parse --short HEAD 2>/dev/null)"

ns() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
mkns() { ip netns add "$P-$1"; NSLIST+=("$P-$1"); ip -n "$P-$1" link set lo up; }
bridge() { ip -n "$P-lan" link add "$1" type bridge stp_state 0 forward_delay 0; ip -n "$P-lan" link set "$1" up; }
attach() {  # attach HOST BRIDGE ADDR/LEN -> next ethN
    local h=$1 br=$2 addr=$3 i=0
    ip netns list | grep -q "^$P-$h\b" || mkns "$h"
    while ip -n "$P-$h" link show "eth$i" >/dev/null 2>&1; do i=$((i+1)); done
    ip link add "v$h$i" netns "$P-lan" type veth peer name "eth$i" netns "$P-$h"
    ip -n "$P-lan" link set "v$h$i" master "$br" up
    ip -n "$P-$h" addr add "$addr" dev "eth$i"; ip -n "$P-$h" link set "eth$i" up
}
nginx_start() {  # nginx_start HOST NAME ADDR
    local d="$WORK/$1"; mkdir -p "$d/tmp"
    cat > "$d/nginx.conf" <<EOF
worker_processes 1; daemon off; pid $d/nginx.pid; error_log $d/error.log warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
  uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
  server { listen 80 backlog=4096; keepalive_requests 1000000;
           location / { default_type text/plain; return 200 "$2\n"; } } }
EOF
    ip netns exec "$P-$1" nginx -c "$d/nginx.conf" -e "$d/error.log" &
    PIDS+=($!)
    local i; for i in $(seq 200); do ns "$1" bash -c "exec 3<>/dev/tcp/$3/80" 2>/dev/null && return 0; sleep 0.05; done
    echo "nginx in $1 did not start" >&2; exit 1
}
# two wrk at once from the client namespace; prints the summed requests/s
wrk2x() {  # wrk2x URL1 URL2
    local a b
    ns cl timeout $((DUR + 10)) wrk -t1 -c16 -d"${DUR}s" "$1" > "$WORK/w1" 2>&1 &
    a=$!
    ns cl timeout $((DUR + 10)) wrk -t1 -c16 -d"${DUR}s" "$2" > "$WORK/w2" 2>&1 &
    b=$!
    wait $a $b
    awk '/Requests\/sec/{s+=$2} /Socket errors|Non-2xx/{e=e" "$0} END{printf "%.0f%s\n", s, (e?" (errors:"e")":"")}' "$WORK/w1" "$WORK/w2"
}
median() { sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
ratio_rounds() {  # ratio_rounds LABEL VIPURL1 VIPURL2 DIRECT1 DIRECT2
    local i v d vs=() ds=()
    for i in $(seq "$K"); do
        v=$(wrk2x "$2" "$3"); d=$(wrk2x "$4" "$5")
        echo "  round $i: VIP $v req/s, direct $d req/s"
        vs+=("${v%% *}"); ds+=("${d%% *}")
    done
    v=$(printf "%s\n" "${vs[@]}" | median); d=$(printf "%s\n" "${ds[@]}" | median)
    printf "%s: median VIP %s req/s, direct %s req/s, ratio %.3f\n" "$1" "$v" "$d" "$(awk -v a="$v" -v b="$d" 'BEGIN{print a/b}')"
}

echo; echo "== 1. apply: $N real servers, $ROUNDS flaps (nft_lb apply-bench SCHED $N $ROUNDS 65521, in a fresh netns)"
for s in wrr mh; do
    mkns apply
    ns apply "$BIN" apply-bench "$s" "$N" "$ROUNDS" 65521
    cleanup
done

echo; echo "== 2a. requests/s, NAT (rr over rs1, rs2)"
mkns lan; bridge br0; bridge br1
attach cl br0 192.0.2.100/24; attach dir br0 192.0.2.1/24; attach dir br1 198.51.100.1/24
ip -n "$P-dir" addr add 192.0.2.80/32 dev eth0
ns dir sysctl -qw net.ipv4.ip_forward=1
ip -n "$P-cl" route add default via 192.0.2.1
for r in 1 2; do attach rs$r br1 198.51.100.2$r/24; ip -n "$P-rs$r" route add default via 198.51.100.1; nginx_start rs$r rs$r 198.51.100.2$r; done
ns dir "$BIN" program nat rr 192.0.2.80:80 198.51.100.21:80 198.51.100.22:80 || exit 1
ratio_rounds "NAT" http://192.0.2.80/ http://192.0.2.80/ http://198.51.100.21/ http://198.51.100.22/
cleanup

echo; echo "== 2b. requests/s, DR (wrr over rs1, rs2, per-flow hash)"
mkns lan; bridge br0
attach cl br0 192.0.2.100/24; attach dir br0 192.0.2.1/24
ip -n "$P-dir" addr add 198.51.100.1/24 dev eth0; ip -n "$P-dir" addr add 192.0.2.80/32 dev eth0
ip -n "$P-cl" route add 198.51.100.0/24 dev eth0
for r in 1 2; do
    attach rs$r br0 198.51.100.2$r/24
    ip -n "$P-rs$r" addr add 192.0.2.80/32 dev lo; ip -n "$P-rs$r" route add 192.0.2.0/24 dev eth0
    ns rs$r sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
        net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
    nginx_start rs$r rs$r 198.51.100.2$r
    ns dir bash -c "exec 3<>/dev/tcp/198.51.100.2$r/80" # resolve its MAC on the director
done
ns dir "$BIN" program dr wrr 192.0.2.80:80 198.51.100.21:80 198.51.100.22:80 --dr-device eth0 || exit 1
ratio_rounds "DR" http://192.0.2.80/ http://192.0.2.80/ http://198.51.100.21/ http://198.51.100.22/
