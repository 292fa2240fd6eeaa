#!/usr/bin/env bash
# Config-test benchmark: `keepalived-rs -t` against `keepalived -t` on one generated file with
# 2,277 virtual servers and 37,205 real servers (bench/gen-big-config.py), in the same run.
#
#   sudo bench/config-test.sh [RUNS]          # RUNS timed runs of each binary, default 5
#
# Environment:
#   VS=2277 RS=37205    size of the generated file
#   KEEPALIVED=path     the baseline (default: keepalived on PATH, Debian's 2.2.7)
#   REV=commit          build keepalived-rs from this commit instead of the working tree
#                       (git archive into target/bench-config-test/, own target directory)
#   OURS=path           use this keepalived-rs binary and skip the release build
#   KEEP=1              keep the temporary directory (generated files, raw timings)
#   NO_HYPERFINE=1      time with the bash loop even when hyperfine is installed
#
# Runs as root: both binaries check that `interface eth0` exists, so they run inside a private
# network namespace holding a veth pair named eth0/eth0p (no traffic; removed on exit).
# Timing: hyperfine (if installed) or a bash loop, one run of each binary per round, the order
# swapped every round; first a warm-up round that is not counted (the bash loop also counts
# `ip netns exec`, a few ms, in both). Peak RSS, CPU time, page faults: /usr/bin/time -v.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-5}
VS=${VS:-2277}
RS=${RS:-37205}
KEEPALIVED=$(realpath "${KEEPALIVED:-$(command -v keepalived || echo keepalived)}" 2>/dev/null || true)

die() { echo "config-test.sh: $*" >&2; exit 1; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $(id -u) -eq 0 ]] || die "needs root (network namespace)"
[[ -x $KEEPALIVED ]] || die "keepalived not found (set KEEPALIVED=)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing: apt-get install -y time"
command -v python3 >/dev/null || die "python3 missing"

# --- build (once, release, never alongside another cargo build on this 2-core box) ---
build() { # $1 = workspace directory; extra environment passes through
    # Anchored on the program name, so a shell whose command line mentions cargo is not a build.
    while pgrep -f '^([^ ]*/)?cargo (build|test|clippy)( |$)' >/dev/null; do
        echo "config-test.sh: another cargo build is running; waiting..." >&2
        sleep 20
    done
    (cd "$1" && cargo build --release -p keepalived-rs) >&2 || die "release build failed in $1"
}
if [[ -n ${OURS:-} ]]; then
    [[ -x $OURS ]] || die "OURS=$OURS is not executable"
    OURS=$(realpath "$OURS")
    OURS_REV="binary $OURS"
elif [[ -n ${REV:-} ]]; then
    # A committed revision, exported (no checkout, no worktree) and built in its own target
    # directory, so in-progress edits in the working tree neither break nor skew the build.
    commit=$(cd "$ROOT" && git rev-parse --verify --short "$REV^{commit}") || die "REV=$REV is not a commit"
    src=$ROOT/target/bench-config-test/src
    rm -rf "$src" && mkdir -p "$src"
    # -m: stamp the files with the current time. With the commit's own times, an older
    # commit than the last one built here looks up to date to cargo, which would reuse the
    # newer commit's artifacts.
    (cd "$ROOT" && git archive "$commit") | tar -x -m -C "$src"
    CARGO_TARGET_DIR=$ROOT/target/bench-config-test/target build "$src"
    OURS=$ROOT/target/bench-config-test/target/release/keepalived-rs
    OURS_REV="commit $commit (REV=$REV)"
else
    build "$ROOT"
    OURS=$ROOT/target/release/keepalived-rs
    OURS_REV="working tree at $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
    (cd "$ROOT" && git diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null) ||
        OURS_REV="$OURS_REV with uncommitted changes"
fi

