#!/usr/bin/env bash
# Crash at awkward moments: SIGKILL keepalived-rs and keepalived 2.2.7 in the middle of
# something, count the kernel state each leaves behind, restart, and time convergence.
#
#   sudo bench/faults/crash.sh [-r ROUNDS] [-m MOMENTS] [-i IMPLS] [-o RESULTS.md]
#
#   -r ROUNDS   rounds per moment and implementation (default 20, 1..50)
#   -m MOMENTS  space-separated, from (default: all four):
#               transition  the master n1 gets SIGTERM (it sends priority 0: the backup n2 is
#                           told to take over); n2 is crashed 0-150 ms later, while it takes
#                           over. Inspected: n2.
#               reload      n1's file is switched to variant B (one more VIP, route and rule),
#                           n1 gets SIGHUP and is crashed 0-60 ms later. Inspected: n1.
#               dataplane   (ours only: keepalived 2.2.7 exits at start when the kernel has no
#                           IPVS, and it has no nftables load balancer) n1 and n2 also run a
#                           NAT virtual_server with 8 real servers on `--dataplane nftables`,
#                           TCP_CHECK every second; a flapper makes random real servers refuse
#                           connections every 100 ms; n1 is crashed while its `nft -f` child
#                           (one data-plane transaction) runs (bench/faults/killwatch.py).
#                           Inspected: n1, and whether its nftables table is still readable.
#               child       (keepalived only: its own restart) SIGKILL to the master's VRRP
#                           child alone; the parent respawns it. No manual restart.
#   -i IMPLS    "ours keepalived" (default both)
#   -o FILE     results (default bench/results/faults-crash.md; "-" = none)
#   -t SECONDS  convergence bound after a restart (default 5; a clean start takes ~0.5 s here)
#
# Environment: OURS, KEEPALIVED, KEEP=1 (see lib-crash.sh).
#
# A crash: ours SIGKILL; keepalived SIGSTOP parent, SIGKILL its children, SIGKILL parent
# (SIGKILL to the parent alone makes the VRRP child stop gracefully, which is no crash).
#
# Topology: namespaces kcr<PID>-{lan,n1,n2,rs}; bridge br0; n1 eth0 192.0.2.11 priority 150
# (state MASTER), n2 eth0 192.0.2.12 priority 100; rs 192.0.2.101-108 (nginx, port 80).
# Both nodes: VRRPv3, advert_int 0.1, vrrp_strict (no_accept: each daemon keeps an nftables
# table), use_vmac vrrp.51, VIPs 192.0.2.50/24 192.0.2.51/24, virtual_routes (main table
# and table 100), virtual_rules (from 192.0.2.50 lookup 100).
#
# What is counted, per round (kernel state read with ip/nft; interface indexes ignored):
#   stale after kill     items in the inspected namespace that the dead daemon left:
#                        addresses (VIPs), routes, rules, macvlans, nftables tables, and for
#                        ours a half-written crash journal (state-net*.json.tmp)
#   converged            after restarting the crashed node (and n1 if it was stopped), n1's
#                        state equals what a clean start gives a master and n2's what it
#                        gives a backup (taken at the start of each block): one master, no
#                        leftovers. Convergence time = restart -> that, polled every ~50 ms,
#                        bounded by -t (5 s), and it must still hold 1 s later; each restarted
#                        daemon must also have logged the state it should reach (leftover VIPs
#                        that merely look like a master do not count).
#   stale after restart  items present -t seconds after a restart that did not converge (extra
#                        items; missing ones are counted apart). Such a round is followed by a
#                        clean stop, a wipe by hand and a fresh start, so that no round counts
#                        an earlier round's leftovers.
set -uo pipefail
FAULT=crash
# shellcheck source=lib-crash.sh
source "$(dirname "$0")/lib-crash.sh"

ROUNDS=20
CONV_BOUND=5
MOMENTS="transition reload dataplane child"
IMPLS="ours keepalived"
OUT=$LC_ROOT/bench/results/faults-crash.md
COMMAND="bench/faults/crash.sh $*"
while getopts "r:m:i:o:t:h" o; do
    case $o in
        r) ROUNDS=$OPTARG ;;
        m) MOMENTS=$OPTARG ;;
        i) IMPLS=$OPTARG ;;
        o) OUT=$OPTARG ;;
        t) CONV_BOUND=$OPTARG ;;
        *) sed -n '2,52p' "$0"; exit 2 ;;
    esac
