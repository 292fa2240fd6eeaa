#!/bin/bash
# active-active.sh -- active-active keepalived-rs directors behind a BGP/ECMP router, in network
# namespaces on this machine: Maglev (lb_algo mh) in DR mode on the nftables data plane, VIPs
# announced with the daemon's bgp_announce through BIRD 2, the router spreading flows with ECMP.
#
#   lan      bridges br0 (198.51.100.0/24: router, directors, real servers) and br1 (192.0.2.0/24)
#   rt       router: eth0 198.51.100.1, eth1 192.0.2.1; BIRD AS 65000, kernel protocol with
#            `merge paths on` (one multipath route), BFD 100 ms x 3; forwarding on,
#            net.ipv4.fib_multipath_hash_policy=1 (L4 hash: flows of one client spread)
#   cl       client: 192.0.2.100-103, default via the router; tools/active-active/aa_client.py
#            holds CONNS (60) long-lived HTTP connections (a request every 100 ms each, the same
#            real server must answer) and opens 5 new connections a second
#   d1..d3   directors 198.51.100.11-13: keepalived-rs (bgp_announce 203.0.113.10, virtual_server
#            203.0.113.10:80 DR, lb_algo mh + mh-port, three real servers with TCP_CHECK, quorum 2)
#            and BIRD AS 65001 (protocol direct on lo -> BGP, BFD); a table `netdev aa_acct`
#            (ingress, before ours) counts the VIP's frames and SYNs each director receives and
#            keeps the flows it saw in the last second (set `flows`) and every SYN (set `syns`):
#            that is how a connection is attributed to a director (`ip route get` cannot say:
#            over veth the router hashes the client socket's own flow hash, skb->l4_hash)
#   rs1..rs3 real servers 198.51.100.21-23: nginx answering its name (keep-alive), VIP on lo with
#            arp_ignore 1 / arp_announce 2 (`keepalived-rs realserver`), default via the router:
#            replies go straight back (direct server return)
#
# The client namespace runs with net.core.txrehash=0 (AA_TXREHASH=1 to change): Linux otherwise
# draws a new socket hash on retransmission timeouts, and since the router's ECMP uses that hash
# here, a stalled flow would leave a dead director by itself; a router fed by a real link hashes
# the headers instead.
#
# --test (exit 0 only if every check passes; about 40 s):
#   a  the router's route has three nexthops; every director's counters move; every real server serves
#   b  d1 SIGKILLed (daemon and its BIRD), then d2 silently failed (its port dropped on the bridge):
#      the router withdraws each (measured; d2 within the BFD bound) and the established connections
#      that the router moves keep working with the same real server (broken ones counted);
#      then both come back (ECMP with three nexthops again, broken connections counted)
#   c  rs1 stopped: every director removes it; connections NOT on rs1 that broke are counted
#      (info: rs1 back -- stateless DR re-hashes the slots Maglev gives back to rs1)
#   d  `keepalived-rs ctl drain` on d3: the router withdraws it, no new flow reaches it (SYN
#      counter), existing connections keep working; `ctl resume` brings it back
#   e  SIGTERM on d3: the VIP leaves lo (and the router's route) before the data plane is torn down
# --bench: fraction of established connections broken (and stalled) when one director dies:
#   active-active (3 directors, mh, BGP+BFD) vs VRRP active-passive (2 directors, a vrrp_instance
#   holds the VIP, same virtual_server); router convergence for a silent failure with and without
#   BFD, and for a SIGKILL; each also measured when the failed director comes back; ROUNDS each
#   (-r, default 3; about 3.5 minutes). AA_BENCH_PARTS="aa-on aa-off vrrp" selects parts.
#
# Usage (root): tools/active-active.sh --test|--bench [-r ROUNDS] [-c CONNS] [-T MAXSEC]
#               [--bin PATH] [--standin] [--keep]
#   --standin  add/remove the VIP on lo from this script (`ip addr`) instead of the daemon's
#              bgp_announce / ctl drain (for a daemon without the feature)
#   --keep     keep the work directory (configs, logs, client events); it is printed at the end
# Needs: bird2, nginx-light, nftables, iproute2, python3 (apt-get install bird2 nginx-light nftables).
# Addresses: 198.51.100.0/24, 203.0.113.0/24 and 192.0.2.0/24 only; everything runs in namespaces
# named aa<PID>-*, removed on exit (processes killed by PID), the whole run bounded by -T.
set -u
HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(dirname "$HERE")
PARTS=${AA_BENCH_PARTS:-aa-on aa-off vrrp}   # which --bench parts run
MODE=""; ROUNDS=3; CONNS=60; MAXTIME=""; STANDIN=0; KEEP=0
BIN=$ROOT/target/release/keepalived-rs
ARGS=("$@")
while [ $# -gt 0 ]; do
    case $1 in
        --test) MODE=test;; --bench) MODE=bench;;
        -r) ROUNDS=$2; shift;; -c) CONNS=$2; shift;; -T) MAXTIME=$2; shift;;
        --bin) BIN=$2; shift;; --standin) STANDIN=1;; --keep) KEEP=1;;
        *) sed -n '2,53p' "$0"; exit 2;;
    esac
    shift
done
[ -n "$MODE" ] || { sed -n '2,53p' "$0"; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 2; }
if [ -z "$MAXTIME" ]; then if [ "$MODE" = test ]; then MAXTIME=300; else MAXTIME=1500; fi; fi
if [ -z "${AA_UNDER_TIMEOUT:-}" ]; then
    # Bounded: timeout sends SIGTERM (our trap cleans up), then SIGKILL 30 s later.
    AA_UNDER_TIMEOUT=1 exec timeout -k 30 "$MAXTIME" "$0" "${ARGS[@]}"
fi
PY=/usr/bin/python3; [ -x $PY ] || PY=$(command -v python3)
for b in bird birdc nginx nft ip; do
    command -v $b >/dev/null || { echo "missing $b (apt-get install bird2 nginx-light nftables iproute2)" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "missing $BIN (cargo build --release -p keepalived-rs)" >&2; exit 2; }
CLIENT_PY=$HERE/active-active/aa_client.py

