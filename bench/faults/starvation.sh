#!/usr/bin/env bash
# CPU starvation: keepalived-rs against keepalived 2.2.7 at a 10 ms advert interval while every
# core is busy; same load, same run.
#
#   sudo bench/faults/starvation.sh [-d SECONDS] [-b LOOPS] [-L LOAD] [-V SERVERS] [-C SECONDS] [-S STALLS] [-s SETTING] [-m MODES] [-q] [-o FILE]
#
#   -d SECONDS   length of the loaded window (default 60)
#   -b LOOPS     busy loops (`timeout ... sh -c 'while :; do :; done'`, nice 0) during the
#                loaded window (default 2 x the number of CPUs)
#   -L LOAD      what each loop runs: spin (`while :; do :; done`, default: a steady CPU hog,
#                which the scheduler's fair share bounds) or fork (`while :; do /bin/true;
#                done`: a process started and ended every few hundred µs per loop, as under
#                scripts, cron jobs or a build, each new task preempting on arrival)
#   -V SERVERS   keepalived-rs's nodes also run a virtual_server with SERVERS real servers, each
#                with a TCP_CHECK every second (127.0.0.1, closed ports: refused at once), so
#                that its checker and data-plane threads write the shared status while the
#                VRRP thread publishes it; keepalived 2.2.7 cannot run a virtual_server on a
#                kernel without IPVS, so its nodes stay VRRP only (default 0: none)
#   -C SECONDS   control window without load, just before (default 15)
#   -S STALLS    after the loaded window, STALLS times: the backup's VRRP process (ours: the
#                daemon; keepalived: its VRRP child) is stopped (SIGSTOP) for 2 x n2's
#                Master_Down_Interval, then continued (SIGCONT), 1 s apart: the extreme case of
#                starvation (a descheduled process, a paused VM). The master's adverts keep
#                arriving and queue in the backup's socket; a daemon that reads them before it
#                acts on its expired timer stays BACKUP (default 10; 0: none)
#   -s SETTING   v3-0.01 (VRRPv3, advert_int 0.01 s; default), v3-0.05 or v2-1
#   -m MODES     default: global_defs without scheduling knobs;
#                knobs: global_defs with `vrrp_rt_priority 50`, `vrrp_no_swap` and
#                `vrrp_cpu_affinity 1` (keepalived applies them to its VRRP process)
#                (default "default knobs")
#   -q           short mode: -d 20 -C 5
#   -o FILE      markdown results (default bench/results/faults-starvation.md; "-": none)
#   environment: OURS, KEEPALIVED, KEEP (see bench/faults/lib.sh)
#
# Run it when the machine is otherwise quiet: before each mode it waits (at most 10 min) until no
# cargo/rustc runs and the CPUs are less than 25 % busy, checks for cargo/rustc every second
# during the windows, flags the results otherwise, and reports the CPU time that processes
# other than the benchmark's own used during the control and loaded windows.
#
# Per mode: one namespace set per implementation (see lib.sh), both at the same time; start the
# daemons, wait until n1 is the only master, a control window, then the loaded window (LOOPS busy
# loops on the host, bounded by `timeout`, killed by PID at the end). The master n1 never fails,
# so every n2 entry into MASTER is a false failover.
#
# Counted per window and implementation:
#   false failovers   n2's "Entering MASTER STATE" (and all transitions of n1 and n2);
#   VIP on both       episodes and seconds (ip -ts monitor address);
#   n1's advert gaps  from the capture on the bridge: median, p99, p99.9 and max time between
#                     consecutive adverts of n1, and how many exceed 2 x advert_int and
#                     n2's Master_Down_Interval (3 x advert_int + skew = 36.1 ms at 0.01 s):
#                     the sender's lateness (a false failover can also come from the backup
#                     reading late, which the capture cannot see);
#   scheduling        policy/priority, CPU affinity and VmLck of every daemon process, read
#                     from /proc after start (whether the knobs took effect).
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

