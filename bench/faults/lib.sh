# shellcheck shell=bash
# bench/faults/lib.sh: shared by the fault benchmarks in bench/faults/ (advert-loss.sh,
# partition.sh, link-flap.sh, starvation.sh). Source it, do not run it.
#
# What it gives:
#   * "sets": one isolated VRRP LAN per implementation and condition, so that keepalived-rs and
#     keepalived 2.2.7 can run the same fault at the same time, side by side:
#       $PFX-SET-lan  bridge br0 (capture point: tcpdump, arp or ip proto 112)
#       $PFX-SET-n1   eth0 192.0.2.11  MAC 02:00:00:00:00:11  master, priority 150
#       $PFX-SET-n2   eth0 192.0.2.12  MAC 02:00:00:00:00:12  backup, priority 100
#     VIP 192.0.2.50/24, virtual_router_id 51; both nodes of a set run the same
#     implementation. PFX is kz<script letter><PID of the script>; namespaces, processes and
#     nftables tables (all inside those namespaces) are removed by an EXIT trap, also on
#     failure or Ctrl-C.
#   * daemons: ours `keepalived-rs -n -l -f FILE` (a private copy of the binary),
#     keepalived `keepalived -n -l -P -f FILE -p PID -r VRRPPID`; both log state changes as
#     "(VI_1) Entering MASTER|BACKUP|FAULT STATE" (unbuffered), which is what is counted;
#   * `ip -ts monitor address` in each node (VIP added/removed, µs timestamps, same clock as
#     `date`), and a capture on each set's bridge (adverts, gratuitous ARPs);
#   * nftables loss rules in a node's namespace: table inet kfault, input hook at priority
#     -300, `ip protocol 112 numgen random mod 100 < PCT drop`, with counters.
# Addresses: only 192.0.2.0/24, only inside the namespaces created here. No traffic leaves them.
#
# Environment read by every script:
#   OURS=path        keepalived-rs binary (default target/release/keepalived-rs; never built here)
#   KEEPALIVED=path  the baseline (default: keepalived on PATH, Debian's 2.2.7)
#   KEEP=1           keep the scratch directory (configs, logs, captures, monitor files)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ME=$(basename "$0")

# usage: the comment block at the top of the script (its usage header)
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; }
die() { echo "$ME: $*" >&2; exit 1; }
say() { echo "$ME: $(date +%T) $*" >&2; }

SUBNET=192.0.2
VIP=$SUBNET.50
declare -A IPOF=([n1]=$SUBNET.11 [n2]=$SUBNET.12)
declare -A MACOF=([n1]=02:00:00:00:00:11 [n2]=02:00:00:00:00:12)

# fl_command ARGS...: the command line as the results file shows it.
fl_command() {
    local a c="bench/faults/$ME"
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./+=,-]+$ ]]; then c+=" $a"; else c+=" '$a'"; fi
    done
    for a in KEEPALIVED OURS; do [[ -n ${!a:-} ]] && c="$a='${!a}' $c"; done
    echo "$c"
}

