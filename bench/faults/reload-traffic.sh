#!/usr/bin/env bash
# Reload storm under traffic: 1,000 SIGHUPs to the master while a client sends HTTP requests
# through the VIP; keepalived-rs against keepalived 2.2.7.
#
#   sudo bench/faults/reload-traffic.sh [-n HUPS] [-p MS] [-m MODES] [-v VARIANTS] [-a ADVERT] [-o FILE]
#
#   -n HUPS      SIGHUPs per run (default 1000, at most 5000)
#   -p MS        one SIGHUP every MS milliseconds (default 30; 10..1000)
#   -m MODES     space-separated, from (default all three):
#                ours-lb    keepalived-rs with a NAT virtual_server on `--dataplane nftables`:
#                           the client's requests go through the VIP to nginx on rs1/rs2
#                ours-vrrp  keepalived-rs, VRRP only: nginx on each director answers on the VIP
#                keepalived keepalived 2.2.7, VRRP only, same as ours-vrrp (it has no nftables
#                           load balancer and this kernel has no IPVS)
#   -v VARIANTS  same    SIGHUP with an unchanged file
#                toggle  before each SIGHUP the file alternates between two versions: a third
#                        VIP (192.0.2.60) comes and goes, and (ours-lb) rs2's weight 1 <-> 2,
#                        so every reload changes addresses (and the data plane)
#                (default "same toggle")
#   -a ADVERT    advert_int (default 0.1, VRRPv3: a reload that stalls the VRRP loop for more
#                than 3 x 0.1 s + skew shows up as a takeover by the backup)
#   -o FILE      results (default bench/results/faults-reload-traffic.md; "-" = none)
#
# Environment: OURS, KEEPALIVED, KEEP=1 (see lib-crash.sh).
#
# Topology (namespaces krt<PID>-*, deleted on exit): front bridge br0 192.0.2.0/24 with the
# client .100, n1 .11 (priority 150, MASTER), n2 .12 (priority 100); back bridge br1
# 198.51.100.0/24 with n1 .11, n2 .12, rs1 .21, rs2 .22 (default route via the back VIP
# 198.51.100.254). Sync group of VI_1 (eth0, VIP 192.0.2.50) and VI_2 (eth1, VIP
# 198.51.100.254). nginx (nginx-light) answers its node's name on rs1, rs2, n1 and n2.
#
# Counted per run (bench/faults/hup-loop.py sends the SIGHUPs; bench/faults/http-probe.py is
# the client: a new connection and GET every 10 ms, 1 s timeout, from before the first
# SIGHUP to 2 s after the last):
#   failed requests, the longest outage, which node/real server answered;
#   transitions: "Entering ... STATE" lines logged by n1 and n2 during the run (ours also
#     keepalived_vrrp_transitions_total), whether n1 still holds both VIPs at the end, and
#     every deletion/addition of the two VIPs on n1 during the run (`ip monitor address`);
#   reloads done: ours keepalived_config_reloads_total{result}; keepalived "Reload complete";
#   VmRSS (kB) of every process of the master's daemon, at 0 and every 100 SIGHUPs: flat = no
#   leak; its CPU time (utime+stime) over the run.
set -uo pipefail
FAULT=reload-traffic
# shellcheck source=lib-crash.sh
source "$(dirname "$0")/lib-crash.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

HUPS=1000
PACE=30
MODES="ours-lb ours-vrrp keepalived"
VARIANTS="same toggle"
ADVERT=0.1
OUT=$LC_ROOT/bench/results/faults-reload-traffic.md
COMMAND="bench/faults/reload-traffic.sh $*"
while getopts "n:p:m:v:a:o:h" o; do
    case $o in
        n) HUPS=$OPTARG ;;
        p) PACE=$OPTARG ;;
        m) MODES=$OPTARG ;;
        v) VARIANTS=$OPTARG ;;
        a) ADVERT=$OPTARG ;;
        o) OUT=$OPTARG ;;
        *) sed -n '2,41p' "$0"; exit 2 ;;
    esac
