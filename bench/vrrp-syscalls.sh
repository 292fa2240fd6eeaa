#!/usr/bin/env bash
# System calls and CPU time per VRRP advert in steady state: keepalived-rs against keepalived
# 2.2.7, master and backup, both implementations' pairs at the same time (bench/faults/lib.sh
# topology).
#
#   sudo bench/vrrp-syscalls.sh [-s SETTING] [-d SECONDS] [-o FILE]
#
#   -s SETTING   v3-0.01 (default), v3-0.05 or v2-1
#   -d SECONDS   how long strace counts, then how long perf measures (default 10)
#   -o FILE      markdown results (default bench/results/vrrp-syscalls.md; "-": none)
#
# Per implementation and node, `strace -c -f` follows the VRRP process (ours: the daemon, all
# threads; keepalived: its VRRP child) for SECONDS once n1 is the only master; the adverts in
# the window come from a capture on the bridge (n1's). The ratio is calls per advert sent
# (master) or received (backup). strace slows each call; the counts, not the times, are the
# result. Then, without strace, `perf stat -e task-clock` measures each VRRP process's CPU
# time for SECONDS: µs of CPU per advert.
set -uo pipefail
# shellcheck source=faults/lib.sh
source "$(dirname "$0")/faults/lib.sh"

SETTING=v3-0.01
DUR=10
OUT=$ROOT/bench/results/vrrp-syscalls.md
COMMAND=$(fl_command "$@")
while getopts "s:d:o:h" o; do
    case $o in
        s) SETTING=$OPTARG ;;
        d) DUR=$OPTARG ;;
        o) OUT=$OPTARG ;;
        *) usage; exit 2 ;;
    esac
done
setting_ok "$SETTING" || die "unknown setting $SETTING"
[[ $DUR =~ ^[0-9]+$ ]] && ((DUR >= 1 && DUR <= 120)) || die "-d: 1 to 120 seconds"
command -v strace >/dev/null || die "missing strace (apt-get install strace)"
command -v perf >/dev/null || die "missing perf (apt-get install linux-perf)"
IMPLS="ours keepalived"

fl_init y
for impl in $IMPLS; do mkset "${impl:0:1}"; done
sleep 0.3
RUN=
for impl in $IMPLS; do
    s=${impl:0:1}
    start_capture "$s"
    for node in n1 n2; do
        mkconf "$WORK/$s-$node.conf" $node "$SETTING"
        start_daemon "$s" $node "$impl" "$WORK/$s-$node.conf"
    done
done
for impl in $IMPLS; do settle "${impl:0:1}" "$SETTING"; done
wait_quiet 120 25

# The VRRP process of SET/NODE.
vrrp_pid() {
    local pid=${DPID[$1/$2]}
    [[ ${DIMPL[$1/$2]} == keepalived ]] && pid=$(children "$pid" | awk '{print $1; exit}')
    echo "$pid"
}

say "$SETTING: strace -c on both nodes of both implementations for $DUR s"
T0=$(now)
TRACERS=()
for impl in $IMPLS; do
    for node in n1 n2; do
        s=${impl:0:1}
        timeout -s INT "$DUR" strace -c -f -o "$WORK/$s-$node.strace" -p "$(vrrp_pid "$s" $node)" 2>/dev/null &
        TRACERS+=($!)
        BGPIDS+=($!)
    done
done
wait "${TRACERS[@]}"
T1=$(now)
say "$SETTING: perf stat -e task-clock on the same processes for $DUR s"
P0=$(now)
for impl in $IMPLS; do
    for node in n1 n2; do
        s=${impl:0:1}
        perf stat -e task-clock -x, -o "$WORK/$s-$node.perf" -p "$(vrrp_pid "$s" $node)" -- sleep "$DUR" 2>/dev/null &
        TRACERS+=($!)
        BGPIDS+=($!)
    done
