# shellcheck shell=bash
# lib-crash.sh: shared helpers of bench/faults/{crash,reload-traffic,hostile-flood,security}.sh.
# Source it (after `set -uo pipefail`), do not run it.
#
#   FAULT=<script name>           used in messages and in the scratch directory's name
#   lc_setup PREFIX               scratch dir $WORK, namespaces named PREFIX<PID>-*, the EXIT
#                                 trap (kills every process started, by PID, then whatever is
#                                 left in our namespaces; flushes their nftables rulesets,
#                                 deletes them, removes our daemon's crash journals)
#   lc_lan [BRIDGE...]            namespace $PFX-lan with one bridge per name (default br0)
#   lc_host NAME IFNAME ADDR/LEN MAC [BRIDGE]   namespace $PFX-NAME, IFNAME on BRIDGE
#   lc_start NODE IMPL CONF [ARGS...]           start a daemon (ours | keepalived) in $PFX-NODE
#   lc_crash NODE / lc_term NODE / lc_hup NODE  SIGKILL-crash, clean stop, reload
#   lc_snapshot NODE              the kernel state a VRRP daemon may leave, one item a line
#   lc_metrics NODE               our Prometheus text (ctl metrics)
#   lc_ka_stats NODE              keepalived's SIGUSR2 stats file
#   lc_rss NODE / lc_cpu_ticks NODE   VmRSS (kB) / utime+stime (ticks) of every daemon process
#
# Environment: OURS (default target/release/keepalived-rs, copied to $WORK so that a rebuild
# during the run does not swap it), KEEPALIVED (default: keepalived on PATH), KEEP=1 keeps
# $WORK (configs, logs, raw data).
#
# Addresses: documentation ranges only, inside the namespaces created here.

LC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FAULT=${FAULT:-fault}

die() { echo "$FAULT: $*" >&2; exit 1; }
say() { echo "$FAULT: $*" >&2; }

PFX=
WORK=
NSLIST=()
PIDLIST=()
declare -A DPID=() DIMPL=() DCONF=() DLOG=()
LC_START_N=0