done
[[ $HUPS =~ ^[0-9]+$ ]] && ((HUPS >= 1 && HUPS <= 5000)) || die "-n: 1..5000"
[[ $PACE =~ ^[0-9]+$ ]] && ((PACE >= 10 && PACE <= 1000)) || die "-p: 10..1000"
for m in $MODES; do [[ $m =~ ^(ours-lb|ours-vrrp|keepalived)$ ]] || die "unknown mode $m"; done
for v in $VARIANTS; do [[ $v =~ ^(same|toggle)$ ]] || die "unknown variant $v"; done
[[ $ADVERT =~ ^[0-9.]+$ ]] || die "-a: a number"
command -v nginx >/dev/null || die "missing nginx (apt-get install nginx-light)"

lc_setup krt
T_BEGIN=$(date +%s)
lc_lan br0 br1
lc_host client eth0 192.0.2.100/24 02:00:00:00:01:00
lc_host n1 eth0 192.0.2.11/24 02:00:00:00:00:11
lc_host n1 eth1 198.51.100.11/24 02:00:00:00:10:11 br1
lc_host n2 eth0 192.0.2.12/24 02:00:00:00:00:12
lc_host n2 eth1 198.51.100.12/24 02:00:00:00:10:12 br1
lc_host rs1 eth0 198.51.100.21/24 02:00:00:00:10:21 br1
lc_host rs2 eth0 198.51.100.22/24 02:00:00:00:10:22 br1
for n in n1 n2; do nsx "$n" sysctl -qw net.ipv4.ip_forward=1; done
for n in rs1 rs2; do ip -n "$PFX-$n" route add default via 198.51.100.254; done
for n in rs1 rs2 n1 n2; do lc_nginx "$n" "$n"; done
sleep 0.5

