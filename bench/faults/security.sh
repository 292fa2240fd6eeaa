#!/usr/bin/env bash
# Quick security checks, keepalived-rs against keepalived 2.2.7 where the check applies.
#
#   sudo bench/faults/security.sh [-i IMPLS] [-o FILE]
#
#   -i IMPLS   "ours keepalived" (default both)
#   -o FILE    results (default bench/results/faults-security.md; "-" = none)
#
# Environment: OURS, KEEPALIVED, KEEP=1 (see lib-crash.sh).
#
# Topology (namespaces ksec<PID>-*): bridge br0; n1 192.0.2.11 priority 150 (MASTER), n2
# 192.0.2.12 priority 100, VRRPv2 advert_int 1, PASS auth (bench42), VRID 51, VIP
# 192.0.2.50; an attacker 192.0.2.66 (bench/faults/vrrp-forge.py, 100 adverts/s for 3 s,
# each claiming priority 254: a daemon that took one would give up mastership).
#
# Checks (PASS = the master stayed master / the thing was refused):
#   1 multicast, TTL 64 instead of 255                        n1 must stay master
#   2 multicast, wrong PASS password                           n1 must stay master
#   3 multicast, a valid advert (control: proves the forged
#     adverts would work if accepted)                          n1 is expected to give up
#   4 unicast config (unicast_src_ip + unicast_peer), adverts
#     to n1 from the non-peer 192.0.2.66, default settings     see below
#   5 the same with check_unicast_src                          n1 must stay master
#     (keepalived 2.2.7 checks the source of unicast adverts only with check_unicast_src /
#     vrrp_check_unicast_src; both results are recorded)
#   6 enable_script_security: a vrrp_script that is (a) world-writable, (b) owned by
#     `nobody`, (c) in a directory owned by `nobody`, and (d) safe (control): the script
#     touches a marker when run; PASS = (a)-(c) never run (and `-t` exit code recorded),
#     (d) runs
#   7 ours only: the control socket (default path, a daemon in a network namespace:
#     /run/keepalived-rs/control-net<inode>.sock): mode, and `runuser -u nobody` connecting
#     to it (must fail) while root can. keepalived has no control socket.
#   8 the SIGUSR2 stats dump: mode of the file each writes (keepalived: $TMPDIR/keepalived.stats,
#     ours: /tmp/keepalived.stats, written in a private mount of /tmp so the host's is untouched)
set -uo pipefail
FAULT=security
# shellcheck source=lib-crash.sh
source "$(dirname "$0")/lib-crash.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

IMPLS="ours keepalived"
OUT=$LC_ROOT/bench/results/faults-security.md
COMMAND="bench/faults/security.sh $*"
while getopts "i:o:h" o; do
    case $o in
        i) IMPLS=$OPTARG ;;
        o) OUT=$OPTARG ;;
        *) sed -n '2,35p' "$0"; exit 2 ;;
    esac
done
for i in $IMPLS; do [[ $i =~ ^(ours|keepalived)$ ]] || die "unknown implementation $i"; done
command -v runuser >/dev/null || die "missing runuser"
id nobody >/dev/null 2>&1 || die "no user nobody"

lc_setup ksec
T_BEGIN=$(date +%s)
lc_lan
lc_host n1 eth0 192.0.2.11/24 02:00:00:00:00:11
lc_host n2 eth0 192.0.2.12/24 02:00:00:00:00:12
lc_host atk eth0 192.0.2.66/24 02:00:00:00:00:66
sleep 0.3

