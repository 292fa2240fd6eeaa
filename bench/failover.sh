#!/usr/bin/env bash
# VRRP failover benchmark: keepalived-rs against keepalived 2.2.7, same topology, same run.
#
#   sudo bench/failover.sh [-r ROUNDS] [-s SETTINGS] [-i IMPLS] [-o RESULTS.md]
#
#   -r ROUNDS    clean rounds per trigger, implementation and setting (default 10, at least
#                5); a round during which cargo/rustc ran (another build on the box) is kept
#                in the raw list, flagged, left out of the statistics and done again
#   -s SETTINGS  space-separated, from: v2-1 (VRRPv2, advert_int 1, PASS auth),
#                v3-0.05, v3-0.01 (VRRPv3, advert_int 0.05 / 0.01 s)  (default: all three);
#                a "+strict" suffix (e.g. v3-0.05+strict) adds vrrp_strict to global_defs, as
#                the seed cluster has it (no_accept: both daemons add nftables rules on takeover)
#   -i IMPLS     "ours keepalived" (default: both)
#   -o FILE      where to write the markdown results (default bench/results/failover.md;
#                "-" writes nothing, the table still goes to stdout)
#
# Environment:
#   OURS=path        use this keepalived-rs binary and skip the release build
#   OURS_DESC=text   how the results file describes that binary (e.g. the commit it was built from)
#   KEEPALIVED=path  the baseline (default: keepalived on PATH, Debian's 2.2.7)
#   KEEP=1           keep the scratch directory (captures, configs, daemon logs)
#
# What it measures, from packet timestamps of a capture on the LAN bridge (tcpdump
# --immediate-mode, decoded with tshark):
#   SIGKILL  the master dies without a word: from the last advert n1 sent to the first
#            gratuitous ARP for the VIP from n2. Bound: n2's Master_Down_Interval
#            = 3 x advert_int + Skew_Time(priority 100).
#   SIGTERM  the master leaves: from n1's priority-0 advert to n2's first gratuitous ARP.
#            Bound: Skew_Time(priority 100).
#   Skew_Time as keepalived 2.2.7 computes it, in integer µs: v2 156 x 1 000 000 / 256,
#   v3 156 x advert_int(centiseconds) x 625 / 16.
# And the idle RSS (VmRSS; every process of keepalived: parent and VRRP child) of both
# daemons running examples/seed/master.conf for 10 s, on an interface named enp0s3.
#
# Topology (network namespaces named with this script's PID, deleted on exit; addresses
# only from 192.0.2.0/24; nothing touches the root namespace's network):
#   kfo<PID>-lan   bridge br0, the capture point
#   kfo<PID>-n1    eth0 192.0.2.11  MAC 02:00:00:00:00:11  master, priority 150
#   kfo<PID>-n2    eth0 192.0.2.12  MAC 02:00:00:00:00:12  backup, priority 100
#   kfo<PID>-seed  enp0s3 192.0.2.21                        the idle-RSS run
#   VIP 192.0.2.50/24, virtual_router_id 51. Both nodes run the same implementation.
#
# Daemons: ours `keepalived-rs -n -l -f FILE`; keepalived `-n -l -P -f FILE -p PID -r VRRPPID`.
# keepalived's "crash" is SIGSTOP to the parent, SIGKILL to its VRRP child, SIGKILL to the
# parent (killing only the parent makes the child stop gracefully, sending priority 0; the
# SIGSTOP keeps the parent from respawning the child in between).
# Each round: wait a random fraction of advert_int (so kills land anywhere in the advert
# cycle), signal n1, wait (bounded) for the VIP on n2, restart n1 and wait until it has
# preempted (n1 holds the VIP, n2 released it), let it settle.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=10
SETTINGS="v2-1 v3-0.05 v3-0.01"
IMPLS="ours keepalived"
OUT=$ROOT/bench/results/failover.md
COMMAND="bench/failover.sh"
for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./+-]+$ ]]; then COMMAND+=" $a"; else COMMAND+=" '$a'"; fi
done
for v in KEEPALIVED OURS_DESC OURS; do
    [[ -n ${!v:-} ]] && COMMAND="$v='${!v}' $COMMAND"