lc_cleanup() {
    local p n ino
    trap - EXIT INT TERM
    for p in "${PIDLIST[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for n in "${NSLIST[@]}"; do
        # Whatever still lives in one of our namespaces was started by this script.
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    done
    sleep 0.2
    for n in "${NSLIST[@]}"; do
        ip netns exec "$n" nft flush ruleset 2>/dev/null
        # Our daemon's crash journal is keyed by the namespace's inode.
        ino=$(stat -L -c %i "/run/netns/$n" 2>/dev/null) &&
            rm -f /run/keepalived-rs/state-net"$ino"*.json /run/keepalived-rs/state-net"$ino"*.json.tmp \
                "/run/keepalived-rs/control-net$ino.sock"
        ip netns del "$n" 2>/dev/null
    done
    wait 2>/dev/null
    [[ -z $WORK ]] && return
    if [[ -n ${KEEP:-} ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}

lc_setup() {
    [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
    for t in ip nft awk python3; do command -v $t >/dev/null || die "missing $t"; done
    PFX=$1$$
    KEEPALIVED=${KEEPALIVED:-$(command -v keepalived || true)}
    [[ -x $KEEPALIVED ]] || die "keepalived not found (set KEEPALIVED=)"
    OURS=${OURS:-$LC_ROOT/target/release/keepalived-rs}
    [[ -x $OURS ]] || die "OURS=$OURS is not executable (build it first: cargo build --release)"
    LC_T0=$(date -u +%Y-%m-%dT%H:%MZ)
    LC_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
    LC_BUSY0=no
    { pgrep -f "cargo (build|test|clippy|fuzz)" || pgrep -x rustc; } >/dev/null && LC_BUSY0=yes
    trap lc_cleanup EXIT
    trap 'exit 130' INT TERM
    WORK=$(mktemp -d "/tmp/ka-$FAULT.XXXXXX")
    chmod 0755 "$WORK"
    cp "$OURS" "$WORK/keepalived-rs" || die "cannot copy $OURS"
    OURS_SRC=$OURS
    OURS=$WORK/keepalived-rs
    OURS_REV="$(cd "$LC_ROOT" && git rev-parse --short HEAD 2>/dev/null)$(cd "$LC_ROOT" && git diff --quiet HEAD -- crates 2>/dev/null || echo '+uncommitted crates/')"
    OURS_DESC="$OURS_SRC (checkout $OURS_REV, binary of $(date -u -r "$OURS_SRC" +%Y-%m-%dT%H:%MZ))"
    KA_DESC="$("$KEEPALIVED" --version 2>&1 | head -1) ($KEEPALIVED)"
}

# poll SECONDS CMD...: run CMD every 20 ms until it succeeds; fails after SECONDS.
poll() {
    local end
    end=$((${EPOCHREALTIME/./} + ${1%.*} * 1000000))
    shift
    while ! "$@"; do
        ((${EPOCHREALTIME/./} > end)) && return 1
        sleep 0.02
    done
}
now_us() { echo "${EPOCHREALTIME/./}"; }

lc_mkns() {
    ip netns add "$1" || die "cannot create namespace $1"
    NSLIST+=("$1")
    ip -n "$1" link set lo up
}

lc_lan() {
    local br
    lc_mkns "$PFX-lan"
    for br in "${@:-br0}"; do
        ip -n "$PFX-lan" link add "$br" type bridge || die "bridge $br"
        ip -n "$PFX-lan" link set "$br" type bridge stp_state 0 forward_delay 0 mcast_snooping 0
        ip -n "$PFX-lan" link set "$br" up
    done
}

LC_PORT_N=0
lc_host() {
    local name=$1 ifn=$2 addr=$3 mac=$4 br=${5:-br0} ns=$PFX-$1 port
    ip netns list | grep -q "^$ns\b" || lc_mkns "$ns"
    LC_PORT_N=$((LC_PORT_N + 1))
    port=p$LC_PORT_N-$$
    ip link add "$port" netns "$PFX-lan" type veth peer name "$ifn" netns "$ns" || die "veth for $name"
    ip -n "$PFX-lan" link set "$port" master "$br" up
    ip -n "$ns" link set "$ifn" address "$mac"
    [[ -n $addr ]] && ip -n "$ns" addr add "$addr" dev "$ifn"
    ip -n "$ns" link set "$ifn" up
}

nsx() { local n=$1; shift; ip netns exec "$PFX-$n" "$@"; }

# lc_start NODE IMPL CONF [EXTRA ARGS...]. Ours: control socket $WORK/NODE.sock. keepalived:
# -P unless LC_KA_ALL=1, pid files in $WORK, TMPDIR=$WORK/NODE-tmp (its SIGUSR2 stats file
# goes there, not to the shared /tmp). `ip netns exec` execs: $! is the daemon (keepalived's
# parent).
lc_start() {
    local node=$1 impl=$2 conf=$3 tag
    shift 3
    LC_START_N=$((LC_START_N + 1))
    tag=$WORK/$node-$impl-$LC_START_N
    case $impl in
        ours)
            rm -f "$WORK/$node.sock"
            ip netns exec "$PFX-$node" "$OURS" -n -l -f "$conf" --control-socket "$WORK/$node.sock" \
                "$@" >"$tag.log" 2>&1 &
            ;;
        keepalived)
            mkdir -p "$WORK/$node-tmp"
            local only=-P
            [[ -n ${LC_KA_ALL:-} ]] && only=
            TMPDIR=$WORK/$node-tmp ip netns exec "$PFX-$node" "$KEEPALIVED" -n -l $only -f "$conf" \
                -p "$tag.pid" -r "$tag.vrrp.pid" -c "$tag.check.pid" "$@" >"$tag.log" 2>&1 &
            ;;
        *) die "unknown implementation $impl" ;;
    esac
    DPID[$node]=$!
    PIDLIST+=("$!")
    disown
    DIMPL[$node]=$impl
    DCONF[$node]=$conf
    DLOG[$node]=$tag.log
}