# --- the machine must be quiet: another engineer builds on this box ---
compiling() { pgrep -f "cargo (build|test|clippy|fuzz|run|bench)" >/dev/null || pgrep -x rustc >/dev/null; }
BUSY_NOTES=()
QUIET_NOTES=()
# cpu_busy: percentage of all CPUs busy over one second (from /proc/stat)
cpu_busy() {
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); u = y[1] - x[1]; i = y[2] - x[2]
        printf "%d", (u + i) ? 100 * u / (u + i) : 0 }'
}
# cpu_snapshot FILE: "pid ticks comm" for every process (utime + stime, clock ticks)
cpu_snapshot() {
    local f
    for f in /proc/[0-9]*/stat; do
        awk '{ c = $2; sub(/^.*\) /, ""); print FILENAME, $12 + $13, c }' "$f" 2>/dev/null
    done | sed 's|^/proc/\([0-9]*\)/stat|\1|' >"$1"
}
# foreign_cpu A B: CPU seconds used between two snapshots by processes other than the
# benchmark's own (busy loops, daemons, captures, monitors): "total; top three"
foreign_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '
        FNR == NR { t[$1] = $2; next }
        $3 ~ /^\((sh|timeout|keepalived|keepalived-rs|tcpdump|ip|awk|sleep|bash)\)$/ { next }
        { d = $2 - (($1 in t) ? t[$1] : 0); if (d > 0) { u[$3] += d; tot += d } }
        END { printf "%.1f CPU-s", tot / hz
              n = 0; for (k in u) n++
              for (i = 0; i < 3 && n; i++) { m = ""; for (k in u) if (m == "" || u[k] > u[m]) m = k
                  printf "%s %s %.1f s", (i ? "," : ";"), m, u[m] / hz; delete u[m]; n-- } }' "$1" "$2"
}
top_cpu() { ps -eo pcpu,comm --sort=-pcpu --no-headers | head -4 | awk '{ printf "%s%s %s%%", (NR > 1 ? ", " : ""), $2, $1 }'; }
# wait_quiet MAXSECONDS [CPU_LIMIT]: wait (bounded) until no cargo/rustc runs and, with
# CPU_LIMIT, until the CPUs are less than CPU_LIMIT % busy; the results are flagged otherwise.
wait_quiet() {
    local max=${1:-600} lim=${2:-} i busy
    for ((i = 0; i < max; i += 6)); do
        busy=$(cpu_busy)
        if ! compiling && [[ -z $lim || $busy -lt $lim ]]; then
            QUIET_NOTES+=("$(date +%T): CPUs ${busy} % busy before the run")
            return 0
        fi
        ((i == 0)) && say "machine busy (cargo/rustc or CPUs ${busy} %: $(top_cpu)); waiting (at most ${max} s)..."
        sleep 5
    done
    say "still busy after $max s; going on (the run is flagged)"
    BUSY_NOTES+=("$(date +%T): machine busy when the run started (CPUs ${busy} %; $(top_cpu); cargo/rustc: $(compiling && echo yes || echo no))")
}
# nap SECONDS [LABEL]: sleep, checking every second whether a compile runs (flags LABEL).
nap() {
    local us end left label=${2:-run} flagged=
    us=$(awk -v d="$1" 'BEGIN { printf "%.0f", d * 1000000 }')
    end=$(( ${EPOCHREALTIME/./} + us ))
    while :; do
        left=$(( end - ${EPOCHREALTIME/./} ))
        ((left <= 0)) && break
        if ((left > 1000000)); then sleep 1; else sleep "$(printf '0.%06d' "$left")"; fi
        if [[ -z $flagged ]] && compiling; then
            flagged=1
            BUSY_NOTES+=("$(date +%T): cargo/rustc running during $label")
        fi
    done
}

now() { date +%s.%N; }
# poll SECONDS CMD...: run CMD every 20 ms until it succeeds; fails after SECONDS.
poll() {
    local end=$(( ${EPOCHREALTIME/./} + $1 * 1000000 ))
    shift
    while ! "$@"; do
        (( ${EPOCHREALTIME/./} > end )) && return 1
        sleep 0.02
    done
}

