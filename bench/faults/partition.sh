#!/usr/bin/env bash
# One-way partition and heal: keepalived-rs against keepalived 2.2.7, same fault, same run.
#
#   sudo bench/faults/partition.sh [-r ROUNDS] [-s SETTINGS] [-P SECONDS] [-H SECONDS] [-q] [-o FILE]
#
#   -r ROUNDS    partitions per setting (default 5)
#   -s SETTINGS  from v2-1 (VRRPv2, advert_int 1 s, PASS auth), v3-0.05, v3-0.01 (VRRPv3)
#                (default "v2-1 v3-0.05")
#   -P SECONDS   how long each partition lasts (default: Master_Down_Interval + 2 s, at least 3)
#   -H SECONDS   observation after the heal (default 6 for advert_int 1 s, else 3)
#   -q           short mode: 2 rounds
#   -o FILE      markdown results (default bench/results/faults-partition.md; "-": none)
#   environment: OURS, KEEPALIVED, KEEP (see bench/faults/lib.sh)
#
# Two namespace sets (see lib.sh), one per implementation, running at the same time. Each
# round, in both sets at once: wait a random fraction of advert_int, then partition: the
# backup n2 stops hearing VRRP (nftables in n2's namespace drops 100 % of ip protocol 112 at
# the input hook, priority -300; ARP and n1's reception are untouched). n2 declares n1 down and
# becomes master too: dual master, expected. After SECONDS, and another random fraction of
# advert_int, heal (delete the rule): n2 hears n1's next advert (priority 150 > 100), must go
# back to BACKUP and release the VIP. Then watch for -H seconds.
#
# Measured per round (capture on the bridge, ip monitor in each node, daemon logs):
#   onset      partition → VIP added on n2 (s); and n1's last advert before the partition → n2's
#              first advert, against Master_Down_Interval = 3 x advert_int + skew;
#   dual       seconds where both nodes held the VIP;
#   heal       heal → VIP removed from n2 (s), against one advert_int (n1's next advert comes
#              at most one advert_int after the heal); and n1's first advert after the heal →
#              VIP removed from n2 (the reaction itself);
#   GARPs      from n1 and n2 during the heal window, and per second from each during the
#              partition (a master that hears a lower priority advert answers it, with GARPs
#              when garp_lower_prio_repeat says so);
#   VIP flaps  VIP adds/removals on n1 and n2 during the heal window (expected: n2 removes it
#              once, n1 keeps it: 0 flaps); state transitions during the partition and the heal;
#   single     whether n1 alone holds the VIP at the end of the heal window.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

ROUNDS=5
SETTINGS="v2-1 v3-0.05"
PART=
HEALW=
IMPLS="ours keepalived"
OUT=$ROOT/bench/results/faults-partition.md
COMMAND=$(fl_command "$@")
while getopts "r:s:P:H:qo:h" o; do
    case $o in
        r) ROUNDS=$OPTARG ;;
        s) SETTINGS=$OPTARG ;;
        P) PART=$OPTARG ;;
        H) HEALW=$OPTARG ;;
        q) ROUNDS=2 ;;
        o) OUT=$OPTARG ;;
        *) usage; exit 2 ;;
    esac
