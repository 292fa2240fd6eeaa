#!/bin/bash
# First contact, on a fresh Debian machine as root: installs the build dependencies, builds
# keepalived-rs, and checks the seed cluster's master configuration (examples/seed/master.conf)
# exactly as `keepalived -t` would, inside a throwaway network namespace that has the
# interface the file names (enp0s3). Shows real keepalived's verdict beside ours when the
# keepalived package is installed, then the resolved configuration keepalived-rs would run.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (it creates a network namespace)" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
need=()
for p in build-essential pkg-config iproute2 keepalived curl ca-certificates; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; fi
systemctl disable --now keepalived >/dev/null 2>&1 || true
if ! command -v cargo >/dev/null; then
    [ -x "$HOME/.cargo/bin/cargo" ] || curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
fi
cargo build --release --locked -p keepalived-rs
BIN=$PWD/target/release/keepalived-rs
CONF=$PWD/examples/seed/master.conf

NS="kars-try-$$"
ip netns add "$NS"
trap 'ip netns del "$NS" 2>/dev/null' EXIT
ip -n "$NS" link add enp0s3 type veth peer name peer0
ip -n "$NS" link set enp0s3 up

echo "== keepalived-rs -t -f examples/seed/master.conf"
set +e
ip netns exec "$NS" "$BIN" -t -f "$CONF"; ours=$?
if command -v keepalived >/dev/null; then
    echo; echo "== keepalived $(keepalived -v 2>&1 | head -1 | awk '{print $2}') -t on the same file"
    ip netns exec "$NS" keepalived -t -f "$CONF" 2>&1 | sort -u; theirs=${PIPESTATUS[0]}
    echo; echo "exit codes: keepalived-rs $ours, keepalived $theirs"
fi
set -e
echo; echo "== what keepalived-rs would run (--dump-conf, first lines)"
ip netns exec "$NS" "$BIN" --dump-conf -f "$CONF" 2>/dev/null | head -60