# --- setup, cleanup ---
fl_init() { # fl_init LETTER: scratch dir, binaries, trap
    [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
    for t in ip nft tcpdump tshark awk pgrep; do command -v $t >/dev/null || die "missing $t"; done
    KEEPALIVED=${KEEPALIVED:-$(command -v keepalived || true)}
    [[ -x $KEEPALIVED ]] || die "keepalived not found (set KEEPALIVED=)"
    OURS_SRC=${OURS:-$ROOT/target/release/keepalived-rs}
    [[ -x $OURS_SRC ]] || die "$OURS_SRC missing: build it first (this script never runs cargo)"
    PFX=kz$1$$
    NSLIST=()
    BGPIDS=()
    WORK=$(mktemp -d "/tmp/ka-faults-$1.XXXXXX")
    trap fl_cleanup EXIT
    trap 'exit 130' INT TERM
    # A private copy: a rebuild in the checkout during the run must not swap the binary.
    cp "$OURS_SRC" "$WORK/keepalived-rs" || die "cannot copy $OURS_SRC"
    OURS_BIN=$WORK/keepalived-rs
    OURS_DESC="$OURS_SRC ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)$(cd "$ROOT" &&
        git diff --quiet HEAD -- crates 2>/dev/null || echo ", uncommitted changes in crates/"); binary $(date -u -r "$OURS_SRC" +%Y-%m-%dT%H:%MZ))"
    T_BEGIN=$(date -u +%Y-%m-%dT%H:%M:%SZ)
}