DUR=60
LOOPS=$((2 * $(nproc)))
CTRL=15
SETTING=v3-0.01
MODES="default knobs"
IMPLS="ours keepalived"
OUT=$ROOT/bench/results/faults-starvation.md
COMMAND=$(fl_command "$@")
STALLS=10
LOAD=spin
VS_SERVERS=0
while getopts "d:b:L:V:C:S:s:m:qo:h" o; do
    case $o in
        d) DUR=$OPTARG ;;
        b) LOOPS=$OPTARG ;;
        L) LOAD=$OPTARG ;;
        V) VS_SERVERS=$OPTARG ;;
        C) CTRL=$OPTARG ;;
        s) SETTING=$OPTARG ;;
        m) MODES=$OPTARG ;;
        q) DUR=20 CTRL=5 STALLS=3 ;;
        S) STALLS=$OPTARG ;;
        o) OUT=$OPTARG ;;
        *) usage; exit 2 ;;
    esac
done
[[ $DUR =~ ^[0-9]+$ ]] && ((DUR >= 5 && DUR <= 300)) || die "-d: 5 to 300 seconds"
[[ $CTRL =~ ^[0-9]+$ ]] && ((CTRL <= 120)) || die "-C: 0 to 120 seconds"
[[ $STALLS =~ ^[0-9]+$ ]] && ((STALLS <= 100)) || die "-S: 0 to 100"
[[ $LOOPS =~ ^[0-9]+$ ]] && ((LOOPS >= 1 && LOOPS <= 64)) || die "-b: 1 to 64"
[[ $VS_SERVERS =~ ^[0-9]+$ ]] && ((VS_SERVERS <= 200)) || die "-V: 0 to 200"
setting_ok "$SETTING" || die "unknown setting $SETTING"
for m in $MODES; do [[ $m == default || $m == knobs ]] || die "unknown mode $m"; done
ADV=$(advert_of "$SETTING")
MD=$(master_down "$SETTING")
KNOBS=$'\n    vrrp_rt_priority 50\n    vrrp_no_swap\n    vrrp_cpu_affinity 1'

# virtual_server: -V's block (real servers 127.0.0.1:20001..., nothing listens there).
virtual_server() {
    local i
    printf 'virtual_server %s 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n' "$VIP"
    for ((i = 1; i <= VS_SERVERS; i++)); do
        printf '    real_server 127.0.0.1 %d {\n        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n        }\n    }\n' $((20000 + i))
    done
    echo '}'
}

fl_init s
case $LOAD in
    spin) LOOP_BODY=':' ;;
    fork) LOOP_BODY='/bin/true' ;;
    *) die "-L: spin or fork" ;;
esac
for impl in $IMPLS; do mkset "${impl:0:1}"; done
sleep 0.3

RAW=$WORK/raw.tsv
SCHED=$WORK/sched.txt
: >"$RAW"
: >"$SCHED"
# gaps EVENTS T0 T1: n1's advert gaps in [T0, T1]: "n median p99 p999 max over2adv overMD" (ms)
gaps() {
    awk -v t0="$2" -v t1="$3" '$2 == "adv" && $3 == "n1" && $4 > 0 && $1 >= t0 && $1 <= t1 {
            if (p) printf "%.3f\n", ($1 - p) * 1000; p = $1 }' "$1" | sort -n |
        awk -v a="$ADV" -v md="$MD" '
            { v[++n] = $1; if ($1 > 2 * a * 1000) o2++; if ($1 > md * 1000) om++ }
            function q(f,   i) { i = int(n * f + 0.5); if (i < 1) i = 1; if (i > n) i = n; return v[i] }
            END { if (!n) { print "0 - - - - 0 0"; exit }
                  printf "%d %.2f %.2f %.2f %.2f %d %d\n", n, q(0.5), q(0.99), q(0.999), v[n], o2, om }'
}

