#!/usr/bin/env bash
# Link flap on the master: keepalived-rs against keepalived 2.2.7, same flaps, same run.
#
#   sudo bench/faults/link-flap.sh [-c CYCLES] [-s SETTING] [-D DOWN] [-U UP] [-v VARIANTS] [-q] [-o FILE]
#
#   -c CYCLES    down/up cycles (default 10)
#   -s SETTING   one of v2-1 (VRRPv2, advert_int 1 s, PASS auth), v3-0.05, v3-0.01 (default v2-1)
#   -D DOWN      seconds the link stays down per cycle (default: Master_Down_Interval + 1.5 s,
#                so that the backup takes over; 5.1 s at v2-1)
#   -U UP        seconds the link stays up per cycle (default: 2 x Master_Down_Interval + 1 s,
#                enough for n1 to preempt back; 8.2 s at v2-1)
#   -v VARIANTS  from (default "fault weight uplink"):
#                  fault   no track_interface: n1's own interface eth0 flaps; down = FAULT
#                  weight  `track_interface { eth0 weight -60 }` on n1; eth0 flaps
#                  uplink  `track_interface { eth1 weight -60 }` on n1 (eth1: a second link
#                          of n1, a veth pair inside n1's namespace); eth1 flaps, eth0 stays
#                          up: n1's priority drops 150 -> 90 < 100 and n2 should take over
#                          (preemption), with no FAULT
#   -q           short mode: 3 cycles
#   -o FILE      markdown results (default bench/results/faults-link-flap.md; "-": none)
#   environment: OURS, KEEPALIVED, KEEP (see bench/faults/lib.sh)
#
# One namespace set (see lib.sh) per implementation and variant, all at the same time; the
# flaps are `ip link set dev IF down|up` inside n1's namespace, at the same moments in every set.
#
# Measured (ip -ts monitor address in both nodes, capture on the bridge, daemon logs):
#   transitions      every "Entering ... STATE" of n1 and n2 during the flapping, and per cycle;
#                    fault: the expected minimum is 5 a cycle (n1 MASTER->FAULT->BACKUP->MASTER,
#                    n2 BACKUP->MASTER->BACKUP)
#   recovery         per cycle: link up -> the moment from which n1 alone holds the VIP until the
#                    next down (median, max; "not recovered" when that never happens in the up phase)
#   stale VIP        cycles where n1 still had the VIP at the end of the down phase (configured on
#                    a link that is down: with uplink, where eth0 stays up, that is expected if
#                    n2 has not taken over); cycles where both held the VIP at the end of the up
#                    phase; seconds where both held it while n1's link was up
#   outage           seconds per cycle where no node held the VIP on an up link (for uplink,
#                    eth0 never goes down: a VIP on n1 always counts)
#   end state        whether n1 alone holds the VIP after the last cycle
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

CYCLES=10
SETTING=v2-1
DOWN=
UP=
VARIANTS="fault weight uplink"
IMPLS="ours keepalived"
OUT=$ROOT/bench/results/faults-link-flap.md
COMMAND=$(fl_command "$@")
while getopts "c:s:D:U:v:qo:h" o; do
    case $o in
        c) CYCLES=$OPTARG ;;
        s) SETTING=$OPTARG ;;
        D) DOWN=$OPTARG ;;
        U) UP=$OPTARG ;;
        v) VARIANTS=$OPTARG ;;
        q) CYCLES=3 ;;
        o) OUT=$OPTARG ;;
        *) usage; exit 2 ;;
    esac
done
[[ $CYCLES =~ ^[0-9]+$ ]] && ((CYCLES >= 1 && CYCLES <= 100)) || die "-c: 1 to 100"
setting_ok "$SETTING" || die "unknown setting $SETTING"
for v in $VARIANTS; do [[ $v =~ ^(fault|weight|uplink)$ ]] || die "unknown variant $v"; done
MD=$(master_down "$SETTING")
DOWN=${DOWN:-$(awk -v m="$MD" 'BEGIN { printf "%.3f", m + 1.5 }')}
UP=${UP:-$(awk -v m="$MD" 'BEGIN { printf "%.3f", 2 * m + 1 }')}
[[ $DOWN =~ ^[0-9]+(\.[0-9]+)?$ && $UP =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "-D/-U: seconds"

fl_init f
declare -A FLAPIF=()
SETS=()
for v in $VARIANTS; do
    for impl in $IMPLS; do
        s=${v:0:1}${impl:0:1}
        SETS+=("$s")
        mkset "$s"
        FLAPIF[$s]=eth0
        if [[ $v == uplink ]]; then
            ip -n "$(nsof "$s" n1)" link add eth1 type veth peer name eth1p || die "eth1 in $s"
            ip -n "$(nsof "$s" n1)" link set eth1p up
            ip -n "$(nsof "$s" n1)" link set eth1 up
            FLAPIF[$s]=eth1
        fi
    done
done
sleep 0.3

wait_quiet 300
RUN=
for v in $VARIANTS; do
    for impl in $IMPLS; do
        s=${v:0:1}${impl:0:1}
        : >"$WORK/$s.marks"
        start_capture "$s"
        start_monitor "$s" n1
        start_monitor "$s" n2
        ix=
        case $v in
            weight) ix=$'\n    track_interface {\n        eth0 weight -60\n    }' ;;
            uplink) ix=$'\n    track_interface {\n        eth1 weight -60\n    }' ;;
        esac
        mkconf "$WORK/$s-n1.conf" n1 "$SETTING" "" "$ix"
        mkconf "$WORK/$s-n2.conf" n2 "$SETTING"
        for node in n1 n2; do start_daemon "$s" $node "$impl" "$WORK/$s-$node.conf"; done
    done
