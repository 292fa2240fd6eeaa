#!/usr/bin/env bash
# Advert loss: keepalived-rs against keepalived 2.2.7, same random loss of VRRP packets, same run.
#
#   sudo bench/faults/advert-loss.sh [-d SECONDS] [-s SETTINGS] [-l LOSSES] [-w WHERE] [-q] [-o FILE]
#
#   -d SECONDS   length of each loss window (default 60)
#   -s SETTINGS  from v2-1 (VRRPv2, advert_int 1 s, PASS auth), v3-0.05, v3-0.01 (VRRPv3)
#                (default "v2-1 v3-0.05")
#   -l LOSSES    loss percentages (default "5 20 50")
#   -w WHERE     backup: only the backup (n2) loses VRRP packets on its ingress (one way);
#                both: n1 and n2 both lose them on their ingress (default "backup both")
#   -q           short mode: -d 15
#   -o FILE      markdown results (default bench/results/faults-advert-loss.md; "-": none)
#   environment: OURS, KEEPALIVED, KEEP (see bench/faults/lib.sh)
#
# For each SETTING x WHERE, every LOSS runs at the same time for both implementations: one
# namespace set (bridge + n1 + n2, see lib.sh) per implementation and loss, so 2 x |LOSSES|
# sets side by side. Each set: start the two daemons, wait until n1 alone holds the VIP and a
# few adverts went by, then for SECONDS drop LOSS % of the VRRP packets (ip protocol 112) that
# enter the lossy node(s): nftables in the node's namespace, `numgen random mod 100 < LOSS drop`
# at the input hook, priority -300 (before the daemons' raw sockets see them). Nothing else
# is dropped (ARP goes through).
#
# Counted over the window, per set:
#   transitions  "Entering MASTER|BACKUP|FAULT STATE" lines logged by n1 and n2 during the
#                window (every one is spurious: the master never stops); per real minute and
#                extrapolated per hour (x 60);
#   takeovers    n2's entries into MASTER (false failovers);
#   VIP on both  episodes and total seconds where n1 and n2 both had 192.0.2.50 (ip monitor);
#   adverts/GARPs from n2 (n2 acting as master) and GARPs from n1 in the window (capture);
#   loss         VRRP packets seen and dropped by the rule(s) (the real loss rate).
# Reference: with loss p on the backup only, the backup declares the master down when 3
# consecutive adverts are lost (Master_Down_Interval = 3 x advert_int + skew), so the expected
# takeover rate is about (60 / advert_int) x (1 - p) x p^3 per minute, 2 transitions each.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

DUR=60
SETTINGS="v2-1 v3-0.05"
LOSSES="5 20 50"
WHERES="backup both"
IMPLS="ours keepalived"
OUT=$ROOT/bench/results/faults-advert-loss.md
COMMAND=$(fl_command "$@")
while getopts "d:s:l:w:qo:h" o; do
    case $o in
        d) DUR=$OPTARG ;;
        s) SETTINGS=$OPTARG ;;
        l) LOSSES=$OPTARG ;;
        w) WHERES=$OPTARG ;;
        q) DUR=15 ;;
        o) OUT=$OPTARG ;;
        *) usage; exit 2 ;;
    esac
done
[[ $DUR =~ ^[0-9]+$ ]] && ((DUR >= 5 && DUR <= 600)) || die "-d: 5 to 600 seconds"
for s in $SETTINGS; do setting_ok "$s" || die "unknown setting $s"; done
for l in $LOSSES; do [[ $l =~ ^[0-9]+$ ]] && ((l >= 1 && l <= 99)) || die "loss $l: 1 to 99"; done
for w in $WHERES; do [[ $w == backup || $w == both ]] || die "unknown -w $w"; done

fl_init l
for impl in $IMPLS; do for l in $LOSSES; do mkset "${impl:0:1}$l"; done; done
sleep 0.3