done
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1 && ROUNDS <= 50)) || die "-r: 1..50"
[[ $CONV_BOUND =~ ^[0-9]+$ ]] && ((CONV_BOUND >= 1 && CONV_BOUND <= 60)) || die "-t: 1..60"
for m in $MOMENTS; do [[ $m =~ ^(transition|reload|dataplane|child)$ ]] || die "unknown moment $m"; done
for i in $IMPLS; do [[ $i =~ ^(ours|keepalived)$ ]] || die "unknown implementation $i"; done

lc_setup kcr
T_BEGIN=$(date +%s)
lc_lan
lc_host n1 eth0 192.0.2.11/24 02:00:00:00:00:11
lc_host n2 eth0 192.0.2.12/24 02:00:00:00:00:12
lc_host rs eth0 192.0.2.101/24 02:00:00:00:01:01
for i in 2 3 4 5 6 7 8; do ip -n "$PFX-rs" addr add 192.0.2.10$i/24 dev eth0; done
OWN_ADDRS="192.0.2.11/24 192.0.2.12/24"
lc_nginx rs rs
nsx rs nft -f - <<'EOF' || die "flap table"
table inet flap {
    set down { type ipv4_addr; }
    chain in { type filter hook input priority 0; policy accept; ip daddr @down tcp dport 80 reject with tcp reset; }
}
EOF

