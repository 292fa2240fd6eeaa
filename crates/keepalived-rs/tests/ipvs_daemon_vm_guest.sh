# Guest side of crates/keepalived-rs/tests/ipvs_daemon_vm.rs, run inside the VM of
# tools/ipvs-vm/run.sh (busybox sh, after its prelude: `ip` and `ipvsadm` are the real ones).
#
# Topology (the VM's root namespace is the director; the VM has no network card):
#   client-a 192.0.2.101, client-b 192.0.2.102 --- bridge "front" 192.0.2.1 (+ the VIPs)
#   rs1 198.51.100.11, rs2 198.51.100.12       --- bridge "back" 198.51.100.254, 2001:db8:100::254
# The real servers run busybox httpd serving their name, route through the director (NAT
# replies) and hold the DR VIP on lo with arp_ignore 1 / arp_announce 2.
#
# For each configuration (/etc/ka/{seed,full,flap}.conf), real keepalived then keepalived-rs:
# start on an empty table, wait until every checker has reported once and the table stops
# changing, capture ipvsadm's listings, SIGTERM, capture what is left. Files in /out:
#   <conf>.<ka|rs>.{Ln,thresholds,persistent,tun}.txt   listings after the checks settled
#   <conf>.<ka|rs>.after-stop.txt                         the table after SIGTERM
#   <conf>.<ka|rs>.log                                    the daemon's console log
#   seed.traffic.txt      which real server answered each client through each VIP (ours)
#   seed.rs.after-traffic.txt  the table with those connections
#   flap.<d>.{down,up}.*  listings with rs2's httpd killed, then restarted
#   flap.<d>.timings.txt  seconds from the kill/restart to the table change
#   failures.txt          anything that went wrong in here
# Needs: KA_RS (our binary's path), SEED_LINES, FULL_LINES, FLAP_LINES (checker result lines
# each configuration logs once settled).
set -u
KA=/usr/sbin/keepalived
mkdir -p /out

up() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(up)" 'BEGIN{printf "%.2f", b-a}'; }
past() { awk -v a="$1" -v b="$(up)" -v s="$2" 'BEGIN{exit !(b-a >= s)}'; }
fail() { echo "GUEST FAIL: $*"; echo "$*" >> /out/failures.txt; }
note() { echo "GUEST: $*"; }
setsys() { echo "$2" > "/proc/sys/$1" || fail "sysctl $1=$2"; }
# A process that has not exited (a zombie has: it only waits for `wait`).
running() { [ -e "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]; }

# ---- topology --------------------------------------------------------------------------------
host() {  # NAME ADDRESS/PREFIX BRIDGE GATEWAY
    ip netns add "$1" && ip link add "v$1" type veth peer name eth0 netns "$1" \
        && ip link set "v$1" master "$3" up && ip -n "$1" link set lo up \
        && ip -n "$1" addr add "$2" dev eth0 && ip -n "$1" link set eth0 up \
        && ip -n "$1" route add default via "$4" || fail "host $1"
}
ip link add front type bridge && ip link add back type bridge || fail "bridges"
ip link set front up; ip link set back up
ip addr add 192.0.2.1/24 dev front
ip addr add 198.51.100.254/24 dev back
ip -6 addr add 2001:db8:100::254/64 dev back nodad
setsys net/ipv4/ip_forward 1
setsys net/ipv6/conf/all/forwarding 1
# DR: the real servers answer from the VIP, which is local here; let those replies in.
setsys net/ipv4/conf/back/accept_local 1
host client-a 192.0.2.101/24 front 192.0.2.1
host client-b 192.0.2.102/24 front 192.0.2.1
for n in 1 2; do
    host rs$n 198.51.100.1$n/24 back 198.51.100.254
    ip -n rs$n -6 addr add 2001:db8:100::1$n/64 dev eth0 nodad
    ip -n rs$n -6 route add default via 2001:db8:100::254
    # DR as the seed cluster's real servers: the VIP on lo, never announced nor answered for.
    ip -n rs$n addr add 192.0.2.10/32 dev lo
    ip netns exec rs$n sh -c 'echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore; echo 2 > /proc/sys/net/ipv4/conf/all/arp_announce'
    mkdir -p /www/rs$n && echo rs$n > /www/rs$n/index.html
done
# The VIPs the clients reach (the daemons run with -C: no VRRP puts them there).
ip addr add 192.0.2.10/32 dev front
ip addr add 192.0.2.20/32 dev front
httpd_start() { ip netns exec "$1" /bin/busybox httpd -p 80 -h "/www/$1" || fail "httpd in $1"; }
httpd_stop() { for p in $(ip netns pids "$1"); do kill "$p"; done; }
httpd_start rs1; httpd_start rs2

# ---- daemons ---------------------------------------------------------------------------------
start() {  # DAEMON CONFIG LOG
    case $1 in
        ka) $KA -C -n -l -f "$2" -p /run/ka.pid -c /run/ka-checkers.pid > "$3" 2>&1 & ;;
        rs) "$KA_RS" -C -n -l --dataplane ipvs -f "$2" > "$3" 2>&1 & ;;
    esac
    DPID=$!
    T_START=$(up)
}

stop() {  # DAEMON: SIGTERM, wait for the exit (bounded)
    kill -TERM "$DPID"
    local t; t=$(up)
    while running "$DPID"; do
        if past "$t" 10; then fail "$1 still running 10 s after SIGTERM"; kill -KILL "$DPID"; break; fi
        sleep 0.1
    done
    wait "$DPID"; note "$1 exited with status $? $(elapsed "$t") s after SIGTERM"
}