P="aa$$"
WORK=$(mktemp -d /tmp/active-active.XXXXXX)
VIP=203.0.113.10; PORT=80
RT=198.51.100.1; RT_CL=192.0.2.1
declare -A DIP=([d1]=198.51.100.11 [d2]=198.51.100.12 [d3]=198.51.100.13)
declare -A RSIP=([rs1]=198.51.100.21 [rs2]=198.51.100.22 [rs3]=198.51.100.23)
CL_SRC=192.0.2.100,192.0.2.101,192.0.2.102,192.0.2.103
declare -A PID=()          # what -> pid (every long-running process we start)
NSLIST=()
FAILS=0; PASSES=0
RESULTS=$WORK/results.txt; : > "$RESULTS"

now() { echo "$EPOCHREALTIME"; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.0f", (a-b)*1000}'; }
say() { echo "$*" | tee -a "$RESULTS"; }
check() {  # check NAME OK(0/1) DETAIL
    if [ "$2" = 0 ]; then PASSES=$((PASSES+1)); say "PASS $1: $3"; else FAILS=$((FAILS+1)); say "FAIL $1: $3"; fi
}
info() { say "INFO $*"; }
ns() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }

stop_pid() {  # stop_pid WHAT [SIGNAL]: signal, wait up to 3 s, then SIGKILL
    local p=${PID[$1]:-} i
    [ -n "$p" ] || return 0
    kill "-${2:-TERM}" "$p" 2>/dev/null
    for i in $(seq 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null
    { wait "$p"; } 2>/dev/null
    unset "PID[$1]"
}
teardown() {  # every process by PID (daemons get SIGTERM first: they clean up), then namespaces
    local w n p ino
    for w in "${!PID[@]}"; do [[ $w == client ]] && stop_pid "$w"; done
    for w in "${!PID[@]}"; do [[ $w == ka-* ]] && kill -TERM "${PID[$w]}" 2>/dev/null; done
    for w in "${!PID[@]}"; do [[ $w == ka-* ]] && stop_pid "$w"; done
    for w in "${!PID[@]}"; do stop_pid "$w"; done
    for n in "${NSLIST[@]}"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        # Named after the namespace's inode: a SIGKILLed director's control socket and crash
        # journal, a real server's `realserver up` records (stale once the namespace goes).
        if ino=$(stat -c %i "/run/netns/$n" 2>/dev/null); then
            rm -f /run/keepalived-rs/*-net"$ino".* /run/keepalived-rs/*-net"$ino"-*
            rm -rf "/run/keepalived-rs/realserver/net$ino"
        fi
        ip netns del "$n" 2>/dev/null
    done
    NSLIST=()
}
on_exit() {
    trap - EXIT INT TERM
    teardown
    if [ "$KEEP" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap on_exit EXIT
trap 'echo "interrupted or out of time (-T $MAXTIME)" >&2; exit 124' INT TERM

# ------------------------------------------------------------------ topology -------------
mkns() { ip netns add "$P-$1" && NSLIST+=("$P-$1") && ip -n "$P-$1" link set lo up; }
attach() {  # attach HOST BRIDGE IFNAME ADDR/LEN...
    local h=$1 br=$2 ifn=$3; shift 3
    ip -n "$P-$h" link show >/dev/null 2>&1 || mkns "$h"
    ip link add "p-$h-$ifn" netns "$P-lan" type veth peer name "$ifn" netns "$P-$h" || return 1
    ip -n "$P-lan" link set "p-$h-$ifn" master "$br" up
    local a; for a in "$@"; do ip -n "$P-$h" addr add "$a" dev "$ifn"; done
    ip -n "$P-$h" link set "$ifn" up
}
build_topology() {  # build_topology "d1 d2 d3"
    local d r
    mkns lan
    for br in br0 br1; do
        ip -n "$P-lan" link add $br type bridge stp_state 0 forward_delay 0 && ip -n "$P-lan" link set $br up
    done
    attach rt br0 eth0 $RT/24; attach rt br1 eth1 $RT_CL/24
    ns rt sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1
    attach cl br1 eth0 192.0.2.100/24 192.0.2.101/24 192.0.2.102/24 192.0.2.103/24
    ip -n "$P-cl" route add default via $RT_CL
    # Over veth the router's ECMP hash is the client socket's own flow hash (skb->l4_hash), and
    # Linux draws a new one on every retransmission timeout: a flow would hop between directors
    # on its own. A router fed by a real link hashes the headers, the same for a flow's life.
    ns cl sysctl -qw net.core.txrehash="${AA_TXREHASH:-0}"
    for d in $1; do attach "$d" br0 eth0 "${DIP[$d]}/24"; done
    for r in rs1 rs2 rs3; do
        attach $r br0 eth0 "${RSIP[$r]}/24"
        ip -n "$P-$r" route add default via $RT
        ns $r "$BIN" realserver --vip $VIP up >/dev/null || return 1
    done
}

# ------------------------------------------------------------------ real servers --------
start_rs() {  # start_rs rsN: nginx, one process (master_process off), keep-alive for long
    local r=$1 d=$WORK/$1
    mkdir -p "$d/tmp"
    cat > "$d/nginx.conf" <<EOF
worker_processes 1; daemon off; master_process off; pid $d/nginx.pid; error_log $d/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
  uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
  keepalive_timeout 900s; keepalive_requests 100000000;
  server { listen 80 backlog=4096; location / { default_type text/plain; return 200 "$r\n"; } }
}
EOF
    ip netns exec "$P-$r" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" >> "$d/out" 2>&1 &
    PID[nginx-$r]=$!
    local i; for i in $(seq 100); do ns $r bash -c "exec 3<>/dev/tcp/${RSIP[$r]}/80" 2>/dev/null && return 0; sleep 0.05; done
    echo "nginx in $r did not start: $(cat "$d/error.log")" >&2; return 1
}

# ------------------------------------------------------------------ BIRD ----------------
BGP_TIMERS='hold time 3; startup hold time 3; keepalive time 1;
    connect delay time 1; connect retry time 2; error wait time 1, 3; error forget time 10;'
bfd_block() {
    [ "$1" = on ] || return 0
    echo 'protocol bfd { interface "eth0" { min rx interval 100 ms; min tx interval 100 ms; idle tx interval 300 ms; multiplier 3; }; }'
}
conf_router_bird() {  # conf_router_bird BFD(on|off) DIRECTORS
    local d
    {
        echo "router id $RT;"
        echo "log \"$WORK/bird-rt.log\" all;"
        echo "debug protocols { states, events };"
        echo "protocol device { }"
        echo "protocol kernel { ipv4 { import none; export all; }; merge paths on; }"
        bfd_block "$1"
        echo "template bgp director {"
        echo "    local $RT as 65000; $BGP_TIMERS"
        [ "$1" = on ] && echo "    bfd on;"
        echo "    ipv4 { import where net ~ [ 203.0.113.0/24{32,32} ]; export none; };"
        echo "}"
        for d in $2; do echo "protocol bgp $d from director { neighbor ${DIP[$d]} as 65001; }"; done
    } > "$WORK/bird-rt.conf"
}
conf_director_bird() {  # conf_director_bird dN BFD
    local d=$1
    {
        echo "router id ${DIP[$d]};"
        echo "log \"$WORK/bird-$d.log\" all;"
        echo "debug protocols { states, events };"
        echo "protocol device { }"
        echo "protocol direct vip { ipv4; interface \"lo\"; }"
        bfd_block "$2"
        echo "protocol bgp rtr {"
        echo "    local ${DIP[$d]} as 65001; neighbor $RT as 65000; $BGP_TIMERS"
        [ "$2" = on ] && echo "    bfd on;"
        echo "    ipv4 { import none; export where net ~ [ 203.0.113.0/24{32,32} ]; };"
        echo "}"
    } > "$WORK/bird-$d.conf"
}
start_bird() {  # start_bird HOST
    ip netns exec "$P-$1" bird -f -c "$WORK/bird-$1.conf" -s "$WORK/bird-$1.ctl" -P "$WORK/bird-$1.pid" \
        >> "$WORK/bird-$1.out" 2>&1 &
    PID[bird-$1]=$!
}

# ------------------------------------------------------------------ directors -----------
conf_director() {  # conf_director dN bgp|vrrp-master|vrrp-backup
    local d=$1 mode=$2 r
    {
        echo "global_defs { router_id $d }"
        if [ "$mode" = bgp ] && [ "$STANDIN" = 0 ]; then
            echo "bgp_announce { $VIP dev lo }"
        fi
        if [[ $mode == vrrp-* ]]; then
            local state=MASTER prio=150
            [ "$mode" = vrrp-backup ] && { state=BACKUP; prio=100; }
            echo "vrrp_instance VI_1 { state $state; interface eth0; virtual_router_id 51; priority $prio;"
            # higher_prio_send_advert: after a partition heals, the master that yields answers
            # first, so the other hears a lower priority and sends its gratuitous ARPs (else the
            # router keeps the yielding director's MAC: keepalived's split-brain pitfall)
            echo "    advert_int 1; higher_prio_send_advert; virtual_ipaddress { $VIP/32 dev eth0 } }"
        fi
        echo "virtual_server $VIP $PORT {"
        echo "    delay_loop 1"
        echo "    lb_algo mh"
        echo "    mh-port"
        echo "    lb_kind DR"
        echo "    protocol TCP"
        echo "    quorum 2"
        for r in rs1 rs2 rs3; do
            echo "    real_server ${RSIP[$r]} $PORT { weight 1; TCP_CHECK { connect_timeout 1; retry 1; delay_before_retry 1 } }"
        done
        echo "}"
    } | tr ';' '\n' > "$WORK/$d.conf"
}
start_director() {  # start_director dN
    local d=$1
    echo "---- start $(date +%T.%N) ----" >> "$WORK/ka-$d.log"
    ip netns exec "$P-$d" "$BIN" -n -l -D -f "$WORK/$d.conf" --dataplane nftables >> "$WORK/ka-$d.log" 2>&1 &
    PID[ka-$d]=$!
}
acct_table() {  # counters of the VIP's frames addressed to this director (before our DR table)
    ns "$1" nft -f - <<EOF
table netdev aa_acct {
    chain in {
        type filter hook ingress device "eth0" priority -100; policy accept;
        meta pkttype host ip daddr $VIP tcp dport $PORT counter
        meta pkttype host ip daddr $VIP tcp dport $PORT tcp flags & (syn | ack) == syn counter add @syns { ip saddr . tcp sport }
        meta pkttype host ip daddr $VIP tcp dport $PORT update @flows { ip saddr . tcp sport }
    }
    set syns { type ipv4_addr . inet_service; size 65535; flags dynamic; }
    set flows { type ipv4_addr . inet_service; size 65535; flags dynamic,timeout; timeout 1s; }
}
EOF
}
acct() {  # acct dN -> "packets syns"
    ns "$1" nft list chain netdev aa_acct in 2>/dev/null | awk '/counter packets/{for(i=1;i<=NF;i++) if($i=="packets") printf "%s ", $(i+1)} END{print ""}'
}
rs_in_table() {  # rs_in_table dN rsN -> 0 if the director's data plane forwards to it
    ns "$1" "$BIN" list -t $VIP:$PORT --dataplane nftables 2>/dev/null | grep -q "${RSIP[$2]}:$PORT"
}
table_rs_count() { ns "$1" "$BIN" list -t $VIP:$PORT --dataplane nftables 2>/dev/null | grep -c -- '->.*Route'; }
vip_on_lo() { ip -n "$P-$1" -o addr show dev lo | grep -q " $VIP/32"; }
# The announce hooks: the daemon's bgp_announce (status) and ctl drain/resume, or the stand-in.
standin_announce() { [ "$STANDIN" = 1 ] && ip -n "$P-$1" addr add $VIP/32 dev lo 2>/dev/null; return 0; }
drain() {
    if [ "$STANDIN" = 1 ]; then ip -n "$P-$1" addr del $VIP/32 dev lo; else ns "$1" "$BIN" ctl drain; fi
}
resume() {
    if [ "$STANDIN" = 1 ]; then ip -n "$P-$1" addr add $VIP/32 dev lo; else ns "$1" "$BIN" ctl resume; fi
}
announce_status() {  # the "announce" entries of ctl status, one line each
    ns "$1" "$BIN" ctl status 2>/dev/null | $PY -c '
import json,sys
try: s=json.load(sys.stdin)
except Exception as e: print("no status:", e); sys.exit()
for a in s.get("announce", []) or []: print(json.dumps(a, separators=(",",":")))
if "announce" not in s: print("no announce key")'
}

# ------------------------------------------------------------------ router --------------
nexthops() { ip -n "$P-rt" route show $VIP 2>/dev/null | grep -o 'via [0-9.]*' | awk '{print $2}' | sort | tr '\n' ' '; }
nh_count() { nexthops | wc -w; }
nh_order() {  # the nexthops as the kernel lists them (hash-threshold gives each a slice in this order)
    ip -n "$P-rt" route show $VIP 2>/dev/null | grep -o 'via [0-9.]*' | awk '{print $2}' | sed 's/.*\.1\([123]\)$/d\1/' | tr '\n' ' '
}
flow_counts() {  # flows seen by each director in the last second
    local d out=""
    for d in d1 d2 d3; do ip netns list | grep -qw "$P-$d" && out+="$d=$(set_members $d flows | wc -l) "; done
    echo "${out% }"
}
wait_until() {  # wait_until SECONDS CMD...: poll every ~5 ms; prints the elapsed ms; 1 on timeout
    local t0=$EPOCHREALTIME lim=$1; shift
    local end=$(( ${t0/./} + lim * 1000000 ))
    while :; do
        if "$@"; then ms "$EPOCHREALTIME" "$t0"; echo; return 0; fi
        [ "${EPOCHREALTIME/./}" -gt "$end" ] && { ms "$EPOCHREALTIME" "$t0"; echo; return 1; }
        sleep 0.005
    done
}
route_without() { ! nexthops | grep -qw "$1"; }
route_with() { nexthops | grep -qw "$1"; }
route_has_n() { [ "$(nh_count)" = "$1" ]; }
# Elapsed from a given start time: wait_since T0 SECONDS CMD... -> ms since T0
wait_since() {
    local t0=$1 lim=$2; shift 2
    local end=$(( ${t0/./} + lim * 1000000 ))
    while :; do
        if "$@"; then ms "$EPOCHREALTIME" "$t0"; echo; return 0; fi
        [ "${EPOCHREALTIME/./}" -gt "$end" ] && { ms "$EPOCHREALTIME" "$t0"; echo; return 1; }
        sleep 0.005
    done
}
silent_fail() { ip netns exec "$P-lan" nft -f - <<EOF
table bridge aa_fail_$1 {
    chain port_drop { type filter hook forward priority 0; policy accept; iifname "p-$1-eth0" drop; oifname "p-$1-eth0" drop; }
}
EOF
}
heal() { ip netns exec "$P-lan" nft delete table bridge "aa_fail_$1"; }

stamp() {  # stamp WHAT FILE CMD...: run a monitor, each line time-stamped into FILE
    local w=$1 f=$2; shift 2
    $PY "$CLIENT_PY" stamp --out "$f" --duration 60 -- "$@" >/dev/null 2>&1 &
    PID[$w]=$!
}

# ------------------------------------------------------------------ client --------------
start_client() {
    ip netns exec "$P-cl" $PY "$CLIENT_PY" run --vip $VIP --port $PORT --src $CL_SRC --conns "$CONNS" \
        --interval 0.1 --new-rate 5 --timeout 10 --slow 0.05 --duration $((MAXTIME)) \
        --log "$WORK/client.log" --snapshot "$WORK/client.snap" >> "$WORK/client.out" 2>&1 &
    PID[client]=$!
}
set_members() {  # set_members dN SET -> "src lport" lines (the director's accounting set)
    ns "$1" nft list set netdev aa_acct "$2" 2>/dev/null | grep -o '[0-9]*\.[0-9]*\.[0-9]*\.[0-9]* \. [0-9]*' | awk '{print $1, $3}'
}
snapshot() {  # snapshot NAME: the client's connections now, and the director each one's packets
              # reach (each director's set of flows seen in the last second)
    local d
    cp "$WORK/client.snap" "$WORK/snap-$1.json"
    : > "$WORK/snap-$1.dir"
    for d in d1 d2 d3; do
        ip netns list | grep -qw "$P-$d" || continue
        set_members $d flows | sed "s/\$/ $d/" >> "$WORK/snap-$1.dir"
    done
}
forget_syns() {  # forget_syns dN: empty the director's SYN set before a new_seen window: the
                 # client reuses source ports, and an old SYN through dN must not count
    ns "$1" nft flush set netdev aa_acct syns
}
new_seen() {  # new_seen dN T0 T1 -> "K of N": the client's new connections in the window whose SYN reached dN
    set_members "$1" syns > "$WORK/syns-$1.txt"
    $PY - "$WORK/client.log" "$2" "$3" "$WORK/syns-$1.txt" <<'EOF'
import json,sys
seen={tuple(l.split()) for l in open(sys.argv[4]) if l.strip()}
n=k=0
for l in open(sys.argv[1]):
    try: e=json.loads(l)
    except ValueError: continue
    if e.get("ev")=="new" and e.get("lport") and float(sys.argv[2])<=e["t"]<=float(sys.argv[3]):
        n+=1; k+=(e["src"], str(e["lport"])) in seen
print(f"{k} of {n}")
EOF
}
report() {  # report SNAPNAME T0 T1 [EXCLUDED_SERVER] -> sets R_* variables
    local ex=()
    [ -n "${4:-}" ] && ex=(--exclude-server "$4")
    [ -n "${OPENED_AFTER:-}" ] && ex+=(--opened-after "$OPENED_AFTER")
    eval "$($PY "$CLIENT_PY" report --log "$WORK/client.log" --snapshot "$WORK/snap-$1.json" \
        --directors "$WORK/snap-$1.dir" --t0 "$2" --t1 "$3" "${ex[@]}" --shell)"
    echo "report $1: established $R_established by_server $R_by_server by_director $R_by_director" \
         "broken $R_broken $R_broken_kinds by_director $R_broken_by_director max_stall ${R_max_stall}s" \
         "stalled>1s $R_stalled_conns new ok $R_new_ok fail $R_new_fail $R_new_by_server" >> "$RESULTS.detail"
}

# ------------------------------------------------------------------ a whole cluster -----
start_bgp_cluster() {  # start_bgp_cluster BFD: topology, real servers, 3 directors + BIRDs, router
    local d r bfd=$1 t
    build_topology "d1 d2 d3" || return 1
    for r in rs1 rs2 rs3; do start_rs $r || return 1; done
    for d in d1 d2 d3; do
        conf_director $d bgp; conf_director_bird $d "$bfd"; acct_table $d
        ns $d sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
        start_director $d
    done
    conf_router_bird "$bfd" "d1 d2 d3"; start_bird rt
    for d in d1 d2 d3; do
        wait_until 20 eval "[ \"\$(table_rs_count $d)\" = 3 ]" >/dev/null \
            || { echo "$d: data plane never had 3 real servers: $(tail -5 "$WORK/ka-$d.log")" >&2; return 1; }
        standin_announce $d
        start_bird $d
    done
    t=$(wait_until 30 route_has_n 3) || { echo "router never got 3 nexthops ($(nexthops))" >&2; return 1; }
    echo "cluster up: router ECMP with 3 nexthops $t ms after the directors' BIRDs started" >> "$RESULTS.detail"
}
restart_director() {  # restart_director dN: daemon, then (once it announces) BIRD
    # After a SIGKILL the old table and VIP are still there: wait for the new daemon's own word.
    start_director "$1"
    if [ "$STANDIN" = 1 ]; then
        wait_until 20 eval "[ \"\$(table_rs_count $1)\" = 3 ]" >/dev/null
        standin_announce "$1"
    else
        wait_until 20 eval "announce_status $1 | grep -q '\"announced\":true'" >/dev/null
    fi
    start_bird "$1"
}
kill_director() {  # SIGKILL the daemon and its BIRD (the nft table and the VIP on lo stay behind)
    kill -KILL "${PID[ka-$1]}" "${PID[bird-$1]}" 2>/dev/null
    { wait "${PID[ka-$1]}" "${PID[bird-$1]}"; } 2>/dev/null
    unset "PID[ka-$1]" "PID[bird-$1]"
}

# ================================================================== --test ==============
run_test() {
    say "== active-active --test: 3 directors (BGP+BFD, DR, mh), 3 real servers, $CONNS long-lived connections"
    say "   $(date -u +%FT%TZ), $($BIN --version 2>&1 | head -1), $(bird --version 2>&1), kernel $(uname -r)"
    [ "$STANDIN" = 1 ] && say "   STAND-IN: the VIP is put on lo by this script, not by bgp_announce"
    start_bgp_cluster on || { check setup 1 "cluster did not come up"; return; }
    start_client
    wait_until 15 eval "[ \$($PY -c 'import json;print(len(json.load(open(\"$WORK/client.snap\"))[\"conns\"]))' 2>/dev/null || echo 0) -ge $CONNS ]" >/dev/null \
        || { check setup 1 "the client never held $CONNS connections ($(tail -3 "$WORK/client.out"))"; return; }
    sleep 2

    # ---- a: three nexthops, every director carries traffic, every real server serves
    local d r c0 c1 ok det t0 t1 ms_ bad
    declare -A A0=() A1=()
    for d in d1 d2 d3; do A0[$d]=$(acct $d); done
    snapshot a; t0=$(now); sleep 3; t1=$(now)
    for d in d1 d2 d3; do A1[$d]=$(acct $d); done
    report a "$t0" "$t1"
    ok=0; det="route: $(nexthops)|"
    [ "$(nh_count)" = 3 ] || ok=1
    for d in d1 d2 d3; do
        c0=${A0[$d]%% *}; c1=${A1[$d]%% *}
        det+=" $d +$((c1-c0)) frames"
        [ $((c1-c0)) -gt 0 ] || ok=1
    done
    det+="; connections by director $R_by_director, by real server $R_by_server; broken $R_broken"
    for r in rs1 rs2 rs3; do echo "$R_by_server" | grep -q "\"$r\"" || ok=1; done
    [ "$R_broken" = 0 ] || ok=1
    if [ "$STANDIN" = 0 ]; then
        for d in d1 d2 d3; do
            det+="; $d announce $(announce_status $d | tr '\n' ' ')"
            announce_status $d | grep -q '"announced":true' || ok=1
        done
    fi
    check "a ECMP+counters" $ok "$det"

    # ---- b1: d1 SIGKILLed (daemon + BIRD)
    snapshot b1; t0=$(now)
    kill_director d1
    ms_=$(wait_since "$t0" 5 route_without "${DIP[d1]}") || ms_=">5000"
    sleep 3; t1=$(now)
    report b1 "$t0" "$t1"
    ok=0; [[ $ms_ == \>* ]] && ok=1; [ "$R_broken" = 0 ] || ok=1
    check "b1 SIGKILL d1" $ok "router withdrew d1 in $ms_ ms (route now: $(nexthops)); established $R_established (on d1: $(echo "$R_by_director" | grep -o '"d1":[0-9]*' | cut -d: -f2)), broken $R_broken $R_broken_kinds (by director $R_broken_by_director), longest stall ${R_max_stall}s; new connections ok $R_new_ok failed $R_new_fail"

    # ---- b2: d2 silently failed (its bridge port drops everything)
    snapshot b2; t0=$(now)
    silent_fail d2
    ms_=$(wait_since "$t0" 5 route_without "${DIP[d2]}") || ms_=">5000"
    sleep 3; t1=$(now)
    report b2 "$t0" "$t1"
    ok=0; [[ $ms_ == \>* ]] && ok=1; [[ $ms_ != \>* ]] && [ "$ms_" -gt 1000 ] && ok=1; [ "$R_broken" = 0 ] || ok=1
    check "b2 silent d2" $ok "router withdrew d2 in $ms_ ms (BFD 3 x 100 ms; bound 1000 ms) (route now: $(nexthops)); established $R_established (on d2: $(echo "$R_by_director" | grep -o '"d2":[0-9]*' | cut -d: -f2)), broken $R_broken $R_broken_kinds, longest stall ${R_max_stall}s, stalled >1 s $R_stalled_conns; new ok $R_new_ok failed $R_new_fail"

    # ---- b3: both back. d2 heals once its checkers have seen the failure (it withdrew: no
    # quorum). Healed earlier, the router takes it back while probes that started during the
    # outage still report real servers down, and it drops them from its table while announced
    # (a director whose view lags its peers': flows of those servers reset; see README, limits).
    for _ in $(seq 100); do
        announce_status d2 | grep -q '"announced":false' && break
        sleep 0.1
    done
    announce_status d2 | grep -q '"announced":false' \
        || check "b3 d2 withdrew before the heal" 1 "d2 still announced 10 s into its silent failure"
    snapshot b3; t0=$(now)
    heal d2; restart_director d1
    ms_=$(wait_since "$t0" 20 route_has_n 3) || ms_=">20000"
    sleep 2; t1=$(now)
    report b3 "$t0" "$t1"
    ok=0; [[ $ms_ == \>* ]] && ok=1; [ "$R_broken" = 0 ] || ok=1
    check "b3 d1+d2 back" $ok "three nexthops again $ms_ ms after heal/restart ($(nexthops)); established $R_established, broken $R_broken $R_broken_kinds, longest stall ${R_max_stall}s; new ok $R_new_ok failed $R_new_fail"

    # ---- c: rs1 fails
    snapshot c; t0=$(now)
    stop_pid nginx-rs1 KILL
    bad=""
    for d in d1 d2 d3; do
        ms_=$(wait_since "$t0" 15 eval "! rs_in_table $d rs1") || bad+=" $d"
        det="$det"
        eval "RM_$d=$ms_"
    done
    sleep 2; t1=$(now)
    report c "$t0" "$t1" rs1
    for d in d1 d2 d3; do eval "[ \"\${RM_$d#>}\" -le 4000 ]" || bad+=" $d(late)"; done
    ok=0; [ -z "$bad" ] || ok=1; [ "$R_broken_not_on_excluded" -le $(( (R_established + 49) / 50 )) ] || ok=1
    check "c rs1 down" $ok "removed by d1 in $RM_d1 ms, d2 $RM_d2 ms, d3 $RM_d3 ms (bound 4000: delay_loop 1 + retry 1 x (delay_before_retry 1 + connect_timeout 1)${bad:+; NOT in time:$bad}); established $R_established by server $R_by_server; broken on rs1 $((R_broken - R_broken_not_on_excluded)) (expected), NOT on rs1 $R_broken_not_on_excluded (bound 2%); new ok $R_new_ok failed $R_new_fail $R_new_by_server"

    # ---- c2 (info): rs1 back. Half the connections are first reopened (SIGUSR1 to the client)
    # so that some were opened on the two-server table: Maglev gives rs1 its slots back, and
    # stateless DR (no connection table) sends the flows in those slots to rs1, which resets them.
    local tr; tr=$(now); kill -USR1 "${PID[client]}"; sleep 1.5
    start_rs rs1
    snapshot c2; t0=$(now)
    for d in d1 d2 d3; do wait_since "$t0" 15 rs_in_table $d rs1 >/dev/null; done
    ms_=$(ms "$(now)" "$t0")
    sleep 2; t1=$(now)
    OPENED_AFTER=$tr report c2 "$t0" "$t1"
    info "c2 rs1 back: in every director's table after $ms_ ms; established $R_established, of them opened while rs1 was out $R_opened_after; broken $R_broken $R_broken_kinds, of them opened while rs1 was out $R_broken_opened_after -- stateless DR: a flow whose Maglev slot goes back to rs1 is reset there; new by server $R_new_by_server"

    # ---- d: drain d3
    sleep 1
    snapshot d; t0=$(now)
    local syn0 syn1 t2
    drain d3 >> "$WORK/ctl.out" 2>&1
    ms_=$(wait_since "$t0" 5 route_without "${DIP[d3]}") || ms_=">5000"
    sleep 0.5; forget_syns d3; syn0=$(acct d3); syn0=${syn0#* }; t2=$(now)
    sleep 4; syn1=$(acct d3); syn1=${syn1#* }; t1=$(now)
    report d "$t0" "$t1"
    local seen; seen=$(new_seen d3 "$t2" "$t1")
    local ann=""; [ "$STANDIN" = 0 ] && ann="; status: $(announce_status d3 | tr '\n' ' ')"
    ok=0; [[ $ms_ == \>* ]] && ok=1; [ "$R_broken" = 0 ] || ok=1; [ "$syn1" = "$syn0" ] || ok=1; [ "${seen%% *}" = 0 ] || ok=1; [ "$R_new_ok" -gt 0 ] || ok=1
    vip_on_lo d3 && { ok=1; ann+=" (VIP still on lo!)"; }
    check "d drain d3" $ok "router withdrew d3 in $ms_ ms; in the 4 s after: SYNs at d3 $((syn1 - syn0)), new connections whose SYN reached d3 $seen; established $R_established (on d3: $(echo "$R_by_director" | grep -o '"d3":[0-9]*' | cut -d: -f2)), broken $R_broken $R_broken_kinds; new ok $R_new_ok failed $R_new_fail$ann"
    t0=$(now); resume d3 >> "$WORK/ctl.out" 2>&1
    ms_=$(wait_since "$t0" 10 route_has_n 3) || ms_=">10000"
    forget_syns d3; t2=$(now); sleep 3; t1=$(now)
    seen=$(new_seen d3 "$t2" "$t1")
    ok=0; [[ $ms_ == \>* ]] && ok=1; [ "${seen%% *}" -gt 0 ] || ok=1
    check "d resume d3" $ok "three nexthops again $ms_ ms after ctl resume; new connections in the next 3 s whose SYN reached d3: $seen"

    # ---- e: SIGTERM on d3: the VIP leaves lo (and the router's route) before the data plane goes.
    # Time-stamped monitors: d3's addresses, d3's nftables changes, the router's routes.
    if [ "$STANDIN" = 0 ]; then
        local tv tt tr m
        stamp mon-addr "$WORK/e-addr.txt" ip netns exec "$P-d3" ip -o monitor address
        stamp mon-nft "$WORK/e-nft.txt" ip netns exec "$P-d3" nft monitor
        stamp mon-route "$WORK/e-route.txt" ip netns exec "$P-rt" ip -o monitor route
        sleep 0.5
        t0=$(now); kill -TERM "${PID[ka-d3]}"
        wait_until 10 eval "! kill -0 ${PID[ka-d3]} 2>/dev/null" >/dev/null
        wait "${PID[ka-d3]}" 2>/dev/null; unset "PID[ka-d3]"
        sleep 0.5
        for m in mon-addr mon-nft mon-route; do stop_pid $m; done
        first() { awk -v t0="$t0" -v pat="$2" -v pat2="$3" '$0 ~ pat && $0 ~ pat2 {printf "%.0f", ($1-t0)*1000; exit}' "$1"; }
        tv=$(first "$WORK/e-addr.txt" "Deleted" "$VIP")
        tt=$(first "$WORK/e-nft.txt" "delete" "keepalived_rs_lb")
        tr=$(first "$WORK/e-route.txt" "$VIP" "")
        ok=0; [ -n "$tv" ] && [ -n "$tt" ] && [ "$tv" -le "$tt" ] || ok=1
        check "e SIGTERM d3" $ok "after the SIGTERM: VIP deleted from lo at ${tv:-never} ms, first deletion in the DR table at ${tt:-never} ms, router route changed at ${tr:-never} ms"
    fi
    info "client totals: $($PY -c "import json;print(json.load(open('$WORK/client.snap'))['totals'])")"
}

# ================================================================== --bench =============
bench_aa_event() {  # bench_aa_event KIND(silent|kill) ROUND BFD: on a running BGP cluster, d2 fails
    local kind=$1 i=$2 bfd=$3 t0 t1 ms_ back
    local order; order=$(nh_order)
    snapshot "aa-$kind-$bfd-$i"; t0=$(now)
    if [ "$kind" = silent ]; then silent_fail d2; else kill_director d2; fi
    ms_=$(wait_since "$t0" 8 route_without "${DIP[d2]}") || ms_=">8000"
    sleep 7; t1=$(now)
    report "aa-$kind-$bfd-$i" "$t0" "$t1"
    local on; on=$(echo "$R_by_director" | grep -o '"d2":[0-9]*' | cut -d: -f2)
    say "aa $kind bfd=$bfd round $i: router withdrew d2 in $ms_ ms; established $R_established, on d2 ${on:-0} (route order before: $order); broken $R_broken $R_broken_kinds; stalled >1 s $R_stalled_conns; longest stall ${R_max_stall}s; new ok $R_new_ok failed $R_new_fail"
    local line="$kind $bfd $ms_ $R_established ${on:-0} $R_broken $R_stalled_conns $R_max_stall $R_new_ok $R_new_fail"
    snapshot "aa-$kind-$bfd-$i-back"; t0=$(now)
    if [ "$kind" = silent ]; then heal d2; else restart_director d2; fi
    back=$(wait_since "$t0" 30 route_has_n 3) || back=">30000"
    sleep 5; t1=$(now)
    report "aa-$kind-$bfd-$i-back" "$t0" "$t1"
    say "   d2 back: three nexthops $back ms after the $([ "$kind" = silent ] && echo heal || echo restart) (order: $(nh_order)); flows now $(flow_counts); established $R_established, broken $R_broken $R_broken_kinds; longest stall ${R_max_stall}s"
    echo "$line $R_broken" >> "$WORK/bench.aa"
    sleep 1
}
vip_holder() {  # which of d1/d2 holds the VIP on eth0 (VRRP); "d1 d2" when both do
    local d out=""
    for d in d1 d2; do ip -n "$P-$d" -o addr show dev eth0 | grep -q " $VIP/" && out+="$d "; done
    echo "${out% }"
}
carrier() {  # the director whose flows set is the largest (where the router sends the VIP's frames)
    local d best="" n max=-1
    for d in "$@"; do n=$(set_members $d flows | wc -l); [ "$n" -gt "$max" ] && { max=$n; best=$d; }; done
    echo "$best"
}
bench_vrrp_event() {  # the director that carries the traffic (the VRRP master) fails silently
    local i=$1 t0 t1 ms_ tk a b
    a=$(carrier d1 d2); [ "$a" = d1 ] && b=d2 || b=d1
    snapshot "vrrp-$i"; t0=$(now)
    silent_fail $a
    ms_=$(wait_since "$t0" 10 eval "ip -n $P-$b -o addr show dev eth0 | grep -q ' $VIP/'") || ms_=">10000"
    sleep 9; t1=$(now)
    report "vrrp-$i" "$t0" "$t1"
    say "vrrp silent round $i: $a (carrying the traffic, VIP holder: $(echo "$R_by_director")) went silent; $b holds the VIP after $ms_ ms; established $R_established; broken $R_broken $R_broken_kinds; stalled >1 s $R_stalled_conns; longest stall ${R_max_stall}s; new ok $R_new_ok failed $R_new_fail"
    local line="vrrp $ms_ $R_established $R_broken $R_stalled_conns $R_max_stall $R_new_ok $R_new_fail"
    snapshot "vrrp-$i-back"; t0=$(now); heal $a
    # d1 (priority 150) preempts: wait until one director holds the VIP and carries the traffic
    tk=$(wait_since "$t0" 15 eval '[ "$(vip_holder)" = d1 ] && [ "$(carrier d1 d2)" = d1 ]') || tk=">15000"
    local holder; holder=$(vip_holder)
    sleep 3; t1=$(now)
    report "vrrp-$i-back" "$t0" "$t1"
    say "   $a healed: VIP holder $holder, traffic through $(carrier d1 d2) after $tk ms; established $R_established, broken $R_broken $R_broken_kinds; longest stall ${R_max_stall}s"
    echo "$line $R_broken" >> "$WORK/bench.vrrp"
    if [[ $tk == \>* ]]; then
        info "the router still sends the VIP to $(carrier d1 d2) (neighbour: $(ip -n "$P-rt" neigh show $VIP)); flushing its ARP entry"
        ip -n "$P-rt" neigh del $VIP dev eth0 2>/dev/null
    fi
    sleep 2
}
wait_client() {
    wait_until 20 eval "[ \$($PY -c 'import json;print(len(json.load(open(\"$WORK/client.snap\"))[\"conns\"]))' 2>/dev/null || echo 0) -ge $CONNS ]" >/dev/null
}
run_bench() {
    local i bfd
    say "== active-active --bench: $ROUNDS rounds each, $CONNS long-lived connections (a request every 100 ms)"
    say "   $(date -u +%FT%TZ), $($BIN --version 2>&1 | head -1), $(bird --version 2>&1), kernel $(uname -r), $(nproc) CPUs"
    [ "$STANDIN" = 1 ] && say "   STAND-IN: the VIP is put on lo by this script, not by bgp_announce"
    : > "$WORK/bench.aa"; : > "$WORK/bench.vrrp"
    for bfd in on off; do
        [[ " $PARTS " == *" aa-$bfd "* ]] || continue
        say "-- active-active, 3 directors, BFD $bfd"
        start_bgp_cluster $bfd || { say "FAIL: cluster (BFD $bfd) did not come up"; FAILS=$((FAILS+1)); teardown; continue; }
        start_client; wait_client; sleep 2
        for i in $(seq "$ROUNDS"); do bench_aa_event silent "$i" $bfd; done
        if [ $bfd = on ]; then for i in $(seq "$ROUNDS"); do bench_aa_event kill "$i" $bfd; done; fi
        stop_pid client; teardown; mv "$WORK/client.log" "$WORK/client-aa-bfd-$bfd.log"; rm -f "$WORK/client.snap"
    done
    [[ " $PARTS " == *" vrrp "* ]] || return 0
    say "-- VRRP active-passive, 2 directors (d1 MASTER 150, d2 BACKUP 100, advert_int 1), same virtual_server"
    build_topology "d1 d2" || return
    ip -n "$P-rt" route add $VIP/32 dev eth0       # on-link: the router ARPs for the VIP
    for i in rs1 rs2 rs3; do start_rs $i || return; done
    conf_director d1 vrrp-master; conf_director d2 vrrp-backup
    for i in d1 d2; do acct_table $i; start_director $i; done
    wait_until 15 eval "ip -n $P-d1 -o addr show dev eth0 | grep -q ' $VIP/'" >/dev/null || { say "FAIL: d1 never became master"; FAILS=$((FAILS+1)); return; }
    start_client; wait_client; sleep 2
    for i in $(seq "$ROUNDS"); do bench_vrrp_event "$i"; done
    say ""
    say "summary (medians over rounds):"
    $PY - "$WORK/bench.aa" "$WORK/bench.vrrp" <<'EOF' | tee -a "$RESULTS"
import sys, statistics as st
def num(x):
    try: return float(x.lstrip(">"))
    except ValueError: return float("nan")
aa=[l.split() for l in open(sys.argv[1]) if l.strip()]
vr=[l.split() for l in open(sys.argv[2]) if l.strip()]
def med(v): return st.median(v) if v else float("nan")
for kind, bfd in (("silent","on"),("kill","on"),("silent","off")):
    rows=[r for r in aa if r[0]==kind and r[1]==bfd]
    if not rows: continue
    conv=[num(r[2]) for r in rows]; est=[int(r[3]) for r in rows]; on=[int(r[4]) for r in rows]
    br=[int(r[5]) for r in rows]; stl=[int(r[6]) for r in rows]; mx=[float(r[7]) for r in rows]
    back=[int(r[10]) for r in rows]
    print(f"  active-active mh, {kind:6s} BFD {bfd:3s}: router convergence {min(conv):.0f}-{max(conv):.0f} ms (median {med(conv):.0f}); "
          f"connections on the failed director {sum(on)}/{sum(est)} ({100*sum(on)/max(1,sum(est)):.0f}%); "
          f"broken {sum(br)}/{sum(est)} ({100*sum(br)/max(1,sum(est)):.1f}%); stalled >1 s {sum(stl)}/{sum(est)} ({100*sum(stl)/max(1,sum(est)):.1f}%); "
          f"longest stall {max(mx):.2f} s; when it comes back: broken {sum(back)}/{sum(est)} ({100*sum(back)/max(1,sum(est)):.1f}%)")
if vr:
    conv=[num(r[1]) for r in vr]; est=[int(r[2]) for r in vr]; br=[int(r[3]) for r in vr]
    stl=[int(r[4]) for r in vr]; mx=[float(r[5]) for r in vr]; back=[int(r[8]) for r in vr]
    print(f"  VRRP active-passive, silent master: backup holds the VIP after {min(conv):.0f}-{max(conv):.0f} ms (median {med(conv):.0f}); "
          f"connections on the failed director {sum(est)}/{sum(est)} (100%); broken {sum(br)}/{sum(est)} ({100*sum(br)/max(1,sum(est)):.1f}%); "
          f"stalled >1 s {sum(stl)}/{sum(est)} ({100*sum(stl)/max(1,sum(est)):.1f}%); longest stall {max(mx):.2f} s; "
          f"when it comes back (preempts): broken {sum(back)}/{sum(est)} ({100*sum(back)/max(1,sum(est)):.1f}%)")
EOF
}

START=$(now)
if [ "$MODE" = test ]; then run_test; else run_bench; fi
say "elapsed $(ms "$(now)" "$START") ms"
[ "$MODE" = test ] && say "$PASSES passed, $FAILS failed"
cp "$RESULTS" "$WORK/results.final" 2>/dev/null
if [ -f "$RESULTS.detail" ]; then echo "-- detail"; cat "$RESULTS.detail"; fi
[ "$FAILS" = 0 ]