# conf NODE MODE VERSION(0|1) -> path
conf() {
    local node=$1 mode=$2 alt=$3 prio=100 state=BACKUP f w=1 ver=3
    [[ $node == n1 ]] && prio=150 && state=MASTER
    ((alt)) && w=2
    f=$WORK/$node-$mode-$alt.conf
    {
        cat <<EOF
global_defs {
    router_id $node
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
}
vrrp_instance VI_1 {
    state $state
    interface eth0
    virtual_router_id 51
    version $ver
    priority $prio
    advert_int $ADVERT
    virtual_ipaddress {
        192.0.2.50/24
EOF
        ((alt)) && echo "        192.0.2.60/24"
        cat <<EOF
    }
}
vrrp_instance VI_2 {
    state $state
    interface eth1
    virtual_router_id 52
    version $ver
    priority $prio
    advert_int $ADVERT
    virtual_ipaddress {
        198.51.100.254/24
    }
}
EOF
        if [[ $mode == ours-lb ]]; then
            cat <<EOF
virtual_server 192.0.2.50 80 {
    delay_loop 2
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.21 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.51.100.22 80 {
        weight $w
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
EOF
        fi
    } >"$f"
    echo "$f"
}

n1_holds() {
    ip -n "$PFX-n1" -o -4 addr show | grep -q " 192.0.2.50/" &&
        ip -n "$PFX-n1" -o -4 addr show | grep -q " 198.51.100.254/"
}
client_ok() {
    nsx client python3 "$HERE/http-probe.py" 192.0.2.50 80 0.3 100 500 2>/dev/null |
        python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["ok"] > 0 else 1)'
}
transitions() { grep -c "Entering [A-Z]* STATE" "$1" 2>/dev/null || echo 0; }

ROWS=$WORK/rows.md
: >"$ROWS"
RSSROWS=$WORK/rss.md
: >"$RSSROWS"
WARN=$WORK/warnings.txt
: >"$WARN"

run() { # run MODE VARIANT
    local mode=$1 variant=$2 impl=ours extra=() live t1a t2a c1 c2 samples probe secs json
    [[ $mode == keepalived ]] && impl=keepalived
    [[ $mode == ours-lb ]] && extra=(--dataplane nftables)
    # the file the daemon reads; hup-loop.py swaps its content in the toggle variant
    live=$WORK/n1-live.conf
    cp "$(conf n1 "$mode" 0)" "$live"
    conf n1 "$mode" 1 >/dev/null
    lc_start n1 "$impl" "$live" "${extra[@]}"
    lc_start n2 "$impl" "$(conf n2 "$mode" 0)" "${extra[@]}"
    if ! poll 20 n1_holds; then
        echo "$mode $variant: n1 never took both VIPs" >>"$WARN"
        lc_term n1; lc_term n2
        return
    fi
    sleep 3 # checkers ran, n2 settled
    poll 10 client_ok || echo "$mode $variant: no answer through the VIP before the run" >>"$WARN"
    t1a=$(transitions "${DLOG[n1]}")
    t2a=$(transitions "${DLOG[n2]}")
    local m0=0 r0=0
    if [[ $impl == ours ]]; then
        m0=$(lc_metric n1 keepalived_vrrp_transitions_total)
        r0=$(lc_metric n1 keepalived_config_reloads_total)
    fi
    local k0
    k0=$(grep -c "Reload complete" "${DLOG[n1]}")
    secs=$(awk -v n="$HUPS" -v p="$PACE" 'BEGIN { printf "%.1f", n * p / 1000 + 3 }')
    probe=$WORK/probe-$mode-$variant.json
    nsx client python3 "$HERE/http-probe.py" 192.0.2.50 80 "$secs" 10 1000 >"$probe" 2>&1 &
    local ppid=$!
    PIDLIST+=("$ppid")
    sleep 1
    # every address change on n1 during the run (a VIP deleted and re-added by a reload shows
    # here even when no request happens to fail)
    local mon=$WORK/addr-$mode-$variant.log
    ip -n "$PFX-n1" monitor address >"$mon" 2>&1 &
    local mpid=$!
    PIDLIST+=("$mpid")
    samples=$WORK/rss-$mode-$variant.tsv
    if [[ $variant == toggle ]]; then
        python3 "$HERE/hup-loop.py" "${DPID[n1]}" "$HUPS" "$PACE" 100 \
            "$WORK/n1-$mode-1.conf" "$WORK/n1-$mode-0.conf" "$live" >"$samples"
    else
        python3 "$HERE/hup-loop.py" "${DPID[n1]}" "$HUPS" "$PACE" 100 >"$samples"
    fi
    wait "$ppid"
    sleep 1 # the last reloads finish
    local held=no alive=no
    n1_holds && held=yes
    kill "$mpid" 2>/dev/null
    wait "$mpid" 2>/dev/null
    local vdel vadd
    vdel=$(grep -c "^Deleted.* \(192\.0\.2\.50\|198\.51\.100\.254\)/" "$mon")
    vadd=$(grep -v "^Deleted" "$mon" | grep -c " \(192\.0\.2\.50\|198\.51\.100\.254\)/")
    alive "${DPID[n1]}" && alive=yes
    c1=$(($(transitions "${DLOG[n1]}") - t1a))
    c2=$(($(transitions "${DLOG[n2]}") - t2a))
    local mt=- reloads
    if [[ $impl == ours ]]; then
        mt=$(($(lc_metric n1 keepalived_vrrp_transitions_total) - m0))
        reloads="$(($(lc_metric n1 keepalived_config_reloads_total) - r0)) ($(lc_metrics n1 | awk '/^keepalived_config_reloads_total\{/ {printf "%s%s", sep, $0; sep=", "}' | sed 's/keepalived_config_reloads_total//g'))"
    else
        reloads="$(($(grep -c "Reload complete" "${DLOG[n1]}") - k0)) \"Reload complete\" lines"
    fi
    local sent
    sent=$(tail -1 "$samples" | cut -f1)
    json=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ans = " ".join(f"{k}:{v}" for k, v in sorted(d["answers"].items()))
rs = " ".join(f"{k}:{v}" for k, v in sorted(d["failure_reasons"].items())) or "-"
print("|".join(str(x) for x in (d["requests"], d["failed"], d["longest_outage_s"], ans, rs)))' "$probe" 2>/dev/null || echo "?|?|?|?|?")
    local req failed outage answers reasons
    IFS='|' read -r req failed outage answers reasons <<<"$json"
    # RSS: first sample, after 100, last; CPU over the run
    local rss0 rss100 rssN growth cpu dur
    rss0=$(awk -F'\t' 'NR == 1 {print $3}' "$samples")
    rss100=$(awk -F'\t' 'NR == 2 {print $3}' "$samples")
    rssN=$(awk -F'\t' 'END {print $3}' "$samples")
    growth=$((rssN - rss100))
    cpu=$(awk -F'\t' -v hz="$LC_HZ" 'NR == 1 {a = $5} END {printf "%.2f", ($5 - a) / hz}' "$samples")
    dur=$(awk -F'\t' 'END {print $2}' "$samples")
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s | %s | %s | n1 %s, n2 %s (metric: %s) | %s / %s | %s | %s |\n" \
        "$mode" "$variant" "$sent" "$dur" "$reloads" "$req" "$failed" "$outage" \
        "$rss0" "$rss100" "$rssN" "$growth" "$cpu" "$answers" "$c1" "$c2" "$mt" "$vdel" "$vadd" "$held" "$alive" >>"$ROWS"
    ((vdel)) && echo "$mode $variant: VIP deletions on n1 during the run (ip monitor): $(grep "^Deleted" "$mon" | grep " \(192\.0\.2\.50\|198\.51\.100\.254\)/" | head -3 | tr -s ' ' | tr '\n' ';')" >>"$WARN"
    {
        echo "$mode / $variant:"
        echo
        echo '```'
        printf "hups\tseconds\tVmRSS_kB\tprocesses(name:pid:kB)\tcpu_ticks\n"
        cat "$samples"
        echo '```'
        echo
    } >>"$RSSROWS"
    [[ $failed != 0 ]] && [[ $failed != "?" ]] && echo "$mode $variant: failures (s since client start, reason): $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failures"][:30])' "$probe")" >>"$WARN"
    ((c1 + c2)) && echo "$mode $variant: n1 log: $(grep "Entering [A-Z]* STATE" "${DLOG[n1]}" | tail -n +$((t1a + 1)) | head -5 | tr '\n' ';') n2 log: $(grep "Entering [A-Z]* STATE" "${DLOG[n2]}" | tail -n +$((t2a + 1)) | head -5 | tr '\n' ';')" >>"$WARN"
    say "$mode $variant: sent $sent SIGHUPs in $dur s, reloads $reloads; requests $req, failed $failed (longest outage $outage s); transitions n1 $c1 n2 $c2; RSS $rss0 -> $rss100 -> $rssN kB; cpu $cpu s"
    lc_term n1
    lc_term n2
}

