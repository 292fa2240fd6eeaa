#!/usr/bin/env bash
# Hostile LAN: a third host floods the VRRP group 224.0.0.18 with forged and malformed
# adverts; keepalived-rs against keepalived 2.2.7.
#
#   sudo bench/faults/hostile-flood.sh [-d SECONDS] [-D MIXED_SECONDS] [-c CLASSES] [-i IMPLS] [-R PPS] [-o FILE]
#
#   -d SECONDS   flood time per class (default 10, at most 20)
#   -D SECONDS   flood time of the "mixed" class (default 20, at most 20)
#   -c CLASSES   from: ttl vrid checksum auth truncated oversized version unicast mixed
#                (default: all; see bench/faults/vrrp-forge.py for each). Every forged advert
#                is otherwise valid for VRID 51 and carries priority 254 (> the master's 150):
#                a daemon that took one would give up mastership.
#   -i IMPLS     "ours keepalived" (default both)
#   -R PPS       rate limit of the flooder (default 0: as fast as one python3 process sends)
#   -o FILE      results (default bench/results/faults-hostile-flood.md; "-" = none)
#
# Environment: OURS, KEEPALIVED, KEEP=1 (see lib-crash.sh).
#
# Topology (namespaces kfl<PID>-*): bridge br0; n1 192.0.2.11 priority 150 (MASTER), n2
# 192.0.2.12 priority 100, both VRRPv2, advert_int 1, auth_type PASS (bench42), VRID 51, VIP
# 192.0.2.50; the attacker 192.0.2.66 sends Ethernet frames (AF_PACKET) to the group's MAC
# (and, class unicast, to n1's MAC and address).
#
# Counted per class, for n1 (master) and n2 (backup), from before the flood to 2.5 s after it:
#   sent          frames the flooder sent (its own count)
#   socket drops  the kernel's drop counter of the daemon's raw IPPROTO 112 sockets
#                 (/proc/net/raw, last column): on the socket it reads, packets it never got
#                 to read; on a socket it never reads (a full receive buffer after the flood),
#                 copies the kernel queued for nothing
#   uncounted     sent to the node - drops on the read socket - counted as dropped: packets
#                 the daemon read but no counter shows (0 = every packet accounted for); "sent
#                 to the node" leaves the unicast class's frames (addressed to n1) out for n2
#   ours          every `keepalived_vrrp_adverts_dropped_total{reason}` and
#                 `keepalived_vrrp_packets_dropped_unattributed_total{reason}` (no instance:
#                 unknown VRID, unparseable) that moved, and the keepalived-style
#                 `keepalived_*_total` counters that moved (ctl metrics)
#   keepalived    the counters of its SIGUSR2 stats file that moved (file written under a
#                 private TMPDIR), and the number of log lines it wrote
#   state         n1 holds the VIP and n2 does not after the class, and no "Entering ... STATE"
#                 line was logged during it
#   CPU           utime+stime of the daemon's processes over the flood, as % of one core
# Class unicast is addressed to n1 only (n2's rows show what reached n2: nothing, the bridge
# has learnt n1's MAC).
set -uo pipefail
FAULT=hostile-flood
# shellcheck source=lib-crash.sh
source "$(dirname "$0")/lib-crash.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

SECS=10
MIXSECS=20
CLASSES="ttl vrid checksum auth truncated oversized version unicast mixed"
IMPLS="ours keepalived"
RATE=0
OUT=$LC_ROOT/bench/results/faults-hostile-flood.md
COMMAND="bench/faults/hostile-flood.sh $*"
while getopts "d:D:c:i:R:o:h" o; do
    case $o in
        d) SECS=$OPTARG ;;
        D) MIXSECS=$OPTARG ;;
        c) CLASSES=$OPTARG ;;
        i) IMPLS=$OPTARG ;;
        R) RATE=$OPTARG ;;
        o) OUT=$OPTARG ;;
        *) sed -n '2,42p' "$0"; exit 2 ;;
    esac