for mode in $MODES; do
    wait_quiet 600 25
    RUN="$mode-"
    gx=
    [[ $mode == knobs ]] && gx=$KNOBS
    say "$mode: $SETTING, control $CTRL s, then $LOOPS busy loops ($LOAD) for $DUR s; ours and keepalived side by side"
    for impl in $IMPLS; do
        s=${impl:0:1}
        start_capture "$s"
        start_monitor "$s" n1
        start_monitor "$s" n2
        for node in n1 n2; do
            mkconf "$WORK/$RUN$s-$node.conf" $node "$SETTING" "$gx"
            [[ $impl == ours ]] && ((VS_SERVERS > 0)) && virtual_server >>"$WORK/$RUN$s-$node.conf"
            start_daemon "$s" $node "$impl" "$WORK/$RUN$s-$node.conf"
        done
    done
    for impl in $IMPLS; do settle "${impl:0:1}" "$SETTING"; done
    for impl in $IMPLS; do
        for node in n1 n2; do
            echo "$mode $impl $node: $(daemon_sched "${impl:0:1}" $node | paste -sd ';' -)" >>"$SCHED"
        done
    done
    declare -A CA=() CB=() CC=() CE=()
    for impl in $IMPLS; do s=${impl:0:1}; CA[$s]="$(ntrans $s n1) $(ntrans $s n2) $(ntrans $s n2 MASTER)"; done
    cpu_snapshot "$WORK/cpu0"
    TC0=$(now)
    nap "$CTRL" "$mode control"
    cpu_snapshot "$WORK/cpu1"
    for impl in $IMPLS; do s=${impl:0:1}; CB[$s]="$(ntrans $s n1) $(ntrans $s n2) $(ntrans $s n2 MASTER)"; done
    TL0=$(now)
    BUSY=()
    for ((i = 0; i < LOOPS; i++)); do
        timeout $((DUR + 10)) sh -c "while :; do $LOOP_BODY; done" &
        BUSY+=($!)
        BGPIDS+=($!)
    done
    nap "$DUR" "$mode load"
    TL1=$(now)
    cpu_snapshot "$WORK/cpu2"
    echo "$mode: CPU used by other processes (not this benchmark's) during the control window: $(foreign_cpu "$WORK/cpu0" "$WORK/cpu1"); during the loaded window: $(foreign_cpu "$WORK/cpu1" "$WORK/cpu2")" >>"$SCHED"
    for impl in $IMPLS; do s=${impl:0:1}; CC[$s]="$(ntrans $s n1) $(ntrans $s n2) $(ntrans $s n2 MASTER)"; done
    LOAD=$(cut -d' ' -f1 /proc/loadavg)
    for p in "${BUSY[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait "${BUSY[@]}" 2>/dev/null
    # stalls of the backup's VRRP process, both implementations at the same moments
    declare -A CD=() SPID=()
    for impl in $IMPLS; do
        s=${impl:0:1}
        SPID[$s]=${DPID[$s/n2]}
        [[ $impl == keepalived ]] && SPID[$s]=$(children "${DPID[$s/n2]}" | awk '{print $1; exit}')
    done
    nap 1 "$mode after load"
    TS0=$(now)
    for impl in $IMPLS; do s=${impl:0:1}; CD[$s]="$(ntrans $s n1) $(ntrans $s n2) $(ntrans $s n2 MASTER)"; done
    STALL=$(awk -v m="$MD" 'BEGIN { printf "%.3f", 2 * m }')
    for ((i = 0; i < STALLS; i++)); do
        sleep "$(awk -v a="$ADV" -v x="$RANDOM" 'BEGIN { printf "%.4f", a * x / 32768 }')"
        for impl in $IMPLS; do kill -STOP "${SPID[${impl:0:1}]}"; done
        sleep "$STALL"
        for impl in $IMPLS; do kill -CONT "${SPID[${impl:0:1}]}"; done
        nap 1 "$mode stalls"
    done
    TS1=$(now)
    for impl in $IMPLS; do s=${impl:0:1}; CE[$s]="$(ntrans $s n1) $(ntrans $s n2) $(ntrans $s n2 MASTER)"; done
    for impl in $IMPLS; do
        s=${impl:0:1}
        echo "$mode $impl CPU time (utime+stime ticks) n1: $(for p in $(procs $s n1); do awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null; done | awk '{ t += $1 } END { print t + 0 }'), n2: $(for p in $(procs $s n2); do awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null; done | awk '{ t += $1 } END { print t + 0 }')" >>"$SCHED"
    done
    SP=()
    for impl in $IMPLS; do for node in n1 n2; do stop_daemon "${impl:0:1}" $node & SP+=($!); done; done
    wait "${SP[@]}"
    stop_monitors
    for impl in $IMPLS; do stop_capture "${impl:0:1}"; done
    for impl in $IMPLS; do
        s=${impl:0:1}
        vip_events "$s" >"$WORK/$RUN$s.vip"
        pcap_events "$s" >"$WORK/$RUN$s.ev"
        WINDOWS="control load"
        ((STALLS > 0)) && WINDOWS+=" stalls"
        for w in $WINDOWS; do
            case $w in
                control) t0=$TC0 t1=$TL0 a=${CA[$s]} b=${CB[$s]} ;;
                load) t0=$TL0 t1=$TL1 a=${CB[$s]} b=${CC[$s]} ;;
                stalls) t0=$TS0 t1=$TS1 a=${CD[$s]} b=${CE[$s]} ;;
            esac
            read -r a1 a2 a3 <<<"$a"
            read -r b1 b2 b3 <<<"$b"
            read -r _ _ _ _ both ep _ <<<"$(vip_window "$WORK/$RUN$s.vip" "$t0" "$t1")"
            printf "%s\t%s\t%s\t%.1f\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n" "$mode" "$w" "$impl" \
                "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" $((b3 - a3)) $((b1 - a1)) $((b2 - a2)) \
                "$ep" "$both" "$(gaps "$WORK/$RUN$s.ev" "$t0" "$t1")" "$([[ $w == load ]] && echo "$LOAD" || echo -)" \
                "$(capture_drops "$s")" >>"$RAW"
        done
    done
    unset CA CB CC CD CE SPID