# conf NODE VARIANT(A|B) DATAPLANE(0|1) -> path
conf() {
    local node=$1 variant=$2 dp=$3 prio=100 state=BACKUP f i
    [[ $node == n1 ]] && prio=150 && state=MASTER
    f=$WORK/$node-$variant$dp.conf
    {
        cat <<EOF
global_defs {
    router_id $node
    vrrp_strict
}
vrrp_instance VI_1 {
    state $state
    interface eth0
    use_vmac vrrp.51
    virtual_router_id 51
    version 3
    priority $prio
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.50/24
        192.0.2.51/24
EOF
        [[ $variant == B ]] && echo "        192.0.2.52/24"
        cat <<EOF
    }
    virtual_routes {
        203.0.113.0/24 via 192.0.2.1 dev eth0
        198.51.100.0/24 via 192.0.2.1 dev eth0 table 100
EOF
        [[ $variant == B ]] && echo "        198.51.100.128/25 via 192.0.2.1 dev eth0 table 101"
        cat <<EOF
    }
    virtual_rules {
        from 192.0.2.50 table 100 priority 100
EOF
        [[ $variant == B ]] && echo "        from 192.0.2.52 table 101 priority 101"
        echo "    }"
        echo "}"
        if ((dp)); then
            echo "virtual_server 192.0.2.50 80 {"
            echo "    delay_loop 1"
            echo "    lb_algo rr"
            echo "    lb_kind NAT"
            echo "    protocol TCP"
            for i in 1 2 3 4 5 6 7 8; do
                echo "    real_server 192.0.2.10$i 80 {"
                echo "        weight 1"
                echo "        TCP_CHECK {"
                echo "            connect_timeout 1"
                echo "            retry 0"
                echo "        }"
                echo "    }"
            done
            echo "}"
        fi
    } >"$f"
    echo "$f"
}

DP=0
start_node() { # start_node NODE IMPL [VARIANT]
    local extra=()
    ((DP)) && extra=(--dataplane nftables)
    lc_start "$1" "$2" "$(conf "$1" "${3:-A}" "$DP")" "${extra[@]}"
}

# the snapshot, plus for ours: a half-written journal, and (data-plane blocks) the LB table
# as `keepalived-rs list` prints it
snap() {
    local node=$1 ino
    {
        lc_snapshot "$node"
        ino=$(stat -L -c %i "/run/netns/$PFX-$node" 2>/dev/null)
        ls /run/keepalived-rs/state-net"$ino"*.json.tmp 2>/dev/null | sed 's/^/file /'
        if ((DP)); then
            nsx "$node" "$OURS" list --dataplane nftables 2>/dev/null | sed -n '3,$p' | sed 's/^/lb /'
        fi
    } | sort
}

# LOGWANT: "LOGFILE|PATTERN|MIN ..." - each restarted daemon must have logged PATTERN at least
# MIN times (the state it was meant to reach), so that leftovers that merely look like the
# expected state (VIPs still up after a crash) never count as convergence
LOGWANT=
logs_ok() {
    local w f p m
    for w in $LOGWANT; do
        IFS='|' read -r f p m <<<"$w"
        (($(grep -c "${p//_/ }" "$f" 2>/dev/null) >= m)) || return 1
    done
}
converged() {
    logs_ok || return 1
    snap n1 >"$WORK/cur-n1"
    cmp -s "$WORK/cur-n1" "$WORK/exp-n1" || return 1
    snap n2 >"$WORK/cur-n2"
    cmp -s "$WORK/cur-n2" "$WORK/exp-n2"
}
n1_has_vip() { ip -n "$PFX-n1" -o -4 addr show | grep -q " 192.0.2.50/"; }

FLAP_PID=
flap_start() {
    (
        while :; do
            a=192.0.2.10$((RANDOM % 8 + 1))
            ip netns exec "$PFX-rs" nft delete element inet flap down "{ $a }" 2>/dev/null ||
                ip netns exec "$PFX-rs" nft add element inet flap down "{ $a }" 2>/dev/null
            sleep 0.1
        done
    ) &
    FLAP_PID=$!
    PIDLIST+=("$FLAP_PID")
}
flap_stop() {
    [[ -n $FLAP_PID ]] && kill "$FLAP_PID" 2>/dev/null && wait "$FLAP_PID" 2>/dev/null
    FLAP_PID=
    nsx rs nft flush set inet flap down
}

RAW=$WORK/rounds.tsv
: >"$RAW"
WARN=$WORK/warnings.txt
: >"$WARN"
DETAIL=$WORK/details.txt
: >"$DETAIL"

# block_begin IMPL MOMENT: both nodes started clean, the expected states recorded
block_begin() {
    local impl=$1
    LOGWANT=
    start_node n1 "$impl"
    start_node n2 "$impl"
    poll 20 n1_has_vip || { echo "$impl $2: n1 never took the VIP at block start" >>"$WARN"; return 1; }
    sleep 2.5 # n2 settled; checkers ran (data plane)
    snap n1 >"$WORK/exp-n1"
    snap n2 >"$WORK/exp-n2"
    sleep 0.5
    if ! converged; then
        echo "$impl $2: state not stable at block start" >>"$WARN"
        diff "$WORK/exp-n1" "$WORK/cur-n1" >>"$WARN"
        diff "$WORK/exp-n2" "$WORK/cur-n2" >>"$WARN"
    fi
    {
        echo "== $impl $2: expected master (n1) state"
        cat "$WORK/exp-n1"
        echo "== $impl $2: expected backup (n2) state"
        cat "$WORK/exp-n2"
    } >>"$DETAIL"
}
NEED_RESET=0
# wipe: removes whatever the daemons left in n1 and n2 (between blocks, and after a round that
# did not converge, so that every round starts from a clean state)
wipe() {
    local n a ino
    for n in n1 n2; do
        nsx "$n" nft flush ruleset 2>/dev/null
        ip -n "$PFX-$n" link del vrrp.51 2>/dev/null
        for a in 50 51 52; do ip -n "$PFX-$n" addr del 192.0.2.$a/24 dev eth0 2>/dev/null; done
        ip -n "$PFX-$n" route flush proto keepalived table all 2>/dev/null
        while ip -n "$PFX-$n" rule del proto keepalived 2>/dev/null; do :; done
        ino=$(stat -L -c %i "/run/netns/$PFX-$n" 2>/dev/null) && rm -f /run/keepalived-rs/state-net"$ino"*
    done
    nsx rs nft flush set inet flap down
}
block_end() {
    flap_stop
    [[ $2 == child ]] && echo "$1 child: the parent delayed $(grep -c "Restart of VRRP process delayed" "${DLOG[n1]}") of its respawns ($(grep "Restart of VRRP process delayed" "${DLOG[n1]}" | sed 's/.*delayed //' | sort | uniq -c | tr -s ' ' | tr '\n' ';'))" >>"$WARN"
    lc_term n1
    lc_term n2
    local left
    left=$( (snap n1 | sed 's/^/n1: /'; snap n2 | sed 's/^/n2: /') | grep -v ': lb ')
    [[ -n $left ]] && echo "$1 $2: $(grep -c . <<<"$left") item(s) left after the final SIGTERM of both nodes: $(tr '\n' ';' <<<"$left")" >>"$WARN"
    wipe # clean slate for the next block, whatever was left
}

# after_restart IMPL MOMENT ROUND T1 INSPECTED KILLFILE EXTRA...: waits for convergence,
# writes the round's line
after_restart() {
    local impl=$1 moment=$2 r=$3 t1=$4 node=$5 kf=$6 extra=$7 conv stale=0 missing=0 kill_items kill_addr
    local ok=0 tc
    while poll "$CONV_BOUND" converged; do
        tc=$(now_us)
        # still so 1 s later (no late takeover, no second master)
        sleep 1
        if converged; then ok=1; break; fi
        echo "$impl $moment round $r: converged, then changed within 1 s" >>"$WARN"
        (($(now_us) - t1 > 2 * CONV_BOUND * 1000000)) && break
    done
    if ((ok)); then
        conv=$(((tc - t1) / 1000))
    else
        conv=timeout
        NEED_RESET=1
        # fresh snapshots (converged() stops early while a daemon has not logged its state)
        snap n1 >"$WORK/cur-n1"
        snap n2 >"$WORK/cur-n2"
        logs_ok || echo "$impl $moment round $r: a restarted daemon had not logged its expected state after $CONV_BOUND s" >>"$WARN"
        stale=$(($(lc_diff "$WORK/cur-n1" "$WORK/exp-n1" | grep -c .) + $(lc_diff "$WORK/cur-n2" "$WORK/exp-n2" | grep -c .)))
        missing=$(($(lc_diff "$WORK/exp-n1" "$WORK/cur-n1" | grep -c .) + $(lc_diff "$WORK/exp-n2" "$WORK/cur-n2" | grep -c .)))
        {
            echo "== $impl $moment round $r: not converged $CONV_BOUND s after restart"
            echo "-- n1: extra"; lc_diff "$WORK/cur-n1" "$WORK/exp-n1"
            echo "-- n1: missing"; lc_diff "$WORK/exp-n1" "$WORK/cur-n1"
            echo "-- n2: extra"; lc_diff "$WORK/cur-n2" "$WORK/exp-n2"
            echo "-- n2: missing"; lc_diff "$WORK/exp-n2" "$WORK/cur-n2"
        } >>"$DETAIL"
    fi
    kill_items=$(grep -vc '^lb ' "$kf")
    # classes of what was left: a=addr r=route u=rule m=macvlan n=nft table f=file
    local cls
    cls=$(awk '{c[$1]++} END {printf "a%d r%d u%d m%d n%d f%d", c["addr"], c["route4"] + c["route6"], c["rule4"] + c["rule6"], c["macvlan"], c["nft"], c["file"]}' "$kf")
    kill_addr=$(grep -c '^addr' "$kf")
    printf "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\t%d\t%d\n" "$impl" "$moment" "$r" "$extra" "$kill_items" "$kill_addr" "$cls" "$conv" "$stale" "$missing" >>"$RAW"
    say "$impl $moment round $r: $extra, left after kill: $kill_items ($cls), converged: $conv ms, stale after restart: $stale, missing: $missing"
}

rand_ms() { echo $((RANDOM % ($1 + 1))); }
ms_to_s() { printf "0.%03d" "$1"; }

round_transition() {
    local impl=$1 r=$2 d all1 kf=$WORK/kill.txt t1
    d=$(rand_ms 150)
    all1=$(lc_procs n1)
    kill -TERM "${DPID[n1]}"
    sleep "$(ms_to_s "$d")"
    lc_crash n2
    # shellcheck disable=SC2086
    poll 15 none_alive $all1 || say "n1 still running 15 s after SIGTERM"
    snap n2 | grep -v '^lb ' >"$kf"
    local left1
    left1=$(snap n1 | grep -v '^lb ' | grep -c .)
    ((left1)) && echo "$impl transition round $r: n1 left $left1 item(s) after its SIGTERM" >>"$WARN"
    { echo "== $impl transition round $r (kill $d ms after the master's SIGTERM): left by n2"; cat "$kf"; } >>"$DETAIL"
    t1=$(now_us)
    start_node n1 "$impl"
    start_node n2 "$impl"
    LOGWANT="${DLOG[n1]}|Entering_MASTER_STATE|1 ${DLOG[n2]}|Entering_BACKUP_STATE|1"
    after_restart "$impl" transition "$r" "$t1" n2 "$kf" "delay=${d}ms"
}

round_reload() {
    local impl=$1 r=$2 d kf=$WORK/kill.txt t1 b
    d=$(rand_ms 60)
    # the running daemon reads the path it was started with: switch its content
    cp "$(conf n1 B "$DP")" "${DCONF[n1]}"
    kill -HUP "${DPID[n1]}"
    sleep "$(ms_to_s "$d")"
    lc_crash n1
    snap n1 | grep -v '^lb ' >"$kf"
    b=$(grep -c '192.0.2.52\|198.51.100.128\|lookup 101' "$kf")
    { echo "== $impl reload round $r (kill $d ms after SIGHUP): left by n1"; cat "$kf"; } >>"$DETAIL"
    conf n1 A "$DP" >/dev/null # restores the file (variant A)
    t1=$(now_us)
    start_node n1 "$impl"
    LOGWANT="${DLOG[n1]}|Entering_MASTER_STATE|1"
    after_restart "$impl" reload "$r" "$t1" n1 "$kf" "delay=${d}ms,B-items=$b"
}

round_dataplane() {
    local impl=$1 r=$2 kf=$WORK/kill.txt t1 w readable
    flap_start
    sleep "$(printf "%d.%03d" $((RANDOM % 2)) $((RANDOM % 1000)))"
    w=$(python3 "$(dirname "$0")/killwatch.py" "${DPID[n1]}" 4 3 '^nft$')
    flap_stop
    poll 10 none_alive "${DPID[n1]}"
    sleep 0.3 # an orphaned nft child finishes its transaction
    snap n1 | grep -v '^lb ' >"$kf"
    if nsx n1 nft list table inet keepalived_rs_lb >/dev/null 2>&1; then readable=yes; else readable=no; fi
    { echo "== $impl dataplane round $r (killwatch: $w): left by n1"; cat "$kf"; } >>"$DETAIL"
    t1=$(now_us)
    start_node n1 "$impl"
    LOGWANT="${DLOG[n1]}|Entering_MASTER_STATE|1"
    read -r hit comm _ seen killed orphan <<<"$w"
    after_restart "$impl" dataplane "$r" "$t1" n1 "$kf" "kill=$hit${comm:+($comm)},nft-outlived=$orphan,lb-table-readable=$readable"
}

round_child() {
    local impl=$1 r=$2 kf=$WORK/kill.txt t1 c nc
    c=$(lc_vrrp_child n1) || { echo "$impl child round $r: no VRRP child" >>"$WARN"; return; }
    LOGWANT="${DLOG[n1]}|Entering_MASTER_STATE|$(($(grep -c "Entering MASTER STATE" "${DLOG[n1]}") + 1))"
    t1=$(now_us)
    kill -KILL "$c"
    snap n1 | grep -v '^lb ' >"$kf"
    { echo "== $impl child round $r: right after SIGKILL to the VRRP child $c"; cat "$kf"; } >>"$DETAIL"
    after_restart "$impl" child "$r" "$t1" n1 "$kf" "respawn"
    sleep 1
}

for impl in $IMPLS; do
    for moment in $MOMENTS; do
        [[ $moment == dataplane && $impl == keepalived ]] && continue
        [[ $moment == child && $impl == ours ]] && continue
        DP=0
        [[ $moment == dataplane ]] && DP=1
        say "== $impl, $moment: $ROUNDS rounds"
        block_begin "$impl" "$moment" || { block_end "$impl" "$moment"; continue; }
        for ((r = 1; r <= ROUNDS; r++)); do
            "round_$moment" "$impl" "$r"
            sleep 0.5
            if ((NEED_RESET)) && ((r < ROUNDS)); then
                # stop both, wipe by hand, start again: the next round must not count this
                # round's leftovers
                NEED_RESET=0
                flap_stop
                lc_term n1
                lc_term n2
                wipe
                block_begin "$impl" "$moment" >/dev/null || break
            fi
        done
        NEED_RESET=0
        block_end "$impl" "$moment"
    done
done
T_END=$(date +%s)

# --- report ---
TABLE=$WORK/table.md
{
    echo "| implementation | moment | rounds | kill landed | stale after kill: rounds with any / items (mean) | what was left (totals: a=addr r=route u=rule m=macvlan n=nft table f=journal .tmp) | converged | convergence ms median / max | stale after restart: rounds / items | missing after restart |"
    echo "|---|---|---:|---|---|---|---:|---|---|---:|"
    for impl in $IMPLS; do
        for moment in $MOMENTS; do
            awk -F'\t' -v i="$impl" -v m="$moment" '
                $1 == i && $2 == m {
                    n++; items += $5; if ($5 > 0) any++
                    if ($6 > 0) vip++
                    split($7, c, " "); for (k in c) { t = substr(c[k], 1, 1); tot[t] += substr(c[k], 2) }
                    if ($8 == "timeout") to++; else { nc++; v[nc] = $8 }
                    if ($9 > 0) { sr++; si += $9 }
                    miss += $10
                    if ($4 ~ /kill=hit/) hit++
                    if ($4 ~ /B-items=[1-9]/) bi++
                }
                END {
                    if (!n) exit
                    for (a = 2; a <= nc; a++) { x = v[a]; for (b = a - 1; b >= 1 && v[b] > x; b--) v[b + 1] = v[b]; v[b + 1] = x }
                    med = nc ? v[int((nc + 1) / 2)] : "-"; mx = nc ? v[nc] : "-"
                    landed = "VIPs held at kill: " vip "/" n
                    if (m == "dataplane") landed = "during nft write: " hit "/" n
                    if (m == "reload") landed = landed ", reload applied (B items): " bi "/" n
                    if (m == "child") landed = "child only; parent respawns"
                    printf "| %s | %s | %d | %s | %d / %.1f | a%d r%d u%d m%d n%d f%d | %d/%d | %s / %s | %d / %d | %d |\n",
                        i, m, n, landed, any + 0, items / n, tot["a"], tot["r"], tot["u"], tot["m"], tot["n"], tot["f"],
                        nc, n, med, mx, sr + 0, si + 0, miss
                }' "$RAW"
        done
    done
} >"$TABLE"
echo
cat "$TABLE"
[[ -s $WARN ]] && { echo; echo "warnings:"; sed 's/^/  /' "$WARN"; }

if [[ $OUT != - ]]; then
    mkdir -p "$(dirname "$OUT")"
    {
        lc_header "Crash at awkward moments: keepalived-rs vs keepalived 2.2.7" "$COMMAND"
        echo "- wall time: $((T_END - T_BEGIN)) s"
        echo
        echo "VRRPv3, advert_int 0.1, vrrp_strict, use_vmac, 2 VIPs, 2 virtual_routes, 1 virtual_rule;"
        echo "n1 priority 150 (MASTER), n2 priority 100. See the script's header for each moment."
        echo "\"stale after kill\" = items in the crashed node's namespace the dead daemon left (a SIGKILLed"
        echo "daemon cannot clean: these show what the next start must remove). \"converged\" = after the"
        echo "restart, n1 looks exactly like a clean master and n2 like a clean backup (one master, no"
        echo "leftovers); polled every ~50 ms, bound $CONV_BOUND s, must hold 1 s more."
        echo
        cat "$TABLE"
        if [[ -s $WARN ]]; then
            echo
            echo "Warnings:"
            echo
            sed 's/^/- /' "$WARN"
        fi
        echo
        echo "Every round (impl, moment, round, kill detail, items left after kill, of which addresses,"
        echo "classes, convergence ms, stale after restart, missing after restart):"
        echo
        echo '```'
        cat "$RAW"
        echo '```'
        echo
        echo "<details><summary>Expected states and what each kill left (raw)</summary>"
        echo
        echo '```'
        cat "$DETAIL"
        echo '```'
        echo
        echo "</details>"
    } >"$OUT"
    say "results written to $OUT"
fi