done
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1 && ROUNDS <= 50)) || die "-r: 1 to 50"
for s in $SETTINGS; do setting_ok "$s" || die "unknown setting $s"; done
[[ -z $PART || $PART =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "-P: seconds"
[[ -z $HEALW || $HEALW =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "-H: seconds"

fl_init p
for impl in $IMPLS; do mkset "${impl:0:1}"; done
sleep 0.3

RAW=$WORK/raw.tsv
: >"$RAW"
rnd_frac() { awk -v a="$1" -v x="$RANDOM" 'BEGIN { printf "%.4f", a * x / 32768 }'; }

for setting in $SETTINGS; do
    wait_quiet 300
    RUN="$setting-"
    adv=$(advert_of "$setting")
    md=$(master_down "$setting")
    part=${PART:-$(awk -v m="$md" 'BEGIN { p = m + 2; if (p < 3) p = 3; printf "%.3f", p }')}
    healw=${HEALW:-$(awk -v a="$adv" 'BEGIN { print (a >= 1) ? 6 : 3 }')}
    say "$setting: $ROUNDS partitions of $part s, heal window $healw s, ours and keepalived side by side"
    for impl in $IMPLS; do
        s=${impl:0:1}
        : >"$WORK/$RUN$s.marks"
        start_capture "$s"
        start_monitor "$s" n1
        start_monitor "$s" n2
        for node in n1 n2; do
            mkconf "$WORK/$RUN$s-$node.conf" $node "$setting"
            start_daemon "$s" $node "$impl" "$WORK/$RUN$s-$node.conf"
        done
    done
    for impl in $IMPLS; do settle "${impl:0:1}" "$setting"; done
    for ((r = 1; r <= ROUNDS; r++)); do
        declare -A TP=() TH=() C0=() C1=()
        sleep "$(rnd_frac "$adv")"
        for impl in $IMPLS; do
            s=${impl:0:1}
            C0[$s]="$(ntrans "$s" n1) $(ntrans "$s" n2)"
            TP[$s]=$(now)
            loss_on "$s" n2 100
        done
        nap "$part" "$setting partition $r"
        sleep "$(rnd_frac "$adv")"
        for impl in $IMPLS; do
            s=${impl:0:1}
            C1[$s]="$(ntrans "$s" n1) $(ntrans "$s" n2)"
            TH[$s]=$(now)
            loss_off "$s" n2 >/dev/null
        done
        nap "$healw" "$setting heal $r"
        for impl in $IMPLS; do
            s=${impl:0:1}
            te=$(now)
            single=yes
            n1_only "$s" || single=no
            printf "%d\t%s\t%s\t%s\t%s\t%s %s %s\t%s\n" "$r" "${TP[$s]}" "${TH[$s]}" "$te" "$single" \
                "${C0[$s]}" "${C1[$s]}" "$(ntrans "$s" n1) $(ntrans "$s" n2)" "$impl" >>"$WORK/$RUN$s.marks"
            # next round from a settled state (bounded)
            [[ $single == yes ]] || poll 30 n1_only "$s" || die "$impl $setting: no single master 30 s after heal $r"
        done
        say "$setting round $r/$ROUNDS done"
        unset TP TH C0 C1
        nap "$(awk -v a="$adv" 'BEGIN { printf "%.3f", 3 * a }')" "$setting settle"
    done
    SP=()
    for impl in $IMPLS; do
        for node in n1 n2; do stop_daemon "${impl:0:1}" $node & SP+=($!); done
    done
    wait "${SP[@]}"
    stop_monitors
    for impl in $IMPLS; do stop_capture "${impl:0:1}"; done
    for impl in $IMPLS; do
        s=${impl:0:1}
        vip_events "$s" >"$WORK/$RUN$s.vip"
        pcap_events "$s" >"$WORK/$RUN$s.ev"
        while IFS=$'\t' read -r r tp th te single counts impl_; do
            read -r c0a c0b c1a c1b c2a c2b <<<"$counts"
            # dual-master time over the whole round, VIP changes in the heal window
            read -r _ _ _ _ dual _ _ <<<"$(vip_window "$WORK/$RUN$s.vip" "$tp" "$te")"
            read -r a1 d1 a2 d2 _ _ _ <<<"$(vip_window "$WORK/$RUN$s.vip" "$th" "$te")"
            # VIP on n2: first add after the partition, first removal after the heal
            read -r add2 del2 <<<"$(awk -v tp="$tp" -v th="$th" -v te="$te" '
                $2 == "n2" && $3 == "+" && $1 >= tp && $1 < te && !a { a = $1 }
                $2 == "n2" && $3 == "-" && $1 >= th && $1 < te && !d { d = $1 }
                END { printf "%s %s\n", (a ? a : "-"), (d ? d : "-") }' "$WORK/$RUN$s.vip")"
            read -r last1 first2 next1 g1p g2p g1h g2h lastadv2 <<<"$(awk -v tp="$tp" -v th="$th" -v te="$te" '
                $2 == "adv" && $3 == "n1" && $4 > 0 && $1 < tp { l1 = $1 }
                $2 == "adv" && $3 == "n2" && $4 > 0 && $1 >= tp && $1 < te && !f2 { f2 = $1 }
                $2 == "adv" && $3 == "n1" && $4 > 0 && $1 >= th && !n1 { n1 = $1 }
                $2 == "adv" && $3 == "n2" && $4 > 0 && $1 >= th && $1 < te { la2 = $1 }
                $2 == "garp" && $1 >= tp && $1 < th { gp[$3]++ }
                $2 == "garp" && $1 >= th && $1 < te { gh[$3]++ }
                END { printf "%s %s %s %d %d %d %d %s\n", (l1 ? l1 : "-"), (f2 ? f2 : "-"), (n1 ? n1 : "-"),
                      gp["n1"], gp["n2"], gh["n1"], gh["n2"], (la2 ? la2 : "-") }' "$WORK/$RUN$s.ev")"
            awk -v OFS='\t' -v set="$setting" -v impl="$impl_" -v r="$r" -v tp="$tp" -v th="$th" -v te="$te" \
                -v add2="$add2" -v del2="$del2" -v last1="$last1" -v first2="$first2" -v next1="$next1" \
                -v lastadv2="$lastadv2" -v dual="$dual" -v md="$md" -v single="$single" \
                -v flaps="$a1/$d1/$a2/$d2" -v g="$g1p $g2p $g1h $g2h" \
                -v tr="$((c1a - c0a)) $((c1b - c0b)) $((c2a - c1a)) $((c2b - c1b))" 'BEGIN {
                    split(g, G, " "); split(tr, T, " ")
                    onset = (add2 != "-") ? sprintf("%.3f", add2 - tp) : "-"
                    det = (first2 != "-" && last1 != "-") ? sprintf("%.3f", first2 - last1 - md) : "-"
                    heal = (del2 != "-") ? sprintf("%.3f", del2 - th) : "-"
                    react = (del2 != "-" && next1 != "-") ? sprintf("%.4f", del2 - next1) : "-"
                    stop2 = (lastadv2 != "-") ? sprintf("%.3f", lastadv2 - th) : "none"
                    pd = th - tp
                    print set, impl, r, onset, det, dual, heal, react, stop2, G[3], G[4], flaps,
                          sprintf("%.1f", G[1] / pd), sprintf("%.1f", G[2] / pd), T[1] "+" T[2], T[3] "+" T[4], single
                }' >>"$RAW"
        done <"$WORK/$RUN$s.marks"
    done
done

# --- report ---
# raw columns: 1 setting 2 impl 3 round 4 onset 5 detect-bound 6 dual 7 heal 8 react 9 n2 last
# advert after heal 10 GARPs n1 heal 11 GARPs n2 heal 12 VIP adds/dels n1/n1/n2/n2 in heal
# 13 GARPs/s n1 partition 14 GARPs/s n2 partition 15 transitions n1+n2 partition 16 heal 17 single
TABLE=$WORK/table.md
{
    echo "| setting | implementation | rounds | onset: partition → VIP on n2, median (max) s | n2's first advert − n1's last − Master_Down, median ms | dual master, median s | heal → VIP off n2, median (max) s | advert_int s | n1's advert → VIP off n2, median ms | GARPs in heal window n1 / n2 (total) | VIP flaps in heal window (n1 changes, n2 changes) | GARPs/s during partition n1 / n2 | transitions in partition / heal (total) | single master after heal |"
    echo "|---|---|---:|---|---:|---:|---|---:|---:|---|---|---|---|---:|"
    for setting in $SETTINGS; do
        for impl in $IMPLS; do
            awk -F'\t' -v s="$setting" -v i="$impl" -v adv="$(advert_of "$setting")" '
                function med(col,   n, k, j, x, v) {
                    n = 0
                    for (k = 1; k <= N; k++) if (R[k, col] != "-" && R[k, col] != "none") v[++n] = R[k, col] + 0
                    if (!n) return "-"
                    for (k = 2; k <= n; k++) { x = v[k]; for (j = k - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
                    MAX = v[n]
                    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
                }
                $1 == s && $2 == i { N++; for (c = 1; c <= NF; c++) R[N, c] = $c
                    g1 += $10; g2 += $11; split($12, f, "/"); fl1 += f[1] + f[2]; fl2 += f[3] + f[4]
                    gp1 += $13; gp2 += $14; split($15, a, "+"); tp += a[1] + a[2]; split($16, b, "+"); th += b[1] + b[2]
                    if ($17 == "yes") ok++ }
                END {
                    if (!N) exit
                    o = med(4); om = MAX; d = med(5); du = med(6); h = med(7); hm = MAX; re = med(8)
                    printf "| %s | %s | %d | %s (%s) | %s | %s | %s (%s) | %s | %s | %d / %d | %d, %d | %.1f / %.1f | %d / %d | %d/%d |\n",
                        s, i, N, fmt(o), fmt(om), (d == "-") ? "-" : sprintf("%.1f", d * 1000), fmt(du), fmt(h), fmt(hm), adv,
                        (re == "-") ? "-" : sprintf("%.2f", re * 1000), g1, g2, fl1, fl2, gp1 / N, gp2 / N, tp, th, ok, N
                }
                function fmt(x) { return (x == "-") ? "-" : sprintf("%.3f", x) }' "$RAW"
        done
    done
} >"$TABLE"
echo
cat "$TABLE"
if [[ $OUT != - ]]; then
    mkdir -p "$(dirname "$OUT")"
    {
        fl_header "VRRP one-way partition and heal: keepalived-rs vs keepalived 2.2.7"
        echo
        echo "Each round: the backup n2 stops hearing VRRP (nftables drops all ip protocol 112 on n2's"
        echo "ingress; n1 still hears n2) for the partition time, then the rule is removed (heal) at a random"
        echo "point of the advert cycle and the nodes are watched for the heal window. Dual master during the"
        echo "partition is expected. The heal should take at most one advert_int (n1's next advert) plus the"
        echo "reaction; n1 should keep the VIP throughout (0 changes) and n2 remove it once (1 change)."
        echo "Times from \`ip -ts monitor address\` in the nodes and the script's clock (same clock); adverts"
        echo "and GARPs from a capture on the bridge. Both implementations' sets ran at the same time."
        echo
        cat "$TABLE"
        echo
        echo "Every round (onset s, detection − Master_Down s, dual s, heal s, reaction s, n2's last advert"
        echo "after heal s, GARPs n1/n2 in heal window, VIP adds/dels n1/n1/n2/n2 in heal window, GARPs/s n1/n2"
        echo "during partition, transitions n1+n2 in partition, in heal, single master after heal):"
        echo
        echo '```'
        cat "$RAW"
        echo '```'
    } >"$OUT"
    say "results written to $OUT"
fi