done
while getopts "r:s:i:o:h" o; do
    case $o in
        r) ROUNDS=$OPTARG ;;
        s) SETTINGS=$OPTARG ;;
        i) IMPLS=$OPTARG ;;
        o) OUT=$OPTARG ;;
        *) sed -n '2,49p' "$0"; exit 2 ;;
    esac
done

die() { echo "failover.sh: $*" >&2; exit 1; }
say() { echo "failover.sh: $*" >&2; }
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 5)) || die "-r: at least 5 rounds"
for s in $SETTINGS; do [[ $s =~ ^(v2-1|v3-0\.05|v3-0\.01)(\+strict)?$ ]] || die "unknown setting $s"; done
for i in $IMPLS; do [[ $i =~ ^(ours|keepalived)$ ]] || die "unknown implementation $i"; done
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
KEEPALIVED=${KEEPALIVED:-$(command -v keepalived || true)}
[[ -x $KEEPALIVED ]] || die "keepalived not found (set KEEPALIVED=)"
for t in ip awk pgrep; do command -v $t >/dev/null || die "missing $t"; done
if ! command -v tshark >/dev/null || ! command -v tcpdump >/dev/null; then
    say "installing tshark and tcpdump"
    DEBIAN_FRONTEND=noninteractive apt-get install -y tshark tcpdump >&2 || die "cannot install tshark/tcpdump"
fi

BUILT=
compiling() { pgrep -f "cargo (build|test|clippy|fuzz)" >/dev/null || pgrep -x rustc >/dev/null; }
# Waits (at most 30 min) until no cargo/rustc runs: a compile on a small box skews timings.
wait_quiet() {
    local i
    for ((i = 0; i < 360; i++)); do
        compiling || return 0
        ((i == 0)) && say "a cargo/rustc process is running; waiting for it to finish..."
        sleep 5
    done
    say "still compiling after 30 min; going on (rounds will be flagged)"
}

# --- build ours (once, release; never alongside another cargo process on this small box) ---
if [[ -n ${OURS:-} ]]; then
    [[ -x $OURS ]] || die "OURS=$OURS is not executable"
else
    while pgrep -f "cargo (build|test|clippy|fuzz)" >/dev/null; do
        say "another cargo process is running; waiting..."
        sleep 5
    done
    (cd "$ROOT" && cargo build --release -p keepalived-rs) >&2 || die "build failed"
    OURS=$ROOT/target/release/keepalived-rs
    BUILT=1
fi