done
[[ $SECS =~ ^[0-9]+$ ]] && ((SECS >= 1 && SECS <= 20)) || die "-d: 1..20"
[[ $MIXSECS =~ ^[0-9]+$ ]] && ((MIXSECS >= 1 && MIXSECS <= 20)) || die "-D: 1..20"
for c in $CLASSES; do [[ $c =~ ^(ttl|vrid|checksum|auth|truncated|oversized|version|unicast|mixed)$ ]] || die "unknown class $c"; done
for i in $IMPLS; do [[ $i =~ ^(ours|keepalived)$ ]] || die "unknown implementation $i"; done
[[ $RATE =~ ^[0-9]+$ ]] || die "-R: packets per second"

lc_setup kfl
T_BEGIN=$(date +%s)
lc_lan
lc_host n1 eth0 192.0.2.11/24 02:00:00:00:00:11
lc_host n2 eth0 192.0.2.12/24 02:00:00:00:00:12
lc_host atk eth0 192.0.2.66/24 02:00:00:00:00:66
sleep 0.3

conf() {
    local node=$1 prio=100 state=BACKUP f=$WORK/$1.conf
    [[ $node == n1 ]] && prio=150 && state=MASTER
    cat >"$f" <<EOF
global_defs {
    router_id $node
}
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
}
EOF
    echo "$f"
}

holds() { ip -n "$PFX-$1" -o -4 addr show | grep -q " 192.0.2.50/"; }
state_ok() { holds n1 && ! holds n2; }
transitions() { grep -c "Entering [A-Z]* STATE" "${DLOG[$1]}" 2>/dev/null || echo 0; }
# the raw sockets for protocol 112 (hex 0070) in NODE's namespace: "inode:drops:rx_queue ..."
sock_list() {
    nsx "$1" cat /proc/net/raw | awk '
        function hex(s,   i, v) { v = 0; s = tolower(s); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
        $2 ~ /:0070$/ { split($5, q, ":"); printf "%s:%d:%d ", $10, $NF, hex(q[2]) }'
}
# sock_drops BEFORE AFTER: "read_drops unread_drops nsock": drops between the two lists, split
# between sockets the daemon reads (rx_queue small after the flood: < 64 KiB) and sockets it
# never reads (still holding a full receive buffer: every VRRP packet arriving on the device is
# also queued there until the buffer is full, then counted as a drop)
sock_drops() {
    awk -v b="$1" -v a="$2" 'BEGIN {
        n = split(b, x, " "); for (i = 1; i <= n; i++) { split(x[i], f, ":"); d0[f[1]] = f[2] }
        n = split(a, x, " ")
        for (i = 1; i <= n; i++) {
            split(x[i], f, ":"); d = f[2] - d0[f[1]]
            if (f[3] < 65536) r += d; else u += d
        }
        printf "%d %d %d\n", r, u, n
    }'
}
# counters NODE FILE: one "name value" per line, for the implementation running on NODE
counters() {
    local node=$1 f=$2
    if [[ ${DIMPL[$node]} == ours ]]; then
        lc_metrics "$node" | awk '!/^#/ && ($1 ~ /_total(\{|$)/) { print $1, $2 }' >"$f"
    else
        lc_ka_stats "$node" | python3 -c '
import re, sys
path = []
for line in sys.stdin:
    if not line.strip():
        continue
    ind = len(line) - len(line.lstrip())
    text = line.strip()
    m = re.match(r"^(.*?):\s*(-?\d+)$", text)
    while path and path[-1][0] >= ind:
        path.pop()
    if m:
        print("/".join([p[1] for p in path] + [m.group(1)]).replace(" ", "_"), m.group(2))
    elif text.endswith(":") or text.startswith("VRRP Instance"):
        path.append((ind, text.rstrip(":")))
' >"$f"
    fi
}
# moved BEFORE AFTER: "name +delta" of the counters that changed (adverts/GARPs we send left out)
moved() {
    awk 'FNR == NR { b[$1] = $2; next }
         { d = $2 - b[$1]; if (d != 0 && $1 !~ /sent|garp|Sent|gratuitous|na_sent/) printf "%s +%d\n", $1, d }' "$1" "$2"
}