done

TABLE=$WORK/table.md
{
    echo "| mode | window | implementation | s | false failovers (n2 → MASTER) | transitions n1 / n2 | VIP on both: episodes, s | n1 adverts | gap median ms | p99 ms | p99.9 ms | max ms | gaps > 2×advert_int | gaps > Master_Down | load avg (1 min) |"
    echo "|---|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ split($10, g, " ")
        printf "| %s | %s | %s | %s | %d | %d / %d | %d, %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
            $1, $2, $3, $4, $5, $6, $7, $8, $9, g[1], g[2], g[3], g[4], g[5], g[6], g[7], $11 }' "$RAW"
} >"$TABLE"
echo
cat "$TABLE"
echo
cat "$SCHED"
if [[ $OUT != - ]]; then
    mkdir -p "$(dirname "$OUT")"
    {
        fl_header "CPU starvation at advert_int $ADV s: keepalived-rs vs keepalived 2.2.7"
        echo
        echo "Setting $SETTING (n2's Master_Down_Interval $(awk -v m="$MD" 'BEGIN { printf "%.1f", m * 1000 }') ms). Per mode, both implementations' sets at"
        echo "the same time: a $CTRL s control window, then $LOOPS busy loops (\`sh -c 'while :; do $LOOP_BODY; done'\`, nice 0,"
        echo "on $(nproc) CPUs) for $DUR s. The master never fails: every n2 entry into MASTER is a false failover."
        echo "Gaps: time between consecutive adverts of n1 in the bridge capture (kernel timestamps)."
        ((VS_SERVERS > 0)) && echo "keepalived-rs's nodes also ran a virtual_server with $VS_SERVERS real servers (TCP_CHECK every second, refused); keepalived's stayed VRRP only (2.2.7 cannot run a virtual_server without IPVS)."
        echo "Mode knobs adds to global_defs: \`vrrp_rt_priority 50\`, \`vrrp_no_swap\`, \`vrrp_cpu_affinity 1\`."
        echo "Window stalls (after the load): $STALLS times, the backup's VRRP process (ours: the daemon; keepalived:"
        echo "its VRRP child) is SIGSTOPped for 2 × Master_Down_Interval, then SIGCONTed, 1 s apart; the master's"
        echo "adverts queue in the backup's socket meanwhile. Its gap columns are n1's (unaffected)."
        echo
        cat "$TABLE"
        echo
        echo "Scheduling of every daemon process, read from /proc once the daemons settled (chrt -p, taskset"
        echo "-pc, VmLck), and CPU time used over the run (clock ticks):"
        echo
        echo '```'
        cat "$SCHED"
        echo '```'
        echo
        echo "Raw (mode, window, impl, s, n2→MASTER, transitions n1, n2, both-VIP episodes, both-VIP s,"
        echo "gaps: n median p99 p99.9 max >2adv >MD, load average, tcpdump kernel drops):"
        echo
        echo '```'
        cat "$RAW"
        echo '```'
    } >"$OUT"
    say "results written to $OUT"
fi