done
wait "${TRACERS[@]}"
P1=$(now)
for impl in $IMPLS; do for node in n1 n2; do stop_daemon "${impl:0:1}" $node; done; done
for impl in $IMPLS; do stop_capture "${impl:0:1}"; done

RAW=$WORK/raw.tsv
: >"$RAW"
: >"$WORK/cpu.tsv"
for impl in $IMPLS; do
    s=${impl:0:1}
    adverts=$(pcap_events "$s" | awk -v t0="$T0" -v t1="$T1" '$2 == "adv" && $3 == "n1" && $4 > 0 && $1 >= t0 && $1 <= t1' | wc -l)
    padverts=$(pcap_events "$s" | awk -v t0="$P0" -v t1="$P1" '$2 == "adv" && $3 == "n1" && $4 > 0 && $1 >= t0 && $1 <= t1' | wc -l)
    for node in n1 n2; do
        # perf -x,: "value,unit,event,..."; task-clock in ms.
        awk -F, -v impl="$impl" -v node="$node" -v n="$padverts" \
            '$3 ~ /^task-clock/ { printf "%s\t%s\tcpu_us\t%d\t%.0f\t0\n", impl, node, n, $1 * 1000 }' \
            "$WORK/$s-$node.perf" >>"$WORK/cpu.tsv"
    done
    for node in n1 n2; do
        # strace -c: "% time seconds usecs/call calls errors syscall"; the total line last.
        awk -v impl="$impl" -v node="$node" -v n="$adverts" '
            $NF == "total" { next }
            $1 ~ /^[0-9.]+$/ && NF >= 5 {
                errors = (NF == 6) ? $5 : 0
                printf "%s\t%s\t%s\t%d\t%d\t%d\n", impl, node, $NF, n, $4, errors }' \
            "$WORK/$s-$node.strace" >>"$RAW"
    done
done

TABLE=$WORK/table.md
{
    echo "| implementation | node | adverts in the strace window | system calls per advert | of them (per advert) | CPU µs per advert (perf window) |"
    echo "|---|---|---:|---:|---|---:|"
    for impl in $IMPLS; do
        for node in n1 n2; do
            cpu=$(awk -F'\t' -v impl="$impl" -v node="$node" '$1 == impl && $2 == node && $4 { printf "%.1f", $5 / $4 }' "$WORK/cpu.tsv")
            sort -t"$(printf '\t')" -k5,5nr "$RAW" | awk -v cpu="${cpu:--}" -F'\t' -v impl="$impl" -v node="$node" '
                $1 == impl && $2 == node {
                    n = $4; total += $5
                    if (n && $5 / n >= 0.05)
                        line = line sprintf("%s%s %.2f%s", (line ? ", " : ""), $3, $5 / n, ($6 ? sprintf(" (%.2f failing)", $6 / n) : ""))
                }
                END {
                    if (!n) { printf "| %s | %s | 0 | - | - | %s |\n", impl, node, cpu; exit }
                    printf "| %s | %s (%s) | %d | %.2f | %s | %s |\n", impl, node, (node == "n1" ? "master" : "backup"), n, total / n, line, cpu }'
        done
    done
} >"$TABLE"
echo
cat "$TABLE"
if [[ $OUT != - ]]; then
    mkdir -p "$(dirname "$OUT")"
    {
        fl_header "System calls per VRRP advert at $SETTING: keepalived-rs vs keepalived 2.2.7"
        echo
        echo "\`strace -c -f\` on each VRRP process for $DUR s in steady state (n1 master, n2 backup); adverts"
        echo "counted on the bridge. Calls under 0.05 per advert are left out of the last column."
        echo
        cat "$TABLE"
        echo
        echo "Raw (implementation, node, system call or cpu_us, adverts in its window, calls or µs, errors):"
        echo
        echo '```'
        cat "$RAW" "$WORK/cpu.tsv"
        echo '```'
    } >"$OUT"
    say "results written to $OUT"
fi
