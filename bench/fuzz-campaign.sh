#!/usr/bin/env bash
# Fuzzing campaign: every cargo-fuzz target for a fixed time, executions, coverage and
# crashes recorded, each corpus minimised afterwards (then commit fuzz/corpus; `cargo test`
# replays it).
#
#   bench/fuzz-campaign.sh [-t SECONDS] [-j JOBS] [-o RESULTS.md] [TARGET...]
#
#   -t SECONDS  time per target (default 600: the reliability issue asks for >= 10 minutes)
#   -j JOBS     targets run at once (default 1; 2 on a 2-core machine uses both cores)
#   -o FILE     markdown results (default bench/results/fuzz-campaign.md; "-" for none)
#   TARGET...   default: every [[bin]] of fuzz/Cargo.toml
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain is driven with
# RUSTC_BOOTSTRAP=1, as fuzz/README.md says. A crash leaves its input in
# fuzz/artifacts/<target>/ and is counted; the script exits 1 when any target crashed.
# vrrp_advert, arp_frame and na_frame share fuzz/corpus/vrrp_decoders (the combined
# decoder's corpus, which the replay test runs through every decoder).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER_TARGET=600
JOBS=1
OUT=$ROOT/bench/results/fuzz-campaign.md
COMMAND="bench/fuzz-campaign.sh $*"
while getopts "t:j:o:" opt; do
    case $opt in
        t) SECONDS_PER_TARGET=$OPTARG ;;
        j) JOBS=$OPTARG ;;
        o) OUT=$OPTARG ;;
        *) sed -n 2,17p "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    mapfile -t TARGETS < <(sed -n 's/^name = "\(.*\)"$/\1/p' "$ROOT/fuzz/Cargo.toml" | grep -v keepalived-rs-fuzz)
fi
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }

corpus_of() {
    case $1 in
        vrrp_advert|arp_frame|na_frame) echo "$ROOT/fuzz/corpus/vrrp_decoders" ;;
        *) echo "$ROOT/fuzz/corpus/$1" ;;
    esac
}

LOGS=$(mktemp -d /tmp/fuzz-campaign.XXXXXX)
echo "== building the fuzz targets (logs in $LOGS)"
cd "$ROOT/fuzz" || exit 2
RUSTC_BOOTSTRAP=1 cargo fuzz build >"$LOGS/build.log" 2>&1 || { tail -20 "$LOGS/build.log"; exit 2; }

run_one() {
    local t=$1 corpus
    corpus=$(corpus_of "$t")
    mkdir -p "$corpus" "$ROOT/fuzz/artifacts/$t"
    local before_files artifacts_before
    before_files=$(find "$corpus" -type f | wc -l)
    artifacts_before=$(find "$ROOT/fuzz/artifacts/$t" -type f | wc -l)
    local started=$SECONDS
    # Bounded twice: libFuzzer's own clock, and a hard timeout 60 s later.
    RUSTC_BOOTSTRAP=1 timeout $((SECONDS_PER_TARGET + 60)) cargo fuzz run "$t" "$corpus" -- \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 >"$LOGS/$t.log" 2>&1
    local rc=$?
    local took=$((SECONDS - started))
    local execs cov after_files crashes
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$t.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$LOGS/$t.log" | tail -1 | cut -d' ' -f2)
    after_files=$(find "$corpus" -type f | wc -l)
    crashes=$(( $(find "$ROOT/fuzz/artifacts/$t" -type f | wc -l) - artifacts_before ))
    echo "$t|$took|${execs:-?}|${cov:-?}|$before_files|$after_files|$crashes|$rc" >"$LOGS/$t.result"
    echo "   $t: ${took}s, ${execs:-?} executions, cov ${cov:-?}, corpus $before_files -> $after_files, crashes $crashes (exit $rc)"
}

echo "== running ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET}s each, $JOBS at a time"
running=0
for t in "${TARGETS[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

echo "== minimising the corpora (cargo fuzz cmin)"
declare -A minimised
for t in "${TARGETS[@]}"; do
    corpus=$(corpus_of "$t")
    [ -n "${minimised[$corpus]:-}" ] && continue
    RUSTC_BOOTSTRAP=1 timeout 1800 cargo fuzz cmin "$t" "$corpus" >"$LOGS/$t.cmin.log" 2>&1
    minimised[$corpus]=$(find "$corpus" -type f | wc -l)
done

table="| target | seconds | executions | executions/s | coverage (edges) | corpus before | after the run | after cmin | crashes |
|---|---|---|---|---|---|---|---|---|"
total_crashes=0
for t in "${TARGETS[@]}"; do
    IFS='|' read -r name took execs cov before after crashes rc <"$LOGS/$t.result"
    rate="?"
    if [[ $execs =~ ^[0-9]+$ ]] && [ "$took" -gt 0 ]; then rate=$((execs / took)); fi
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes="exit $rc"; fi
    [[ $crashes =~ ^[0-9]+$ ]] && total_crashes=$((total_crashes + crashes)) || total_crashes=$((total_crashes + 1))
    table+="
| $name | $took | $execs | $rate | $cov | $before | $after | ${minimised[$(corpus_of "$t")]} | $crashes |"
done
echo
echo "$table"
if [ "$OUT" != "-" ]; then
    {
        echo "# Fuzzing campaign"
        echo
        echo "Command: \`$COMMAND\` ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), commit $(git -C "$ROOT" rev-parse --short HEAD))"
        echo
        echo "$table"
        echo
        echo "Crashes: $total_crashes. Corpora minimised with \`cargo fuzz cmin\` and replayed by \`cargo test\`"
        echo "(crates/*/tests/fuzz_corpus.rs). vrrp_advert, arp_frame and na_frame share the vrrp_decoders corpus."
    } >"$OUT"
    echo "results: $OUT"
fi
rm -rf "$LOGS"
[ "$total_crashes" -eq 0 ]