declare -A sd0=() cpu0=() tr0=() log0=()
ROWS=$WORK/rows.md
: >"$ROWS"
DET=$WORK/detail.md
: >"$DET"
WARN=$WORK/warnings.txt
: >"$WARN"

for impl in $IMPLS; do
    say "== $impl"
    lc_start n1 "$impl" "$(conf n1)"
    lc_start n2 "$impl" "$(conf n2)"
    poll 20 holds n1 || die "$impl: n1 never took the VIP"
    sleep 3
    state_ok || echo "$impl: state not as expected before the flood" >>"$WARN"
    for cls in $CLASSES; do
        secs=$SECS
        [[ $cls == mixed ]] && secs=$MIXSECS
        for n in n1 n2; do
            counters "$n" "$WORK/$n-before"
            sd0[$n]=$(sock_list "$n")
            cpu0[$n]=$(lc_cpu_ticks "$n")
            tr0[$n]=$(transitions "$n")
            log0[$n]=$(wc -l <"${DLOG[$n]}")
        done
        t0=$(now_us)
        fl=$(nsx atk python3 "$HERE/vrrp-forge.py" flood eth0 "$cls" "$secs" --rate "$RATE")
        t1=$(now_us)
        # our daemon publishes its counters at most once a second, on its next event: wait
        # for a publication after the flood (a backup gets the master's advert every second)
        sleep 2.5
        ok=yes
        state_ok || ok=NO
        sent=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sent"])' "$fl")
        pps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pps"])' "$fl")
        # frames of class unicast go to n1's MAC: n2 never receives them
        uni=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["per_class"].get("unicast", 0))' "$fl")
        for n in n1 n2; do
            counters "$n" "$WORK/$n-after"
            read -r sd unread nsock <<<"$(sock_drops "${sd0[$n]}" "$(sock_list "$n")")"
            cpu=$(awk -v a="${cpu0[$n]}" -v b="$(lc_cpu_ticks "$n")" -v hz="$LC_HZ" -v us=$((t1 - t0)) \
                'BEGIN { printf "%.1f", (b - a) / hz / (us / 1e6) * 100 }')
            tr=$(($(transitions "$n") - tr0[$n]))
            logl=$(($(wc -l <"${DLOG[$n]}") - log0[$n]))
            mv=$(moved "$WORK/$n-before" "$WORK/$n-after")
            if [[ $impl == ours ]]; then
                # per instance by reason, and (unknown VRID, unparseable) not attributed to one
                dropped=$(awk '/^keepalived_vrrp_(adverts_dropped|packets_dropped_unattributed)_total/ { s += substr($2, 2) } END { printf "%d", s }' <<<"$mv")
                reasons=$(awk '/^keepalived_vrrp_(adverts_dropped|packets_dropped_unattributed)_total/ {
                        match($1, /reason="[^"]*"/); r = substr($1, RSTART + 8, RLENGTH - 9)
                        if ($1 ~ /unattributed/) r = "unattributed:" r
                        printf "%s%s %s", sep, r, $2; sep = ", " }' <<<"$mv")
                others=$(awk '!/^keepalived_vrrp_(adverts_dropped|packets_dropped_unattributed)_total/ { n = $1; sub(/\{.*/, "", n); printf "%s%s %s", sep, n, $2; sep = ", " }' <<<"$mv")
            else
                dropped=$(awk '/Errors|Packet_Errors/ { s += substr($2, 2) } END { printf "%d", s }' <<<"$mv")
                reasons=$(awk '/Errors/ { n = $1; sub(/^VRRP_Instance[^\/]*\//, "", n); printf "%s%s %s", sep, n, $2; sep = ", " }' <<<"$mv")
                others=$(awk '!/Errors/ { n = $1; sub(/^VRRP_Instance[^\/]*\//, "", n); printf "%s%s %s", sep, n, $2; sep = ", " }' <<<"$mv")
            fi
            # what the daemon could have read: sent minus what its sockets dropped (per socket;
            # with several sockets the count is the sum of their drops)
            reach=$sent
            [[ $n == n2 ]] && reach=$((sent - uni))
            local_unc=$((reach - sd - dropped))
            printf "| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" \
                "$impl" "$cls" "$n" "$reach" "$pps" "$sd" "$unread" "$dropped" "$local_unc" "${reasons:--}" "${others:--}" \
                "$cpu" "$ok" "$tr" "$logl" >>"$ROWS"
            say "$impl $cls $n: sent $sent ($pps/s), socket drops $sd (+$unread on never-read sockets, $nsock sockets), counted as dropped $dropped [${reasons:--}] other [${others:--}], cpu $cpu%, state $ok, transitions $tr, log lines $logl"
            ((tr)) && echo "$impl $cls $n: $tr transition line(s): $(grep "Entering [A-Z]* STATE" "${DLOG[$n]}" | tail -n "$tr" | tr '\n' ';')" >>"$WARN"
        done
        [[ $ok == NO ]] && { echo "$impl $cls: n1 lost the VIP or n2 took it" >>"$WARN"; }
        # back to the expected state before the next class (bounded)
        poll 15 state_ok || { echo "$impl $cls: did not return to n1 master within 15 s" >>"$WARN"; }
        sleep 1
    done
    {
        echo "$impl log excerpt (n1, last 15 lines):"
        echo
        echo '```'
        tail -15 "${DLOG[n1]}" | cut -c1-300
        echo '```'
        echo
    } >>"$DET"
    lc_term n1
    lc_term n2