# --- scratch space and namespace, removed on exit ---
TMP=$(mktemp -d /tmp/ka-bench-config-test.XXXXXX)
NS=kabench-ct-$$
cleanup() {
    ip netns del "$NS" 2>/dev/null || true
    if [[ -n ${KEEP:-} ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add eth0 type veth peer name eth0p
ip -n "$NS" addr add 192.0.2.250/24 dev eth0
ip -n "$NS" link set eth0 up
ip -n "$NS" link set eth0p up
in_ns() { ip netns exec "$NS" "$@"; }

# --- the file ---
FILE=$TMP/keepalived.conf
python3 "$ROOT/bench/gen-big-config.py" --virtual-servers "$VS" --real-servers "$RS" -o "$FILE"
LINES=$(wc -l <"$FILE")
SIZE=$(du -k "$FILE" | cut -f1)

# --- both really parse the whole file ---
# 1. The file is clean for both: exit 0.
for who in theirs ours; do
    bin=$KEEPALIVED; [[ $who == ours ]] && bin=$OURS
    rc=0
    in_ns "$bin" -t -f "$FILE" >"$TMP/$who.check.out" 2>&1 || rc=$?
    [[ $rc -eq 0 ]] || { cat "$TMP/$who.check.out" >&2; die "$bin -t exited $rc on the generated file"; }
done
# 2. Our typed configuration holds every virtual server, real server and checker.
in_ns "$OURS" --dump-conf -f "$FILE" >"$TMP/dump.json" 2>"$TMP/dump.err" ||
    { cat "$TMP/dump.err" >&2; die "--dump-conf failed"; }
COUNTS=$(python3 - "$TMP/dump.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
vs = c["lvs"]["virtual_servers"]
rs = [r for v in vs for r in v["real_servers"]]
print(len(vs), len(rs), sum(len(r["checkers"]) for r in rs))
EOF
)
read -r N_VS N_RS N_CHK <<<"$COUNTS"
[[ $N_VS -eq $VS && $N_RS -eq $RS && $N_CHK -eq $RS ]] ||
    die "--dump-conf has $N_VS virtual servers, $N_RS real servers, $N_CHK checkers; expected $VS, $RS, $RS"
# 3. keepalived prints nothing for a clean file, so give both a copy with two problems at
#    the very end: the last real server repeated inside the last virtual server (found only
#    once the checker configuration is built) and an unknown keyword on the last line. Both
#    must report both, at the same line, with keepalived's exit code 5.
SENTINEL=$TMP/sentinel.conf
python3 - "$FILE" "$SENTINEL" <<'EOF'
import sys
text = open(sys.argv[1]).read()
start = text.rindex("\n    real_server ")
last_rs = text[start:text.rindex("\n}")]
body = text[: text.rindex("\n}")]
open(sys.argv[2], "w").write(body + last_rs + "\n}\nbench_sentinel_last_line\n")
EOF
LAST=$(wc -l <"$SENTINEL")
for who in theirs ours; do
    bin=$KEEPALIVED; [[ $who == ours ]] && bin=$OURS
    rc=0
    in_ns "$bin" -t -f "$SENTINEL" >"$TMP/$who.sentinel.out" 2>&1 || rc=$?
    out=$TMP/$who.sentinel.out
    if [[ $rc -ne 5 ]] || ! grep -q "bench_sentinel_last_line" "$out" ||
        ! grep -Eq "(Line $LAST\)|:$LAST:)" "$out" || ! grep -qi "duplicate" "$out"; then
        cat "$out" >&2
        die "$bin -t on $SENTINEL: exit $rc, expected 5 with the line-$LAST keyword and the duplicate reported"
    fi
done

# --- timing ---
THEIRS_CMD="$KEEPALIVED -t -f $FILE"
OURS_CMD="$OURS -t -f $FILE"
: >"$TMP/times"   # lines: "theirs SECONDS" / "ours SECONDS"
if [[ -z ${NO_HYPERFINE:-} ]] && command -v hyperfine >/dev/null; then
    TIMER="hyperfine $(hyperfine --version | cut -d' ' -f2), one run per command per round (-N)"
    round() { # $1 = output JSON, $2.. = commands in order
        local json=$1; shift
        in_ns hyperfine -N --style none --runs 1 --export-json "$json" "$@" >/dev/null 2>&1 ||
            die "hyperfine failed (a command exited non-zero?)"
    }
    collect() { # append the times of round JSON $1
        python3 - "$1" "$KEEPALIVED" >>"$TMP/times" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    who = "theirs" if r["command"].startswith(sys.argv[2] + " ") else "ours"
    print(who, r["times"][0])
EOF
    }
else
    TIMER="bash loop, date +%s.%N"
    round() {
        local json=$1; shift
        : >"$json"
        local c t0 t1
        for c in "$@"; do
            t0=$(date +%s.%N)
            # shellcheck disable=SC2086  # the command is a simple word list
            in_ns $c >/dev/null 2>&1 || die "'$c' exited non-zero"
            t1=$(date +%s.%N)
            echo "$c|$t0|$t1" >>"$json"
        done
    }
    collect() {
        while IFS='|' read -r c t0 t1; do
            who=ours; [[ $c == "$THEIRS_CMD" ]] && who=theirs
            awk -v who="$who" -v a="$t0" -v b="$t1" 'BEGIN {printf "%s %.6f\n", who, b - a}' >>"$TMP/times"
        done <"$1"
    }
fi

round "$TMP/warmup.json" "$THEIRS_CMD" "$OURS_CMD"
for ((i = 1; i <= RUNS; i++)); do
    if ((i % 2)); then
        round "$TMP/round$i.json" "$THEIRS_CMD" "$OURS_CMD"
    else
        round "$TMP/round$i.json" "$OURS_CMD" "$THEIRS_CMD"
    fi
    collect "$TMP/round$i.json"
done

# --- peak RSS, CPU split and page faults: /usr/bin/time -v, RUNS more alternating rounds ---
: >"$TMP/rusage"   # lines: "theirs|ours RSS_KIB USER_S SYS_S MINOR_FAULTS"
rusage() { # $1 = theirs|ours, $2.. = command
    local who=$1; shift
    in_ns /usr/bin/time -v -o "$TMP/time-v.out" "$@" >/dev/null 2>&1 || die "'$*' failed under /usr/bin/time"
    awk -F': ' -v who="$who" '
        /Maximum resident set size/ {rss = $2}
        /User time \(seconds\)/ {usr = $2}
        /System time \(seconds\)/ {sys = $2}
        /Minor \(reclaiming a frame\) page faults/ {minflt = $2}
        END {print who, rss, usr, sys, minflt}' "$TMP/time-v.out" >>"$TMP/rusage"
}
for ((i = 1; i <= RUNS; i++)); do
    rusage theirs "$KEEPALIVED" -t -f "$FILE"
    rusage ours "$OURS" -t -f "$FILE"
done

# --- report ---
THEIRS_VERSION=$("$KEEPALIVED" -v 2>&1 | sed -n 1p)
CPU=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
python3 - "$TMP/times" "$TMP/rusage" <<EOF
import statistics, sys
times = {"theirs": [], "ours": []}
for line in open(sys.argv[1]):
    who, t = line.split()
    times[who].append(float(t))
t, o = times["theirs"], times["ours"]
tm, om = statistics.median(t), statistics.median(o)
ru = {"theirs": [], "ours": []}
for line in open(sys.argv[2]):
    who, *vals = line.split()
    ru[who].append([float(v) for v in vals])
def med(who, k):
    return statistics.median(r[k] for r in ru[who])
trss, orss = max(r[0] for r in ru["theirs"]), max(r[0] for r in ru["ours"])
print()
print("file: $VS virtual servers, $RS real servers (one TCP_CHECK each), $LINES lines, $SIZE KiB")
print("checked: both exit 0 on it; --dump-conf has $N_VS/$N_RS/$N_CHK virtual/real servers/checkers;")
print("         both report the duplicate and the keyword on the last line ($LAST) of a sentinel copy")
print("baseline: $THEIRS_VERSION at $KEEPALIVED; ours: keepalived-rs, $OURS_REV, at $OURS")
print("machine: $(nproc) CPUs ($CPU), kernel $(uname -r)")
print("timer: $TIMER; {} rounds after 1 warm-up, order swapped each round".format(len(t)))
print()
print("| | keepalived -t | keepalived-rs -t | ours / keepalived |")
print("|---|---:|---:|---:|")
print(f"| median wall time (s) | {tm:.3f} | {om:.3f} | {om / tm:.2f} |")
print(f"| min – max (s) | {min(t):.3f} – {max(t):.3f} | {min(o):.3f} – {max(o):.3f} | |")
print(f"| peak RSS (MiB) | {trss / 1024:.1f} | {orss / 1024:.1f} | {orss / trss:.2f} |")
print(f"| median user CPU (s) | {med('theirs', 1):.2f} | {med('ours', 1):.2f} | {med('ours', 1) / max(med('theirs', 1), 0.01):.2f} |")
print(f"| median system CPU (s) | {med('theirs', 2):.2f} | {med('ours', 2):.2f} | |")
print(f"| minor page faults | {med('theirs', 3):.0f} | {med('ours', 3):.0f} | {med('ours', 3) / med('theirs', 3):.2f} |")
print()
print("runs (s), keepalived:    " + " ".join(f"{x:.3f}" for x in t))
print("runs (s), keepalived-rs: " + " ".join(f"{x:.3f}" for x in o))
print("(RSS, CPU and page faults: /usr/bin/time -v over {} more alternating runs of each; RSS is the max,".format(len(ru["ours"])))
print(" the others medians; user/system CPU have 10 ms resolution)")
print()
print("commands (inside namespace $NS, which has eth0):")
print("  $THEIRS_CMD")
print("  $OURS_CMD")
EOF