fl_cleanup() {
    local p c n ino
    trap - EXIT INT TERM
    # our own background processes outside the namespaces (busy loops, timers), by PID
    for p in "${BGPIDS[@]}" "${MONPIDS[@]}"; do
        for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do kill -KILL "$c" 2>/dev/null; done
        kill -KILL "$p" 2>/dev/null
    done
    for n in "${NSLIST[@]}"; do
        # every process in a namespace of ours was started by this script (daemons, their
        # children, ip monitor, tcpdump)
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    done
    for n in "${NSLIST[@]}"; do
        ip netns exec "$n" nft delete table inet kfault 2>/dev/null
        # our daemon's crash journal is keyed by the namespace's inode
        ino=$(stat -L -c %i "/run/netns/$n" 2>/dev/null) &&
            rm -f "/run/keepalived-rs/state-net$ino.json" "/run/keepalived-rs/state-net$ino.json.tmp"
        ip netns del "$n" 2>/dev/null
    done
    wait 2>/dev/null
    if [[ -n ${KEEP:-} ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}

nsof() { echo "$PFX-$1-$2"; } # nsof SET NODE|lan

mkns() {
    ip netns add "$1" || die "cannot create namespace $1"
    NSLIST+=("$1")
    ip -n "$1" link set lo up
}

# mkset SET: the LAN and both nodes.
mkset() {
    local s=$1 node lan
    lan=$(nsof "$s" lan)
    mkns "$lan"
    ip -n "$lan" link add br0 type bridge || die "bridge"
    ip -n "$lan" link set br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
    ip -n "$lan" link set br0 up
    for node in n1 n2; do
        mkns "$(nsof "$s" $node)"
        ip link add "p$node" netns "$lan" type veth peer name eth0 netns "$(nsof "$s" $node)" ||
            die "veth for $s/$node"
        ip -n "$lan" link set "p$node" master br0 up
        ip -n "$(nsof "$s" $node)" link set eth0 address "${MACOF[$node]}"
        ip -n "$(nsof "$s" $node)" addr add "${IPOF[$node]}/24" dev eth0
        ip -n "$(nsof "$s" $node)" link set eth0 up
    done
}

# --- VRRP configuration ---
# settings: v2-1 (VRRPv2, advert_int 1, PASS auth), v3-0.05, v3-0.01 (VRRPv3)
setting_ok() { [[ $1 =~ ^(v2-1|v3-0\.05|v3-0\.01)$ ]]; }
advert_of() { echo "${1#*-}"; }
# master_down SETTING: Master_Down_Interval of the priority-100 backup in seconds, as
# keepalived computes it (skew: v2 156/256 s, v3 156 x advert_int / 256)
master_down() {
    local v=${1%%-*} a=${1#*-}
    awk -v v="$v" -v a="$a" 'BEGIN { s = (v == "v2") ? 156 / 256 : 156 * a / 256; printf "%.6f", 3 * a + s }'
}

# mkconf FILE NODE SETTING [GLOBAL_EXTRA] [INSTANCE_EXTRA]: n1 priority 150 MASTER, n2 100 BACKUP.
mkconf() {
    local f=$1 node=$2 setting=$3 gx=${4:-} ix=${5:-} version advert prio=100 state=BACKUP auth=
    version=${setting%%-*}
    version=${version#v}
    advert=${setting#*-}
    [[ $node == n1 ]] && prio=150 && state=MASTER
    [[ $version == 2 ]] && auth="
    authentication {
        auth_type PASS
        auth_pass bench42
    }"
    cat >"$f" <<EOF
global_defs {
    router_id $node$gx
}
vrrp_instance VI_1 {
    state $state
    interface eth0
    virtual_router_id 51
    version $version
    priority $prio
    advert_int $advert$auth$ix
    virtual_ipaddress {
        $VIP/24
    }
}
EOF
}

# --- daemons, monitors, captures ---
RUN=         # prefix of this run's files in $WORK (logs, monitors, captures)
declare -A DPID=() DIMPL=() DLOG=()
# start_daemon SET NODE IMPL CONF
start_daemon() {
    local s=$1 node=$2 impl=$3 conf=$4 tag ns
    tag=$WORK/$RUN$s-$node
    ns=$(nsof "$s" "$node")
    case $impl in
        ours) ip netns exec "$ns" "$OURS_BIN" -n -l -f "$conf" >>"$tag.log" 2>&1 & ;;
        keepalived) ip netns exec "$ns" "$KEEPALIVED" -n -l -P -f "$conf" \
            -p "$tag.pid" -r "$tag.vrrp.pid" >>"$tag.log" 2>&1 & ;;
        *) die "unknown implementation $impl" ;;
    esac
    DPID[$s/$node]=$!
    disown
    DIMPL[$s/$node]=$impl
    DLOG[$s/$node]=$tag.log
}

children() { cat /proc/"$1"/task/*/children 2>/dev/null; }
# procs SET NODE: every process of the daemon (keepalived: parent and VRRP child)
procs() {
    local p=${DPID[$1/$2]} c
    echo "$p"
    for c in $(children "$p"); do echo "$c"; children "$c"; done
}
alive() {
    local st
    st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
    [[ -n $st && $st != Z ]]
}
none_alive() { local p; for p in "$@"; do alive "$p" && return 1; done; return 0; }

# stop_daemon SET NODE: SIGTERM, bounded wait, then SIGKILL.
stop_daemon() {
    local all
    all=$(procs "$1" "$2")
    kill -TERM "${DPID[$1/$2]}" 2>/dev/null
    # shellcheck disable=SC2086
    poll 10 none_alive $all || { say "$1/$2 still running 10 s after SIGTERM; SIGKILL"; kill -KILL $all 2>/dev/null; }
}

# start_monitor SET NODE: VIP events of the node (ip -ts monitor address, runs in the ns).
MONPIDS=()
start_monitor() {
    ip -n "$(nsof "$1" "$2")" -ts monitor address >"$WORK/$RUN$1-$2.mon" 2>&1 &
    MONPIDS+=($!)
    disown
}
# stop_monitors: every monitor started since the last call
stop_monitors() {
    local p
    sleep 0.2 # the last events reach the files
    for p in "${MONPIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    MONPIDS=()
}

declare -A CAPPID=()
# start_capture SET: tcpdump on the set's bridge (VRRP and ARP only).
start_capture() {
    ip netns exec "$(nsof "$1" lan)" tcpdump -i br0 --immediate-mode -U -n -s 128 -w "$WORK/$RUN$1.pcap" \
        'arp or ip proto 112' >"$WORK/$RUN$1.tcpdump.log" 2>&1 &
    CAPPID[$1]=$!
    disown
    poll 10 grep -qs "listening on" "$WORK/$RUN$1.tcpdump.log" || die "tcpdump did not start in set $1"
}
stop_capture() {
    kill -INT "${CAPPID[$1]}" 2>/dev/null
    poll 10 none_alive "${CAPPID[$1]}" || kill -KILL "${CAPPID[$1]}" 2>/dev/null
}
# capture_drops SET: packets tcpdump says the kernel dropped (should be 0)
capture_drops() { awk '/dropped by kernel/ {print $1; exit}' "$WORK/$RUN$1.tcpdump.log"; }

has_vip() { ip -n "$(nsof "$1" "$2")" -o -4 addr show dev eth0 2>/dev/null | grep -q " $VIP/"; }
lacks_vip() { ! has_vip "$1" "$2"; }
n1_only() { has_vip "$1" n1 && lacks_vip "$1" n2; }
# settle SET SETTING: bounded wait for n1 master (VIP on n1 only), then a few adverts.
settle() {
    poll 30 n1_only "$1" || die "set $1: n1 never became the only VIP holder (KEEP=1 to see $WORK)"
    nap "$(awk -v a="$(advert_of "$2")" 'BEGIN { printf "%.3f", 1 + 3 * a }')" "settle"
}

# ntrans SET NODE [STATE]: state changes logged so far ("Entering X STATE"; keepalived's
# parent logs "(init)" once at start: not counted).
ntrans() {
    local re="Entering (MASTER|BACKUP|FAULT) STATE"
    [[ -n ${3:-} ]] && re="Entering $3 STATE"
    grep -E "$re" "${DLOG[$1/$2]}" 2>/dev/null | grep -vc "(init)"
}

# --- nftables faults, inside a node's namespace ---
# loss_on SET NODE PCT: drop PCT % of the VRRP packets that reach the node (PCT 100: all).
loss_on() {
    local cond=
    (($3 < 100)) && cond="numgen random mod 100 < $3 "
    ip netns exec "$(nsof "$1" "$2")" nft -f - <<EOF || die "nft in $1/$2"
table inet kfault {
    chain in {
        type filter hook input priority -300; policy accept;
        ip protocol 112 counter
        ip protocol 112 ${cond}counter drop
    }
}
EOF
}
# loss_off SET NODE: remove the table; prints "seen dropped" (VRRP packets).
loss_off() {
    local ns
    ns=$(nsof "$1" "$2")
    ip netns exec "$ns" nft list table inet kfault 2>/dev/null |
        awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") v[++n] = $(i + 1) }
             END { printf "%d %d\n", v[1], v[2] }'
    ip netns exec "$ns" nft delete table inet kfault 2>/dev/null
}

# --- analysis helpers ---
# vip_events SET: "epoch node +|-" for every VIP add/delete seen by the monitors, by time.
vip_events() {
    local node
    for node in n1 n2; do
        awk -v node=$node -v vip=" $VIP/" '
            /^\[/ && index($0, vip) && / inet / {
                ts = substr($1, 2, length($1) - 2)          # 2026-11-25T19:01:30.829637
                split(ts, dt, "T"); split(dt[1], d, "-"); split(dt[2], hm, ":")
                sec = int(hm[3]); frac = hm[3] - sec
                e = mktime(d[1] " " d[2] " " d[3] " " hm[1] " " hm[2] " " sec) + frac
                printf "%.6f %s %s\n", e, node, (index($0, "Deleted") ? "-" : "+")
            }' "$WORK/$RUN$1-$node.mon"
    done | sort -n
}

# pcap_events SET: "epoch kind node prio" from the capture; kind: adv (prio: its priority),
# garp (a gratuitous ARP request for the VIP: what the daemons send), arpreply (an ARP reply
# from the VIP: the kernel of a node holding the VIP answering the other's GARP); node n1/n2/?.
pcap_events() {
    tshark -r "$WORK/$RUN$1.pcap" -Y 'vrrp or arp' -T fields -E separator=/t -E occurrence=f \
        -e frame.time_epoch -e eth.src -e vrrp.prio -e arp.isgratuitous -e arp.src.proto_ipv4 \
        -e arp.dst.proto_ipv4 -e arp.opcode 2>/dev/null |
        awk -F'\t' -v m1="${MACOF[n1]}" -v m2="${MACOF[n2]}" -v vip="$VIP" '
            { node = ($2 == m1) ? "n1" : ($2 == m2) ? "n2" : "?" }
            $3 != "" { printf "%s adv %s %s\n", $1, node, $3; next }
            $5 == vip && $7 == 1 && ($4 == "1" || $4 == "True" || $6 == vip) { printf "%s garp %s -\n", $1, node; next }
            $5 == vip && $7 == 2 { printf "%s arpreply %s -\n", $1, node }'
}

# vip_window EVENTS T0 T1: VIP statistics over [T0, T1] from vip_events output:
#   "n1_adds n1_dels n2_adds n2_dels both_s both_episodes none_s"
vip_window() {
    awk -v t0="$2" -v t1="$3" '
        function acc(t) {
            if (t > t1) t = t1
            if (t > last) { if (h["n1"] && h["n2"]) both += t - last; if (!h["n1"] && !h["n2"]) none += t - last }
            if (t > last) last = t
        }
        BEGIN { last = t0 }
        {
            if ($1 < t0) { h[$2] = ($3 == "+"); next }
            if ($1 > t1) next
            acc($1)
            was = h["n1"] && h["n2"]
            if ($3 == "+") { h[$2] = 1; add[$2]++ } else { h[$2] = 0; del[$2]++ }
            if (!was && h["n1"] && h["n2"]) ep++
        }
        END { acc(t1); printf "%d %d %d %d %.3f %d %.3f\n", add["n1"], del["n1"], add["n2"], del["n2"], both, ep, none }' "$1"
}

# daemon_sched SET NODE: scheduling policy/priority, CPU affinity and locked memory of every
# process of the daemon (to see whether vrrp_rt_priority, vrrp_cpu_affinity, vrrp_no_swap
# took effect): per process, the policy/priority of each thread (counted), affinity, VmLck.
daemon_sched() {
    local p t pol aff lck pols
    for p in $(procs "$1" "$2"); do
        pols=$(for t in /proc/"$p"/task/*; do
            chrt -p "${t##*/}" 2>/dev/null | awk -F': ' '/policy/ {p = $2} /priority/ {q = $2} END {print p "/" q}'
        done | sort | uniq -c | awk '{printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1}')
        aff=$(taskset -pc "$p" 2>/dev/null | awk -F': ' '{print $2}')
        lck=$(awk '/^VmLck/ {print $2 $3}' "/proc/$p/status" 2>/dev/null)
        echo "pid $p threads [$pols], cpus $aff, VmLck $lck"
    done
}

fl_header() { # fl_header TITLE: the common head of a results file
    echo "# $1"
    echo
    echo "Command (as root, from the repository root): \`$COMMAND\`"
    echo
    echo "- run: $T_BEGIN to $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -sr), $(nproc) CPU(s): $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
    echo "- keepalived-rs: $OURS_DESC"
    echo "- baseline: $("$KEEPALIVED" --version 2>&1 | head -1) ($KEEPALIVED), run with -n -l -P"
    echo "- topology: per implementation (and condition) its own bridge namespace and two node"
    echo "  namespaces: n1 192.0.2.11 priority 150 (master), n2 192.0.2.12 priority 100; VIP 192.0.2.50/24,"
    echo "  vrid 51; both implementations' sets run at the same time under the same fault"
    ((${#QUIET_NOTES[@]})) && echo "- quiet checks: ${QUIET_NOTES[*]}"
    if ((${#BUSY_NOTES[@]})); then
        echo "- **flag: the machine was not quiet**: ${BUSY_NOTES[*]}"
    else
        echo "- no cargo/rustc process ran during the measurement windows (checked every second)"
    fi
    echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}