for variant in $VARIANTS; do
    for mode in $MODES; do
        say "== $mode, $variant: $HUPS SIGHUPs every $PACE ms"
        run "$mode" "$variant"
    done
done
T_END=$(date +%s)

TABLE=$WORK/table.md
{
    echo "| mode | file | SIGHUPs sent | loop s | reloads done | requests | failed | longest outage s | VmRSS kB: start / after 100 / end | growth after the first 100 kB | CPU s (utime+stime) | answered by | transitions logged | VIP 192.0.2.50/198.51.100.254 deleted / added on n1 (ip monitor) | n1 holds both VIPs at end | daemon alive |"
    echo "|---|---|---:|---:|---|---:|---:|---:|---|---:|---:|---|---|---|---|---|"
    cat "$ROWS"
} >"$TABLE"
echo
cat "$TABLE"
[[ -s $WARN ]] && { echo; echo "warnings:"; sed 's/^/  /' "$WARN"; }

if [[ $OUT != - ]]; then
    mkdir -p "$(dirname "$OUT")"
    {
        lc_header "Reload storm under traffic: keepalived-rs vs keepalived 2.2.7" "$COMMAND"
        echo "- wall time: $((T_END - T_BEGIN)) s"
        echo
        echo "$HUPS SIGHUPs, one every $PACE ms, to the master n1 (priority 150; n2 priority 100 is the"
        echo "backup), VRRPv3 advert_int $ADVERT, sync group of two instances. Client: one new connection"
        echo "and GET / every 10 ms through the VIP 192.0.2.50 (1 s timeout). ours-lb: NAT virtual server on"
        echo "nftables to nginx on rs1/rs2; ours-vrrp and keepalived: nginx on each director. \"toggle\": the"
        echo "file alternates before each SIGHUP (VIP 192.0.2.60 added/removed; ours-lb also rs2 weight 1/2)."
        echo "VmRSS is the sum over every process of the master's daemon (keepalived: parent + VRRP child;"
        echo "ours: one process), sampled every 100 SIGHUPs."
        echo
        cat "$TABLE"
        if [[ -s $WARN ]]; then
            echo
            echo "Warnings:"
            echo
            sed 's/^/- /' "$WARN"
        fi
        echo
        echo "RSS samples:"
        echo
        cat "$RSSROWS"
    } >"$OUT"
    say "results written to $OUT"
fi