done
T_END=$(date +%s)

TABLE=$WORK/table.md
{
    echo "| implementation | class | node | sent to the node | pps | drops on the read socket | drops on never-read sockets | counted as dropped | sent − read-socket drops − counted | by reason | other counters that moved | CPU % of a core | n1 master, n2 backup after | transitions | log lines written |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---:|---|---:|---:|"
    cat "$ROWS"
} >"$TABLE"
echo
cat "$TABLE"
[[ -s $WARN ]] && { echo; echo "warnings:"; sed 's/^/  /' "$WARN"; }

if [[ $OUT != - ]]; then
    mkdir -p "$(dirname "$OUT")"
    {
        lc_header "Hostile flood of forged VRRP adverts: keepalived-rs vs keepalived 2.2.7" "$COMMAND"
        echo "- wall time: $((T_END - T_BEGIN)) s"
        echo
        echo "One python3 flooder (AF_PACKET) on the LAN, $SECS s per class, $MIXSECS s mixed, rate ${RATE:-0} (0 = as fast as"
        echo "it goes); every forged advert has priority 254 for VRID 51. n1 master (150), n2 backup (100),"
        echo "VRRPv2, advert_int 1, PASS auth. \"counted as dropped\": ours = sum of"
        echo "keepalived_vrrp_adverts_dropped_total over reasons; keepalived = sum of its stats file's"
        echo "error counters (Packet Errors + Authentication Errors). \"sent − read-socket drops − counted\" is"
        echo "(sent = sent to that node: the unicast frames go to n1 only)"
        echo "what the daemon read but did not count anywhere (0 = every packet accounted for)."
        echo
        cat "$TABLE"
        if [[ -s $WARN ]]; then
            echo
            echo "Warnings:"
            echo
            sed 's/^/- /' "$WARN"
        fi
        echo
        cat "$DET"
    } >"$OUT"
    say "results written to $OUT"
fi