# conf NODE MODE(mcast|ucast|ucast-check|script) [SCRIPT] -> path
conf() {
    local node=$1 mode=$2 script=${3:-} prio=100 state=BACKUP peer=192.0.2.11 self=192.0.2.12 f
    [[ $node == n1 ]] && prio=150 && state=MASTER && peer=192.0.2.12 && self=192.0.2.11
    f=$WORK/$node-$mode.conf
    {
        echo "global_defs {"
        echo "    router_id $node"
        if [[ $mode == script ]]; then
            echo "    enable_script_security"
            echo "    script_user root"
        fi
        echo "}"
        if [[ $mode == script ]]; then
            echo "vrrp_script chk {"
            echo "    script \"$script\""
            echo "    interval 1"
            echo "}"
        fi
        cat <<EOF
vrrp_instance VI_1 {
    state $state
    interface eth0
    virtual_router_id 51
    version 2
    priority $prio
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass bench42
    }
    virtual_ipaddress {
        192.0.2.50/24
    }
EOF
        if [[ $mode == ucast* ]]; then
            echo "    unicast_src_ip $self"
            echo "    unicast_peer {"
            echo "        $peer"
            echo "    }"
            [[ $mode == ucast-check ]] && echo "    check_unicast_src"
        fi
        if [[ $mode == script ]]; then
            echo "    track_script {"
            echo "        chk"
            echo "    }"
        fi
        echo "}"
    } >"$f"
    echo "$f"
}

holds() { ip -n "$PFX-$1" -o -4 addr show | grep -q " 192.0.2.50/"; }
n1_master() { holds n1 && ! holds n2; }
backups() { grep -c "Entering BACKUP STATE" "${DLOG[n1]}" 2>/dev/null || echo 0; }

ROWS=$WORK/rows.md
: >"$ROWS"
row() { # row CHECK IMPL RESULT DETAIL
    printf "| %s | %s | %s | %s |\n" "$1" "$2" "$3" "$4" >>"$ROWS"
    say "$1 / $2: $3 - $4"
}

# drop counters of ours on n1, as "reason +n" (empty for keepalived)
ours_drops() {
    [[ ${DIMPL[n1]} == ours ]] || return 0
    lc_metrics n1 | awk '/^keepalived_vrrp_(adverts_dropped|packets_dropped_unattributed)_total/ && $2 > 0 {
        match($1, /reason="[^"]*"/); printf "%s=%d ", substr($1, RSTART + 8, RLENGTH - 9), $2 }'
}
ka_errors() {
    [[ ${DIMPL[n1]} == keepalived ]] || return 0
    lc_ka_stats n1 | awk '/Errors:/ {s = $1} /: *[1-9][0-9]*$/ && s != "" {printf "%s/%s ", s, $0}' | tr -s ' '
}

# attack NAME IMPL MODE CLASS EXPECT(stay|yield|info) [forge options...]
attack() {
    local name=$1 impl=$2 mode=$3 cls=$4 expect=$5 b0 b1 r detail
    shift 5
    lc_start n1 "$impl" "$(conf n1 "$mode")"
    lc_start n2 "$impl" "$(conf n2 "$mode")"
    if ! poll 20 n1_master; then
        row "$name" "$impl" "ERROR" "n1 never became master"
        lc_term n1; lc_term n2
        return
    fi
    sleep 2
    b0=$(backups)
    nsx atk python3 "$HERE/vrrp-forge.py" send eth0 "$cls" 300 --gap 10 "$@" >/dev/null
    sleep 2 # our daemon publishes its counters at most once a second
    b1=$(backups)
    local stayed=yes
    { n1_master && ((b1 == b0)); } || stayed=no
    detail="n1 stayed master: $stayed; n1 'Entering BACKUP STATE' lines during the attack: $((b1 - b0))"
    if [[ $impl == ours ]]; then
        detail+="; ours drop counters: $(ours_drops)"
    else
        detail+="; keepalived stats errors: $(ka_errors)"
        local lg
        lg=$(tail -n 40 "${DLOG[n1]}" | grep -v "Entering\|Became\|received lower" | grep -i "ttl\|auth\|peer\|unicast\|invalid\|password\|source" | tail -1 | cut -c27-160)
        [[ -n $lg ]] && detail+="; log: $lg"
    fi
    if [[ $expect == stay ]]; then
        [[ $stayed == yes ]] && r=PASS || r=FAIL
    elif [[ $expect == info ]]; then
        [[ $stayed == yes ]] && r="ignored" || r="ACCEPTED: n1 gave up mastership"
    else
        [[ $stayed == no ]] && r="yielded (control OK)" || r="did not yield (control failed)"
    fi
    row "$name" "$impl" "$r" "$detail"
    lc_term n1
    lc_term n2
}