CHECK_LINES='TCP connection to .* success\.|TCP_CHECK on service .* failed'
settle() {  # DAEMON LOG LINES TIMEOUT: every checker reported once, then the table is still
    while [ "$(grep -cE "$CHECK_LINES" "$2")" -lt "$3" ]; do
        running "$DPID" || { fail "$1 exited before its checks settled"; return 1; }
        past "$T_START" "$4" && { fail "$1: $(grep -cE "$CHECK_LINES" "$2") of $3 checker results after $4 s"; return 1; }
        sleep 0.1
    done
    [ "$3" -gt 0 ] && note "$1: $3 checker results $(elapsed "$T_START") s after start"
    local prev cur i=0
    prev=$(ipvsadm -Ln)
    while sleep 0.5; cur=$(ipvsadm -Ln); [ "$cur" != "$prev" ]; do
        prev=$cur; i=$((i + 1))
        [ $i -ge 10 ] && { fail "$1: the table is still changing"; return 1; }
    done
}

capture() {  # PREFIX
    ipvsadm -Ln > "/out/$1.Ln.txt" 2>&1
    ipvsadm -Ln --thresholds > "/out/$1.thresholds.txt" 2>&1
    ipvsadm -Ln --persistent-conn > "/out/$1.persistent.txt" 2>&1
    ipvsadm -Ln --tun-info > "/out/$1.tun.txt" 2>&1
}

run_config() {  # NAME LINES SETTLE_TIMEOUT [HOOK]: both daemons on /etc/ka/NAME.conf
    local d
    for d in ka rs; do
        ipvsadm -C
        note "== $1: $d"
        start "$d" "/etc/ka/$1.conf" "/out/$1.$d.log"
        if settle "$d" "/out/$1.$d.log" "$2" "$3"; then
            capture "$1.$d"
            [ $# -ge 4 ] && "$4" "$d"
        fi
        stop "$d"
        ipvsadm -Ln > "/out/$1.$d.after-stop.txt" 2>&1
    done
    ipvsadm -C
}

# ---- traffic through the seed's VIPs (DR and NAT), with our daemon ----------------------------
# Persistence sends one client to one real server; lc sends the second client to the other.
traffic() {
    [ "$1" = rs ] || return 0
    local vip c got
    for vip in 192.0.2.10 192.0.2.20; do
        got=""
        for c in client-a client-b; do
            got="$got $(ip netns exec "$c" timeout 5 wget -q -O - "http://$vip/" 2>&1 | tr -d '\n' || echo FAILED)"
        done
        echo "$vip:$got" >> /out/seed.traffic.txt
        note "traffic to $vip:$got"
    done
    ipvsadm -Ln > /out/seed.rs.after-traffic.txt
}

# ---- a real server's httpd killed, then restarted --------------------------------------------
# The weight of DEST in SERVICE ("absent", or "noservice").
dest_weight() {
    ipvsadm -Ln | awk -v s="$1" -v d="$2" '
        $1 ~ /^(TCP|UDP|SCTP|FWM)$/ { cur = $2; if (cur == s) seen = 1; next }
        $1 == "->" && cur == s && $2 == d { w = $4 }
        END { if (!seen) print "noservice"; else if (w == "") print "absent"; else print w }'
}
# Waits until PLAIN's rs2 is in state WANT_PLAIN and INHIBIT's rs2 has weight WANT_INHIBIT;
# prints the two delays.
wait_flap() {  # T0 WANT_PLAIN WANT_INHIBIT
    local a="" b="" w
    while [ -z "$a" ] || [ -z "$b" ]; do
        if [ -z "$a" ]; then
            w=$(dest_weight 192.0.2.30:80 198.51.100.12:80)
            [ "$w" = noservice ] && { fail "192.0.2.30:80 vanished"; break; }
            [ "$w" = "$2" ] || { [ "$2" = present ] && [ "$w" != absent ]; } && a=$(elapsed "$1")
        fi
        if [ -z "$b" ]; then
            [ "$(dest_weight 192.0.2.31:80 198.51.100.12:80)" = "$3" ] && b=$(elapsed "$1")
        fi
        past "$1" 10 && break
        sleep 0.05
    done
    echo "${a:-never} ${b:-never}"
}
flap() {
    local t r
    httpd_stop rs2; t=$(up)
    r=$(wait_flap "$t" absent 0)
    note "$1: rs2 killed -> removed, inhibited after: $r s"
    echo "removed ${r% *}" > "/out/flap.$1.timings.txt"
    echo "inhibited ${r#* }" >> "/out/flap.$1.timings.txt"
    capture "flap.$1.down"
    httpd_start rs2; t=$(up)
    r=$(wait_flap "$t" present 1)
    note "$1: rs2 restarted -> re-added, re-enabled after: $r s"
    echo "readded ${r% *}" >> "/out/flap.$1.timings.txt"
    echo "reenabled ${r#* }" >> "/out/flap.$1.timings.txt"
    settle "$1" "/out/flap.$1.log" 0 5 && capture "flap.$1.up"
}

T0=$(up)
run_config seed "$SEED_LINES" 20 traffic
run_config full "$FULL_LINES" 15
run_config flap "$FLAP_LINES" 15 flap
note "all phases took $(elapsed "$T0") s"
[ ! -s /out/failures.txt ]