# --- scratch space, namespaces, processes: all removed on exit ---
PFX=kfo$$
LAN=$PFX-lan
NSLIST=()
CAP_PID=
WORK=
cleanup() {
    local p n ino
    trap - EXIT INT TERM
    # Every process this script starts runs inside one of its namespaces: kill those by PID
    # (tcpdump first, gently, so that its file is complete), then delete the namespaces.
    [[ -n $CAP_PID && $(ip netns identify "$CAP_PID" 2>/dev/null) == "$LAN" ]] &&
        kill -INT "$CAP_PID" 2>/dev/null && sleep 0.2
    for n in "${NSLIST[@]}"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        # Our daemon's crash journal is keyed by the namespace's inode.
        ino=$(stat -L -c %i "/run/netns/$n" 2>/dev/null) &&
            rm -f "/run/keepalived-rs/state-net$ino.json" "/run/keepalived-rs/state-net$ino.json.tmp"
        ip netns del "$n" 2>/dev/null
    done
    wait 2>/dev/null
    [[ -z $WORK ]] && return
    if [[ -n ${KEEP:-} ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
WORK=$(mktemp -d /tmp/ka-bench-failover.XXXXXX)
# A private copy: a rebuild in the checkout during the run must not swap the binary.
cp "$OURS" "$WORK/keepalived-rs" || die "cannot copy $OURS"
OURS_SRC=$OURS
OURS=$WORK/keepalived-rs

SUBNET=192.0.2
VIP=$SUBNET.50
declare -A IPOF=([n1]=$SUBNET.11 [n2]=$SUBNET.12 [seed]=$SUBNET.21)
declare -A MACOF=([n1]=02:00:00:00:00:11 [n2]=02:00:00:00:00:12 [seed]=02:00:00:00:00:21)

now() { date +%s.%N; }

# poll SECONDS CMD...: run CMD every 50 ms until it succeeds; fails after SECONDS. (No
# forks besides CMD: the box is small and the daemons' timing is what we measure.)
poll() {
    local end
    end=$(( ${EPOCHREALTIME/./} + $1 * 1000000 ))
    shift
    while ! "$@"; do
        (( ${EPOCHREALTIME/./} > end )) && return 1
        sleep 0.05
    done
}

mkns() {
    ip netns add "$1" || die "cannot create namespace $1"
    NSLIST+=("$1")
    ip -n "$1" link set lo up
}

# host NAME IFNAME: namespace $PFX-NAME with IFNAME on the bridge.
host() {
    local name=$1 ifn=$2 ns=$PFX-$1 port=${PFX}${1:0:2}
    mkns "$ns"
    ip link add "$port" netns "$LAN" type veth peer name "$ifn" netns "$ns" || die "veth for $name"
    ip -n "$LAN" link set "$port" master br0 up
    ip -n "$ns" link set "$ifn" address "${MACOF[$name]}"
    ip -n "$ns" addr add "${IPOF[$name]}/24" dev "$ifn"
    ip -n "$ns" link set "$ifn" up
}

mkns "$LAN"
ip -n "$LAN" link add br0 type bridge
ip -n "$LAN" link set br0 type bridge stp_state 0 forward_delay 0
ip -n "$LAN" link set br0 up
host n1 eth0
host n2 eth0
host seed enp0s3
sleep 0.2

# --- daemons ---
declare -A DPID=() DIMPL=()
START_N=0
# start NODE IMPL CONF: runs the daemon in the node's namespace (`ip netns exec` execs, so
# $! is the daemon itself, keepalived's parent).
start() {
    local node=$1 impl=$2 conf=$3 tag
    START_N=$((START_N + 1))
    tag=$WORK/$node-$impl-$START_N
    case $impl in
        ours)
            ip netns exec "$PFX-$node" "$OURS" -n -l -f "$conf" >"$tag.log" 2>&1 &
            disown # reaped by the shell without a "Killed" line
            ;;
        keepalived)
            ip netns exec "$PFX-$node" "$KEEPALIVED" -n -l -P -f "$conf" \
                -p "$tag.pid" -r "$tag.vrrp.pid" >"$tag.log" 2>&1 &
            disown
            ;;
    esac
    DPID[$node]=$!
    DIMPL[$node]=$impl
}

children() { cat /proc/"$1"/task/*/children 2>/dev/null; }
# every process of the daemon on NODE (keepalived: parent and its children)
procs() {
    local p=${DPID[$1]} c
    echo "$p"
    for c in $(children "$p"); do echo "$c"; children "$c"; done
}
alive() {
    local s
    s=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
    [[ -n $s && $s != Z ]]
}
any_alive() { local p; for p in "$@"; do alive "$p" && return 0; done; return 1; }
none_alive() { ! any_alive "$@"; }
has_child() { [[ -n $(children "$1") ]]; }

# The keepalived VRRP child of NODE (waits for it, bounded).
vrrp_child() {
    local p=${DPID[$1]}
    poll 10 has_child "$p" || return 1
    children "$p" | awk '{print $1; exit}'
}

# signal_node NODE SIGNAL [CHILD]: SIGKILL = a crash, SIGTERM = a clean stop. For a
# keepalived crash CHILD is its VRRP child, looked up beforehand.
signal_node() {
    local node=$1 sig=$2 child=${3:-} parent=${DPID[$1]}
    if [[ $sig == KILL && ${DIMPL[$node]} == keepalived ]]; then
        kill -STOP "$parent"
        [[ -n $child ]] && kill -KILL "$child"
        kill -KILL "$parent"
    else
        kill -"$sig" "$parent"
    fi
}

# wait_gone NODE PID...: bounded wait until every listed process is gone (the daemons are
# disowned: the shell reaps them on its own).
wait_gone() {
    local node=$1
    shift
    poll 15 none_alive "$@" || say "$node: daemon still running 15 s after the signal"
}

# stop_node NODE SIGNAL
stop_node() {
    local all child=
    all=$(procs "$1")
    [[ $2 == KILL && ${DIMPL[$1]} == keepalived ]] && child=$(vrrp_child "$1")
    signal_node "$1" "$2" "$child"
    # shellcheck disable=SC2086
    wait_gone "$1" $all
}

has_vip() { ip -n "$PFX-$1" -o -4 addr show | grep -q " $VIP/"; }
lacks_vip() { ! has_vip "$1"; }
n1_master() { has_vip n1 && lacks_vip n2; }

# conf NODE PRIORITY SETTING -> path
conf() {
    local node=$1 prio=$2 setting=$3 version advert state=BACKUP auth= strict= f
    [[ $setting == *+strict ]] && strict="
    vrrp_strict"
    setting=${setting%+strict}
    version=${setting%%-*}
    version=${version#v}
    advert=${setting#*-}
    ((prio > 100)) && state=MASTER
    [[ $version == 2 && -z $strict ]] && auth="
    authentication {
        auth_type PASS
        auth_pass bench42
    }"
    f=$WORK/$node-$setting.conf
    cat >"$f" <<EOF
global_defs {
    router_id $node$strict
}
vrrp_instance VI_1 {
    state $state
    interface eth0
    virtual_router_id 51
    version $version
    priority $prio
    advert_int $advert$auth
    virtual_ipaddress {
        $VIP/24
    }
}
EOF
    echo "$f"
}

# bounds in µs for priority 100: skew and Master_Down (keepalived's integer arithmetic)
bounds() {
    local setting=${1%+strict} version advert cs skew
    version=${setting%%-*}
    advert=${setting#*-}
    cs=$(awk -v a="$advert" 'BEGIN{printf "%d", a * 100 + 0.5}')
    if [[ $version == v2 ]]; then
        skew=$((156 * 1000000 / 256))
    else
        skew=$((156 * cs * 625 / 16))
    fi
    echo "$skew $((3 * cs * 10000 + skew))"
}

# --- idle RSS on the seed configuration ---
SEED_CONF=$ROOT/examples/seed/master.conf
declare -A RSS=() RSS_DETAIL=()
rss_of() {
    local node=$1 p total=0 v detail=
    for p in $(procs "$node"); do
        v=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null)
        [[ -n $v ]] || continue
        total=$((total + v))
        detail+="${detail:+ + }$v"
    done
    echo "$total|$detail"
}
for impl in $IMPLS; do
    wait_quiet
    say "idle RSS: $impl on examples/seed/master.conf"
    start seed "$impl" "$SEED_CONF"
    sleep 10
    r=$(rss_of seed)
    RSS[$impl]=${r%%|*}
    RSS_DETAIL[$impl]=${r#*|}
    if ip -n "$PFX-seed" -o -4 addr show | grep -q " $SUBNET.99/"; then
        RSS_DETAIL[$impl]+=" kB (master, holds 192.0.2.99)"
    else
        RSS_DETAIL[$impl]+=" kB (did NOT take 192.0.2.99 - see logs)"
    fi
    stop_node seed TERM
done

# --- failover rounds ---
RAW=$WORK/rounds.tsv # impl setting trigger round delay_us timer_late_us advert_to_garp_us flag
: >"$RAW"
WARN=$WORK/warnings.txt
: >"$WARN"
CAP_N=0

run_block() { # run_block IMPL SETTING
    local impl=$1 setting=$2 advert pcap marks skew md settle sig r t0 tend all child clean flag
    advert=${setting%+strict}
    advert=${advert#*-}
    read -r _ md <<<"$(bounds "$setting")"
    CAP_N=$((CAP_N + 1))
    pcap=$WORK/$impl-$setting.pcap
    marks=$WORK/$impl-$setting.marks
    : >"$marks"
    ip netns exec "$LAN" tcpdump -i br0 --immediate-mode -U -n -s 0 -w "$pcap" \
        'arp or ip proto 112' >"$WORK/tcpdump-$CAP_N.log" 2>&1 &
    CAP_PID=$!
    poll 10 grep -q "listening on" "$WORK/tcpdump-$CAP_N.log" || die "tcpdump did not start"

    start n1 "$impl" "$(conf n1 150 "$setting")"
    start n2 "$impl" "$(conf n2 100 "$setting")"
    poll 30 n1_master || die "$impl $setting: n1 never became master (logs in $WORK, KEEP=1)"
    # settle: n2 has heard a few adverts of the master
    settle=$(awk -v a="$advert" 'BEGIN{printf "%.3f", 1 + 2 * a}')
    sleep "$settle"
    for sig in KILL TERM; do
        # ROUNDS clean rounds: a round during which a compile ran, or that failed, is
        # recorded but left out of the statistics and done again (at most 3 x ROUNDS in all).
        clean=0
        r=0
        while ((clean < ROUNDS)); do
            if ((r >= 3 * ROUNDS)); then
                echo "$impl $setting SIG$sig: only $clean clean rounds out of $r" >>"$WARN"
                break
            fi
            r=$((r + 1))
            wait_quiet
            sleep "$(awk -v a="$advert" -v x=$RANDOM 'BEGIN{printf "%.4f", a * x / 32768}')"
            all=$(procs n1)
            child=
            [[ $sig == KILL && $impl == keepalived ]] && child=$(vrrp_child n1)
            flag=clean
            t0=$(now)
            signal_node n1 "$sig" "$child"
            if ! poll $((md / 1000000 + 10)) has_vip n2; then
                echo "$impl $setting SIG$sig round $r: n2 never took the VIP" >>"$WARN"
                flag=failed
            fi
            # shellcheck disable=SC2086
            wait_gone n1 $all
            if compiling; then
                echo "$impl $setting SIG$sig round $r: a cargo/rustc process was running; round left out" >>"$WARN"
                flag=busy
            fi
            [[ $flag == clean ]] && clean=$((clean + 1))
            sleep 0.2 # the rest of the GARP burst reaches the capture
            tend=$(now)
            printf "%s\t%s\t%s\t%s\t%s\n" "$sig" "$r" "$t0" "$tend" "$flag" >>"$marks"
            say "$impl $setting SIG$sig round $r ($flag; $clean/$ROUNDS clean)"
            start n1 "$impl" "$(conf n1 150 "$setting")"
            poll 30 n1_master || die "$impl $setting: n1 did not preempt after restart"
            sleep "$settle"
        done
    done
    stop_node n1 TERM
    stop_node n2 TERM
    sleep 0.2
    kill -INT "$CAP_PID"
    poll 10 none_alive "$CAP_PID" || say "tcpdump did not stop"
    wait "$CAP_PID" 2>/dev/null
    CAP_PID=

    # Per round: SIGKILL: last advert from n1 (priority > 0) before n2's first GARP for the
    # VIP after the kill; SIGTERM: n1's priority-0 advert, then n2's first GARP after it.
    tshark -r "$pcap" -Y 'vrrp or arp' -T fields -E separator=/t -E occurrence=f \
        -e frame.time_epoch -e ip.src -e vrrp.prio -e arp.isgratuitous \
        -e arp.src.proto_ipv4 -e eth.src 2>/dev/null >"$pcap.tsv"
    read -r skew _ <<<"$(bounds "$setting")"
    awk -F'\t' -v impl="$impl" -v setting="$setting" -v n1="${IPOF[n1]}" -v n2="${IPOF[n2]}" \
        -v skew="$skew" -v md="$md" \
        -v mac2="${MACOF[n2]}" -v vip="$VIP" -v warn="$WARN" '
        function t(s,   a) { split(s, a, "."); return (a[1] - base) + ("0." a[2]) }
        FNR == NR { if (!base) { split($3, b, "."); base = b[1] - 10 }
                    m++; sig[m] = $1; rnd[m] = $2; t0[m] = t($3); te[m] = t($4); flag[m] = $5; next }
        { n++; ts[n] = t($1); src[n] = $2; prio[n] = ($3 == "") ? -1 : $3 + 0
          garp[n] = ($4 == "1" || $4 == "True") && $5 == vip && $6 == mac2 }
        END {
            prev = -1e9
            for (k = 1; k <= m; k++) {
                g = 0; a = 0; last = 0; p0 = 0
                for (j = 1; j <= n; j++) {
                    if (ts[j] < prev) continue
                    if (ts[j] >= te[k]) break
                    if (ts[j] < t0[k]) {
                        if (src[j] == n1 && prio[j] > 0) last = ts[j]
                        continue
                    }
                    if (sig[k] == "TERM" && !p0 && src[j] == n1 && prio[j] == 0) p0 = ts[j]
                    if (sig[k] == "KILL" && !g && src[j] == n1 && prio[j] > 0) last = ts[j]
                    # n2 becoming master: its first advert, then (after the addresses) the GARP
                    if (!a && src[j] == n2 && prio[j] > 0 && (sig[k] == "KILL" || p0)) a = ts[j]
                    if (!g && garp[j] && (sig[k] == "KILL" || p0)) g = ts[j]
                }
                from = (sig[k] == "KILL") ? last : p0
                if (g && from) {
                    d = int((g - from) * 1e6 + 0.5)
                    bound = (sig[k] == "KILL") ? md : skew
                    # split of the overshoot: timer (first advert of n2, late on the bound) and
                    # advert -> GARP (addresses installed before the GARP goes out)
                    if (a && a <= g) { late = int((a - from) * 1e6 + 0.5) - bound; inst = int((g - a) * 1e6 + 0.5) }
                    else { late = "-"; inst = "-" }
                    printf "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", impl, setting, sig[k], rnd[k], d, late, inst, flag[k]
                    if (d < bound)
                        printf "%s %s SIG%s round %d: %d us is below the bound (a GARP not caused by this failover?)\n", impl, setting, sig[k], rnd[k], d >> warn
                } else
                    printf "%s %s SIG%s round %d: no %s in the capture\n", impl, setting, sig[k], rnd[k], (g ? "reference advert" : "GARP from n2") >> warn
                prev = te[k]
            }
        }' "$marks" "$pcap.tsv" >>"$RAW"
    # The master's advert period: gaps between consecutive adverts of n1 (a gap longer than
    # 1.5 x advert_int spans a kill and restart, and is skipped).
    awk -F'\t' -v n1="${IPOF[n1]}" -v a="$advert" '
        $2 == n1 && $3 > 0 { if (p && $1 - p < 1.5 * a) printf "%.0f\n", ($1 - p) * 1e6; p = $1 }' \
        "$pcap.tsv" | sort -n | awk -v label="| $setting | $impl | $(awk -v a="$advert" 'BEGIN{printf "%.3f", a * 1000}')" '
        { v[++n] = $1; s += $1 }
        END {
            if (!n) exit
            p99 = int(n * 0.99); if (p99 < 1) p99 = 1
            printf "%s | %.3f | %.3f | %.3f | %d |\n", label, v[int((n + 1) / 2)] / 1000, s / n / 1000, v[p99] / 1000, n
        }' >>"$WORK/period.md"
}

T_BEGIN=$(date -u +%Y-%m-%dT%H:%MZ)
for setting in $SETTINGS; do
    for impl in $IMPLS; do
        wait_quiet
        say "failover: $impl, $setting, $ROUNDS rounds of SIGKILL then SIGTERM"
        run_block "$impl" "$setting"
    done
done

# --- report ---
TABLE=$WORK/table.md
{
    echo "| setting | trigger | implementation | rounds | median ms | min ms | max ms | bound ms | median − bound ms |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|"
    for setting in $SETTINGS; do
        read -r skew md <<<"$(bounds "$setting")"
        for sig in KILL TERM; do
            if [[ $sig == KILL ]]; then bound=$md; what="SIGKILL (last advert → GARP)"; else bound=$skew; what="SIGTERM (prio 0 → GARP)"; fi
            for impl in $IMPLS; do
                awk -F'\t' -v i="$impl" -v s="$setting" -v g="$sig" '$1==i && $2==s && $3==g && $8=="clean" {print $5}' "$RAW" |
                    sort -n | awk -v b="$bound" -v label="| $setting | $what | $impl" '
                        { v[++n] = $1 }
                        END {
                            if (!n) { printf "%s | 0 | – | – | – | %.3f | – |\n", label, b / 1000; exit }
                            med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
                            printf "%s | %d | %.3f | %.3f | %.3f | %.3f | %+.3f |\n", label, n,
                                med / 1000, v[1] / 1000, v[n] / 1000, b / 1000, (med - b) / 1000
                        }'
            done
        done
    done
} >"$TABLE"
SPLIT=$WORK/split.md
{
    echo "| setting | trigger | implementation | timer: n2's first advert − reference − bound, median (max) ms | n2's advert → GARP, median (max) ms |"
    echo "|---|---|---|---:|---:|"
    for setting in $SETTINGS; do
        for sig in KILL TERM; do
            for impl in $IMPLS; do
                awk -F'\t' -v i="$impl" -v s="$setting" -v g="$sig" -v label="| $setting | SIG$sig | $impl" '
                    function med(v, n,   i, j, x) {
                        for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
                        return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
                    }
                    $1 == i && $2 == s && $3 == g && $6 != "-" && $8 == "clean" { n++; l[n] = $6; a[n] = $7 }
                    END {
                        if (!n) { print label " | – | – |"; exit }
                        ml = med(l, n); ma = med(a, n)
                        printf "%s | %.3f (%.3f) | %.3f (%.3f) |\n", label, ml / 1000, l[n] / 1000, ma / 1000, a[n] / 1000
                    }' "$RAW"
            done
        done
    done
} >"$SPLIT"
PERIOD=$WORK/period-table.md
{
    echo "| setting | implementation | advert_int ms | median period ms | mean ms | p99 ms | gaps |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    cat "$WORK/period.md" 2>/dev/null
} >"$PERIOD"
RSS_TABLE=$WORK/rss.md
{
    echo "| implementation | idle VmRSS (kB) | processes |"
    echo "|---|---:|---|"
    for impl in $IMPLS; do echo "| $impl | ${RSS[$impl]} | ${RSS_DETAIL[$impl]} |"; done
} >"$RSS_TABLE"

echo
cat "$TABLE"
echo
cat "$SPLIT"
echo
cat "$PERIOD"
echo
cat "$RSS_TABLE"
if [[ -s $WARN ]]; then
    echo
    echo "warnings:"
    sed 's/^/  /' "$WARN"
fi

if [[ $OUT != - ]]; then
    mkdir -p "$(dirname "$OUT")"
    {
        echo "# VRRP failover time: keepalived-rs vs keepalived 2.2.7"
        echo
        echo "Command (as root, from the repository root): \`$COMMAND\`"
        echo
        echo "- run: $T_BEGIN, $(uname -sr), $(nproc) CPU(s): $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
        if [[ -n $BUILT ]]; then
            echo "- keepalived-rs: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)$(cd "$ROOT" && git diff --quiet HEAD -- crates 2>/dev/null || echo " with uncommitted changes in crates/"), release build of the checkout"
        else
            echo "- keepalived-rs: ${OURS_DESC:-$OURS_SRC (given by OURS=)}"
        fi
        echo "- baseline: $("$KEEPALIVED" --version 2>&1 | head -1) ($KEEPALIVED)"
        echo "- capture: tcpdump --immediate-mode on the LAN bridge; times are frame timestamps (tshark frame.time_epoch)"
        echo
        echo "Two nodes on one bridge, same implementation on both: n1 priority 150 (master), n2 priority 100."
        echo "SIGKILL: last advert from n1 → first gratuitous ARP for the VIP from n2; bound = n2's"
        echo "Master_Down_Interval = 3 × advert_int + Skew_Time. SIGTERM: n1's priority-0 advert → n2's first"
        echo "gratuitous ARP; bound = Skew_Time. Skew_Time for priority 100 as keepalived computes it (integer µs):"
        echo "v2 156/256 s = 609.375 ms; v3 156 × advert_int/256 = 30.468 ms at 0.05 s, 6.093 ms at 0.01 s."
        echo "median − bound is the overshoot. Kills land at a random point of the advert cycle."
        echo
        cat "$TABLE"
        echo
        echo "Where the overshoot goes: the timer (n2's first advert as master, against the reference frame"
        echo "plus the bound) and the installation of the addresses (n2's advert → its first GARP; both"
        echo "implementations add the VIP by netlink before announcing it):"
        echo
        cat "$SPLIT"
        echo
        echo "The master's advert period (n1's consecutive adverts in the same captures; the timer is"
        echo "re-armed from the moment it fired, as keepalived does, so any lateness adds to every period):"
        echo
        cat "$PERIOD"
        echo
        echo "Idle RSS after 10 s on \`examples/seed/master.conf\` (interface enp0s3, vrrp_strict; both daemons"
        echo "VRRP only: keepalived with -P, so parent + VRRP child; VmRSS from /proc/PID/status):"
        echo
        cat "$RSS_TABLE"
        if [[ -s $WARN ]]; then
            echo
            echo "Warnings:"
            echo
            sed 's/^/- /' "$WARN"
        fi
        echo
        echo "Every round (µs):"
        echo
        echo '```'
        printf "impl\tsetting\ttrigger\tround\tdelay_us\ttimer_late_us\tadvert_to_garp_us\tround_flag\n"
        cat "$RAW"
        echo '```'
    } >"$OUT"
    say "results written to $OUT"
fi