script_check() { # script_check NAME IMPL CASE(world|owner|dir|safe)
    local name=$1 impl=$2 case=$3 d s marker rc r ran refused
    d=$WORK/scripts-$impl-$case
    mkdir -p "$d"
    chmod 0755 "$d"
    s=$d/chk.sh
    marker=$WORK/marker-$impl-$case
    rm -f "$marker"
    printf '#!/bin/sh\ntouch %s\nexit 0\n' "$marker" >"$s"
    chmod 0755 "$s"
    case $case in
        world) chmod 0777 "$s" ;;
        owner) chown nobody "$s" ;;
        dir) chown nobody "$d" ;;
    esac
    local f
    f=$(conf n1 script "$s")
    cp "$f" "$WORK/n1-script-$impl-$case.conf"
    f=$WORK/n1-script-$impl-$case.conf
    if [[ $impl == ours ]]; then
        nsx n1 "$OURS" -t -f "$f" >"$WORK/t-$impl-$case.log" 2>&1
    else
        nsx n1 "$KEEPALIVED" -t -f "$f" >"$WORK/t-$impl-$case.log" 2>&1
    fi
    rc=$?
    lc_start n1 "$impl" "$f"
    sleep 4
    ran=no
    [[ -e $marker ]] && ran=yes
    refused=$(grep -i "unsafe\|insecure\|disabling" "${DLOG[n1]}" | grep -v "Command line\|Configuration file" | head -2 |
        sed 's/^.\{24,27\}Z\{0,1\} //; s|'"$WORK"'/||g' | cut -c1-160 | tr '\n' ' ')
    if [[ $case == safe ]]; then
        [[ $ran == yes ]] && r="runs (control OK)" || r="did not run (control failed)"
    else
        [[ $ran == no ]] && r=PASS || r=FAIL
    fi
    row "$name" "$impl" "$r" "script ran: $ran; \`-t\` exit $rc; log: ${refused:--}"
    lc_term n1
    rm -f "$marker"
}

control_socket() { # ours only
    local ino sock mode dmode rootok nobody
    conf n1 mcast >/dev/null
    # started without --control-socket: the default path
    ip netns exec "$PFX-n1" "$OURS" -n -l -f "$WORK/n1-mcast.conf" >"$WORK/n1-ctl.log" 2>&1 &
    DPID[n1]=$!
    PIDLIST+=("$!")
    disown
    ino=$(stat -L -c %i "/run/netns/$PFX-n1")
    sock=/run/keepalived-rs/control-net$ino.sock
    poll 10 test -S "$sock" || { row "7 control socket" ours ERROR "no socket at $sock"; kill -TERM "${DPID[n1]}"; return; }
    mode=$(stat -c '%A %U:%G' "$sock")
    dmode=$(stat -c '%A %U:%G' /run/keepalived-rs)
    if nsx n1 "$OURS" ctl status >/dev/null 2>&1; then rootok=yes; else rootok=no; fi
    nobody=$(runuser -u nobody -- python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); s.sendall(b"GET /status HTTP/1.0\r\n\r\n"); print("CONNECTED: " + s.recv(64).decode(errors="replace").split("\r\n")[0])
except OSError as e:
    print(type(e).__name__ + ": " + e.strerror)' "$sock" 2>&1)
    local nobody_ctl
    nobody_ctl=$(runuser -u nobody -- ip netns exec "$PFX-n1" "$OURS" ctl status 2>&1 | head -1 | cut -c1-120)
    [[ -z $nobody_ctl ]] && nobody_ctl="(no output)"
    local r=FAIL
    [[ $rootok == yes && $nobody != CONNECTED* ]] && r=PASS
    row "7 control socket" ours "$r" "socket $mode, dir $dmode; root ctl status: $rootok; nobody connect(): $nobody; nobody \`ctl status\`: $nobody_ctl"
    kill -TERM "${DPID[n1]}"
    poll 10 none_alive "${DPID[n1]}"
}
row_na() { row "$1" keepalived "n/a" "$2"; }