children() { cat /proc/"$1"/task/*/children 2>/dev/null; }
# every process of the daemon on NODE (keepalived: parent, children, grandchildren)
lc_procs() {
    local p=${DPID[$1]:-} c
    [[ -n $p ]] || return 0
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

# keepalived's VRRP child of NODE (bounded wait)
lc_vrrp_child() {
    local p=${DPID[$1]}
    poll 10 has_child "$p" || return 1
    # with -P the only child is the VRRP one; without, the pid file says
    local f=${DLOG[$1]%.log}.vrrp.pid
    if [[ -s $f ]]; then cat "$f"; else children "$p" | awk '{print $1; exit}'; fi
}

# lc_crash NODE: a crash. Ours: SIGKILL. keepalived: SIGSTOP to the parent (so that it does
# not respawn the child), SIGKILL to every child, SIGKILL to the parent (killing only the
# parent makes the VRRP child stop gracefully: PDEATHSIG).
lc_crash() {
    local node=$1 all p
    all=$(lc_procs "$node")
    if [[ ${DIMPL[$node]} == keepalived ]]; then
        kill -STOP "${DPID[$node]}" 2>/dev/null
        for p in $(children "${DPID[$node]}"); do kill -KILL "$p" 2>/dev/null; done
    fi
    kill -KILL "${DPID[$node]}" 2>/dev/null
    # shellcheck disable=SC2086
    poll 10 none_alive $all || say "$node: still running 10 s after SIGKILL"
}
lc_term() {
    local node=$1 all
    all=$(lc_procs "$node")
    [[ -n $all ]] || return 0
    kill -TERM "${DPID[$node]}" 2>/dev/null
    # shellcheck disable=SC2086
    poll 15 none_alive $all || {
        say "$node: still running 15 s after SIGTERM; SIGKILL"
        # shellcheck disable=SC2086
        kill -KILL $all 2>/dev/null
    }
}
lc_hup() { kill -HUP "${DPID[$1]}" 2>/dev/null; }

# lc_snapshot NODE: addresses (except the node's own and link-local), routes of every table
# (except the kernel's own), rules (except the default three), macvlan links, nftables tables.
# Interface indexes are left out (a recreated VMAC gets a new one).
lc_snapshot() {
    local ns=$PFX-$1
    ip -n "$ns" -o addr show 2>/dev/null | awk -v own="${OWN_ADDRS:-}" '
        { a = $4; if ($3 == "inet6" && a ~ /^fe80/) next; if (a ~ /^127\.|^::1/) next
          split(own, o, " "); for (i in o) if (o[i] == a) next
          sub(/@.*/, "", $2); print "addr " $2 " " a }'
    ip -n "$ns" -4 route show table all 2>/dev/null | awk '
        / proto kernel / || /^local / || /^broadcast / || /^multicast / { next }
        { print "route4 " $0 }'
    ip -n "$ns" -6 route show table all 2>/dev/null | awk '
        / proto kernel / || /^local / || /^multicast / || /^anycast / || /fe80::\/64/ || /^ff00::/ { next }
        { print "route6 " $0 }'
    ip -n "$ns" -4 rule show 2>/dev/null | awk '$0 !~ /^(0|32766|32767):/ { print "rule4 " $0 }'
    ip -n "$ns" -6 rule show 2>/dev/null | awk '$0 !~ /^(0|32766|32767):/ { print "rule6 " $0 }'
    ip -n "$ns" -o -d link show type macvlan 2>/dev/null | awk '{ n = $2; sub(/:$/, "", n); sub(/@.*/, "", n); print "macvlan " n }'
    ip netns exec "$ns" nft list tables 2>/dev/null | sed 's/^/nft /'
}

# lc_diff A B: lines of file A not in file B
lc_diff() { grep -vxF -f "$2" "$1" 2>/dev/null || true; }
lc_count() { [[ -s $1 ]] && wc -l <"$1" || echo 0; }

lc_metrics() {
    ip netns exec "$PFX-$1" "$OURS" ctl --socket "$WORK/$1.sock" metrics 2>/dev/null
}
# lc_metric NODE NAME [LABEL-REGEX]: the sum of the samples of NAME whose labels match
lc_metric() {
    lc_metrics "$1" | awk -v n="$2" -v l="${3:-}" '
        $1 ~ "^" n "({|$)" && (l == "" || $1 ~ l) { s += $NF } END { printf "%d\n", s }'
}
lc_ka_stats() {
    local f=$WORK/$1-tmp/keepalived.stats p
    rm -f "$f"
    p=${DPID[$1]}
    kill -USR2 "$p" 2>/dev/null
    poll 5 test -s "$f" || return 1
    sleep 0.2
    cat "$f"
}

lc_rss() {
    local p t=0 v
    for p in $(lc_procs "$1"); do
        v=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
lc_cpu_ticks() {
    local p t=0 v
    for p in $(lc_procs "$1"); do
        v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
LC_HZ=$(getconf CLK_TCK)

lc_header() { # lc_header TITLE COMMAND: the common head of a results file
    echo "# $1"
    echo
    echo "Command (as root, from the repository root): \`$2\`"
    echo
    echo "- run: ${LC_T0:-?} to $(date -u +%Y-%m-%dT%H:%MZ), $(uname -sr), $(nproc) CPU(s): $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
    echo "- keepalived-rs: $OURS_DESC"
    echo "- keepalived: $KA_DESC"
    echo "- box at the start: load average ${LC_LOAD0:-?}; a cargo/rustc process was running: ${LC_BUSY0:-?} (the box is shared; counts do not depend on it, times may)"
}

# lc_nginx NODE NAME: nginx answering "NAME\n" on port 80 (all addresses) in $PFX-NODE
lc_nginx() {
    local node=$1 name=$2 d=$WORK/nginx-$1
    mkdir -p "$d/tmp"
    cat >"$d/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
    uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
    server {
        listen 80 backlog=4096;
        location / { default_type text/plain; return 200 "$name\n"; }
    }
}
EOF
    ip netns exec "$PFX-$node" nginx -c "$d/nginx.conf" -e "$d/error.log" >"$d/out.log" 2>&1 &
    PIDLIST+=("$!")
    disown
}