done
for s in "${SETS[@]}"; do settle "$s" "$SETTING"; done
declare -A C0=()
for s in "${SETS[@]}"; do C0[$s]="$(ntrans "$s" n1) $(ntrans "$s" n2)"; done
T_START=$(now)
say "$CYCLES cycles of $DOWN s down / $UP s up, variants: $VARIANTS (ours and keepalived side by side)"
for ((c = 1; c <= CYCLES; c++)); do
    declare -A TD=() TU=() ED=()
    for s in "${SETS[@]}"; do
        TD[$s]=$(now)
        ip -n "$(nsof "$s" n1)" link set dev "${FLAPIF[$s]}" down
    done
    nap "$DOWN" "cycle $c down"
    for s in "${SETS[@]}"; do
        ED[$s]="$(has_vip "$s" n1 && echo 1 || echo 0) $(has_vip "$s" n2 && echo 1 || echo 0)"
        TU[$s]=$(now)
        ip -n "$(nsof "$s" n1)" link set dev "${FLAPIF[$s]}" up
    done
    nap "$UP" "cycle $c up"
    for s in "${SETS[@]}"; do
        eu="$(has_vip "$s" n1 && echo 1 || echo 0) $(has_vip "$s" n2 && echo 1 || echo 0)"
        printf "%d %s %s %s %s %s\n" "$c" "${TD[$s]}" "${TU[$s]}" "$(now)" "${ED[$s]}" "$eu" >>"$WORK/$s.marks"
    done
    say "cycle $c/$CYCLES done"
    unset TD TU ED
done
T_END=$(now)
declare -A C1=() FINAL=()
for s in "${SETS[@]}"; do
    C1[$s]="$(ntrans "$s" n1) $(ntrans "$s" n2)"
    FINAL[$s]=no
    n1_only "$s" && FINAL[$s]=yes
done
SP=()
for s in "${SETS[@]}"; do for node in n1 n2; do stop_daemon "$s" $node & SP+=($!); done; done
wait "${SP[@]}"
stop_monitors
for s in "${SETS[@]}"; do stop_capture "$s"; done