stats_file() { # stats_file IMPL
    local impl=$1 mode f
    if [[ $impl == keepalived ]]; then
        lc_start n1 keepalived "$(conf n1 mcast)"
        poll 20 holds n1
        lc_ka_stats n1 >/dev/null
        f=$WORK/n1-tmp/keepalived.stats
        mode=$(stat -c '%a %U' "$f" 2>/dev/null || echo "not written")
        lc_term n1
    else
        # our daemon writes /tmp/keepalived.stats: give it a private /tmp (a bind mount in the
        # mount namespace `ip netns exec` creates), reached through fds opened before the mount
        mkdir -p "$WORK/privtmp-$impl"
        chmod 1777 "$WORK/privtmp-$impl"
        ip netns exec "$PFX-n1" sh -c 'mount --bind "$1" /tmp && exec "$2" -n -l -f "$3" --control-socket "$4"' sh \
            "$WORK/privtmp-$impl" /run/ksec-$$-bin/keepalived-rs /run/ksec-$$-bin/ka.conf /run/ksec-$$-bin/ctl.sock \
            >"$WORK/n1-stats-ours.log" 2>&1 &
        DPID[n1]=$!
        PIDLIST+=("$!")
        disown
        poll 20 holds n1
        sleep 0.5
        kill -USR2 "${DPID[n1]}"
        f=$WORK/privtmp-$impl/keepalived.stats
        poll 5 test -e "$f"
        mode=$(stat -c '%a %U' "$f" 2>/dev/null || echo "not written")
        kill -TERM "${DPID[n1]}"
        poll 10 none_alive "${DPID[n1]}"
    fi
    local r=PASS
    [[ $mode =~ ^6[04]4 || $mode =~ ^[0-7][0-7][4-7] || $mode == "not written" ]] && r="readable by others"
    [[ $mode == "not written" ]] && r=ERROR
    row "8 SIGUSR2 stats file mode" "$impl" "$r" "$mode"
}

# the binary and config of the ours stats test live outside /tmp (hidden by the bind mount)
mkdir -p /run/ksec-$$-bin
chmod 0700 /run/ksec-$$-bin
trap 'rm -rf /run/ksec-$$-bin; lc_cleanup' EXIT
cp "$OURS" /run/ksec-$$-bin/keepalived-rs
cp "$(conf n1 mcast)" /run/ksec-$$-bin/ka.conf

for impl in $IMPLS; do
    say "== $impl"
    attack "1 multicast TTL 64" "$impl" mcast ttl stay
    attack "2 multicast wrong PASS" "$impl" mcast auth stay
    attack "3 multicast valid advert (control)" "$impl" mcast valid yield
    attack "4 unicast from a non-peer (default settings)" "$impl" ucast unicast info
    attack "5 unicast from a non-peer, check_unicast_src" "$impl" ucast-check unicast stay
    script_check "6a world-writable track script" "$impl" world
    script_check "6b track script owned by nobody" "$impl" owner
    script_check "6c track script in a dir owned by nobody" "$impl" dir
    script_check "6d safe track script (control)" "$impl" safe
    if [[ $impl == ours ]]; then control_socket; else row_na "7 control socket" "keepalived 2.2.7 has no control socket (DBus/SNMP are off unless configured)"; fi
    stats_file "$impl"
done
T_END=$(date +%s)

TABLE=$WORK/table.md
{
    echo "| check | implementation | result | detail |"
    echo "|---|---|---|---|"
    sort -t'|' -k2,2 -k3,3 -s "$ROWS"
} >"$TABLE"
echo
cat "$TABLE"

if [[ $OUT != - ]]; then
    mkdir -p "$(dirname "$OUT")"
    {
        lc_header "Security checks: keepalived-rs vs keepalived 2.2.7" "$COMMAND"
        echo "- wall time: $((T_END - T_BEGIN)) s"
        echo
        echo "Attacks: 300 forged adverts (priority 254, VRID 51) at 100/s from 192.0.2.66; n1 (150) must stay"
        echo "master. See the script's header for each check."
        echo
        cat "$TABLE"
    } >"$OUT"
    say "results written to $OUT"
fi