RAW=$WORK/raw.tsv
: >"$RAW"
for setting in $SETTINGS; do
    for where in $WHERES; do
        wait_quiet 300
        RUN="$setting-$where-"
        say "$setting, loss on $where: $LOSSES % for $DUR s, ours and keepalived side by side"
        for impl in $IMPLS; do
            for l in $LOSSES; do
                s=${impl:0:1}$l
                start_capture "$s"
                start_monitor "$s" n1
                start_monitor "$s" n2
                for node in n1 n2; do
                    mkconf "$WORK/$RUN$s-$node.conf" $node "$setting"
                    start_daemon "$s" $node "$impl" "$WORK/$RUN$s-$node.conf"
                done
            done
        done
        declare -A C0=() T0=() T1=() LOSSCNT=()
        for impl in $IMPLS; do for l in $LOSSES; do settle "${impl:0:1}$l" "$setting"; done; done
        for impl in $IMPLS; do
            for l in $LOSSES; do
                s=${impl:0:1}$l
                C0[$s/n1]=$(ntrans "$s" n1)
                C0[$s/n2]=$(ntrans "$s" n2)
                C0[$s/n2m]=$(ntrans "$s" n2 MASTER)
                T0[$s]=$(now)
                loss_on "$s" n2 "$l"
                [[ $where == both ]] && loss_on "$s" n1 "$l"
            done
        done
        nap "$DUR" "$setting $where"
        for impl in $IMPLS; do
            for l in $LOSSES; do
                s=${impl:0:1}$l
                LOSSCNT[$s]="$(loss_off "$s" n2)"
                [[ $where == both ]] && LOSSCNT[$s]+=" / n1 $(loss_off "$s" n1)"
                T1[$s]=$(now)
                C1n1=$(ntrans "$s" n1)
                C1n2=$(ntrans "$s" n2)
                C1n2m=$(ntrans "$s" n2 MASTER)
                tr1=$((C1n1 - C0[$s/n1]))
                tr2=$((C1n2 - C0[$s/n2]))
                tk=$((C1n2m - C0[$s/n2m]))
                printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$setting" "$where" "$l" "$impl" "$s" \
                    "${T0[$s]}" "${T1[$s]}" "$tr1" "$tr2" "$tk" >>"$WORK/$RUN.counts"
            done
        done
        SP=()
        for impl in $IMPLS; do
            for l in $LOSSES; do
                s=${impl:0:1}$l
                stop_daemon "$s" n1 &
                SP+=($!)
                stop_daemon "$s" n2 &
                SP+=($!)
            done
        done
        wait "${SP[@]}"
        stop_monitors
        for impl in $IMPLS; do for l in $LOSSES; do stop_capture "${impl:0:1}$l"; done; done
        # analysis
        while IFS=$'\t' read -r setting_ where_ l impl s t0 t1 tr1 tr2 tk; do
            vip_events "$s" >"$WORK/$RUN$s.vip"
            read -r a1 d1 a2 d2 both ep none <<<"$(vip_window "$WORK/$RUN$s.vip" "$t0" "$t1")"
            pcap_events "$s" >"$WORK/$RUN$s.ev"
            read -r adv2 garp1 garp2 <<<"$(awk -v t0="$t0" -v t1="$t1" '
                $1 >= t0 && $1 <= t1 { if ($2 == "adv" && $3 == "n2" && $4 > 0) a++
                                       if ($2 == "garp") g[$3]++ }
                END { printf "%d %d %d\n", a, g["n1"], g["n2"] }' "$WORK/$RUN$s.ev")"
            read -r seen dropped rest <<<"${LOSSCNT[$s]}"
            printf "%s\t%s\t%s\t%s\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" \
                "$setting_" "$where_" "$l" "$impl" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')" \
                "$tr1" "$tr2" "$tk" "$ep" "$both" "$adv2" "$garp1" "$garp2" "$seen" "$dropped" \
                "${rest:-}" "$a1/$d1/$a2/$d2" "$(capture_drops "$s")" >>"$RAW"
        done <"$WORK/$RUN.counts"
        unset C0 T0 T1 LOSSCNT
    done
done

# --- report ---
TABLE=$WORK/table.md
{
    echo "| setting | loss on | loss % | implementation | window s | transitions n1 + n2 | per minute | per hour (×60) | n2 takeovers | expected takeovers (model) | VIP on both: episodes, s | n2 adverts | GARPs n1 / n2 | VRRP dropped / seen at n2 |"
    echo "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|"
    awk -F'\t' '{
        split($1, sa, "-"); adv = sa[2]; p = $3 / 100; min = $5 / 60
        model = (60 / adv) * (1 - p) * p * p * p * min
        tr = $6 + $7
        printf "| %s | %s | %s | %s | %.1f | %d + %d = %d | %.2f | %.0f | %d | %.1f | %d, %.1f | %d | %d / %d | %d / %d (%.1f %%) |\n",
            $1, $2, $3, $4, $5, $6, $7, tr, tr / min, tr / min * 60, $8, model, $9, $10, $11, $12, $13,
            $15, $14, ($14 ? 100 * $15 / $14 : 0)
    }' "$RAW"
} >"$TABLE"
echo
cat "$TABLE"
if [[ $OUT != - ]]; then
    mkdir -p "$(dirname "$OUT")"
    {
        fl_header "VRRP advert loss: keepalived-rs vs keepalived 2.2.7"
        echo
        echo "Random loss of VRRP packets (nftables \`numgen random mod 100 < LOSS drop\` on the input hook of"
        echo "the lossy node's namespace) for a window of $DUR s per row, after both nodes settled (n1 master)."
        echo "\"loss on backup\": only n2 loses what reaches it (one way); \"both\": n1 and n2 lose on their ingress."
        echo "Every state change during the window is spurious (the master never stops). Per hour = per"
        echo "minute × 60 (extrapolated from one window). Model: expected takeovers for loss p, backup"
        echo "losing 3 adverts in a row: (60/advert_int) × (1−p) × p³ per minute; each takeover is 2"
        echo "transitions of n2 (to MASTER and back). Same-setting rows ran at the same time."
        echo
        cat "$TABLE"
        echo
        echo "Raw (setting, where, loss, impl, window s, transitions n1, n2, n2→MASTER, both-VIP episodes,"
        echo "both-VIP s, n2 adverts, GARPs n1, GARPs n2, VRRP seen at n2, dropped at n2, n1 counters when both,"
        echo "VIP adds/dels n1/n1/n2/n2, tcpdump kernel drops):"
        echo
        echo '```'
        cat "$RAW"
        echo '```'
    } >"$OUT"
    say "results written to $OUT"
fi