# --- analysis ---
RAW=$WORK/raw.tsv
: >"$RAW"
for v in $VARIANTS; do
    for impl in $IMPLS; do
        s=${v:0:1}${impl:0:1}
        vip_events "$s" >"$WORK/$s.vip"
        pcap_events "$s" >"$WORK/$s.ev"
        read -r a0 b0 <<<"${C0[$s]}"
        read -r a1 b1 <<<"${C1[$s]}"
        # per cycle: recovery, outage, both-while-up; from the VIP events and the marks
        awk -v v="$v" -v impl="$impl" -v OFS='\t' '
            FNR == NR { ev++; et[ev] = $1; en[ev] = $2; es[ev] = ($3 == "+"); next }
            { c = $1; td = $2; tu = $3; te = $4; n1d = $5; n2d = $6; n1u = $7; n2u = $8
              # replay the VIP state from the start up to td
              h1 = 0; h2 = 0; k = 1
              while (k <= ev && et[k] < td) { if (en[k] == "n1") h1 = es[k]; else h2 = es[k]; k++ }
              t = td; out = 0; both = 0; ok = (h1 && !h2); okat = td; changes = 0
              while (1) {
                  nt = (k <= ev && et[k] < te) ? et[k] : te
                  # interval [t, nt) with state h1, h2; n1 link up from tu
                  if (nt > t) {
                      s1 = (t < tu) ? ((nt < tu) ? nt : tu) : t   # split at tu
                      if (v == "uplink") s1 = t                   # eth0 stays up: n1 always counts
                      # down part [t, s1): n1 does not count
                      if (s1 > t && !h2) out += s1 - t
                      if (nt > s1) { if (!h2 && !h1) out += nt - s1; if (h1 && h2) both += nt - s1 }
                  }
                  if (nt >= te) break
                  if (en[k] == "n1") h1 = es[k]; else h2 = es[k]
                  k++; t = nt
                  nok = (h1 && !h2)
                  if (nok && !ok) okat = t
                  ok = nok
              }
              rec = (ok && n1u == 1 && n2u == 0) ? sprintf("%.3f", ((okat > tu) ? okat : tu) - tu) : "not"
              print v, impl, c, rec, sprintf("%.3f", out), sprintf("%.3f", both), n1d, n2d, n1u, n2u
            }' "$WORK/$s.vip" "$WORK/$s.marks" >"$WORK/$s.cycles"
        garps=$(awk -v t0="$T_START" -v t1="$T_END" '$2 == "garp" && $1 >= t0 && $1 <= t1 { g[$3]++ }
            END { printf "%d/%d", g["n1"], g["n2"] }' "$WORK/$s.ev")
        faults=$(grep -c "Entering FAULT STATE" "${DLOG[$s/n1]}")
        awk -F'\t' -v OFS='\t' -v v="$v" -v impl="$impl" -v tn1="$((a1 - a0))" -v tn2="$((b1 - b0))" \
            -v final="${FINAL[$s]}" -v garps="$garps" -v faults="$faults" -v cyc="$CYCLES" '
            { n++; if ($4 != "not") { r[++nr] = $4 + 0 } else notrec++
              out += $5; both += $6; if ($7 == 1) stale1++; if ($9 == 1 && $10 == 1) bothend++ }
            END {
                for (i = 2; i <= nr; i++) { x = r[i]; for (j = i - 1; j >= 1 && r[j] > x; j--) r[j + 1] = r[j]; r[j + 1] = x }
                med = nr ? ((nr % 2) ? r[(nr + 1) / 2] : (r[nr / 2] + r[nr / 2 + 1]) / 2) : -1
                print v, impl, n, tn1, tn2, sprintf("%.1f", (tn1 + tn2) / cyc), faults,
                      (nr ? sprintf("%.3f", med) : "-"), (nr ? sprintf("%.3f", r[nr]) : "-"), notrec + 0,
                      stale1 + 0, bothend + 0, sprintf("%.3f", both), sprintf("%.3f", out / n), garps, final
            }' "$WORK/$s.cycles" >>"$RAW"
    done
done

TABLE=$WORK/table.md
{
    echo "| variant | implementation | cycles | transitions n1 / n2 | per cycle | n1 FAULT entries | recovery after link up, median (max) s | not recovered | n1 kept VIP at end of down | both held VIP at end of up | both held VIP while link up, s | outage per cycle, s | GARPs n1/n2 | n1 alone master at the end |"
    echo "|---|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---|---|"
    awk -F'\t' '{ printf "| %s | %s | %d | %d / %d | %s | %d | %s (%s) | %d | %d | %d | %s | %s | %s | %s |\n",
        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 }' "$RAW"
} >"$TABLE"
echo
cat "$TABLE"
if [[ $OUT != - ]]; then
    mkdir -p "$(dirname "$OUT")"
    {
        fl_header "Link flap on the master: keepalived-rs vs keepalived 2.2.7"
        echo
        echo "Setting $SETTING (Master_Down_Interval of n2 $MD s). $CYCLES cycles: n1's interface down for $DOWN s, up for"
        echo "$UP s (\`ip link set dev IF down|up\` in n1's namespace, at the same moments in every set)."
        echo "Variants: fault = no track_interface, eth0 flaps (down = FAULT); weight = \`track_interface { eth0"
        echo "weight -60 }\`, eth0 flaps; uplink = \`track_interface { eth1 weight -60 }\`, n1's second link eth1"
        echo "flaps while eth0 stays up (priority 150 → 90 < 100: n2 should preempt, no FAULT)."
        echo "Recovery: link up → the moment from which n1 alone holds the VIP for the rest of the up phase."
        echo "Outage: time with no node holding the VIP on an up link. Stale VIP: n1 still has it at the end of a"
        echo "down phase (on a down link for fault/weight), or both hold it at the end of an up phase."
        echo
        cat "$TABLE"
        echo
        echo "Per cycle (variant, impl, cycle, recovery s, outage s, both-while-up s, VIP on n1 / n2 at the end"
        echo "of the down phase, at the end of the up phase):"
        echo
        echo '```'
        for s in "${SETS[@]}"; do cat "$WORK/$s.cycles"; done
        echo '```'
        echo
        echo "State changes logged by n1 during the run, first cycles (ours, then keepalived), variant by variant:"
        echo
        echo '```'
        for s in "${SETS[@]}"; do
            echo "== $s (${DIMPL[$s/n1]}) n1"
            grep -E "Entering|Interface|Netlink|track|priority" "${DLOG[$s/n1]}" | grep -v "lower priority" | head -14
        done
        echo '```'
    } >"$OUT"
    say "results written to $OUT"
fi
