#!/bin/bash
# The main job, on a fresh Debian machine as root: installs what the lab needs (Debian
# packages: iproute2, nftables, nginx, python3; Rust with rustup when cargo is missing),
# builds keepalived-rs, and runs `keepalived-rs lab`: the seed article's cluster (two
# directors with the seed's master.conf/backup.conf, two DR real servers, a client) in
# network namespaces on this machine, through its failover story, checking each step
# against the protocol's bound. Arguments go to `keepalived-rs lab` (--keep, --ci, down).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (the lab creates network namespaces)" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
need=()
for p in build-essential pkg-config iproute2 nftables nginx-light python3 curl ca-certificates; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing: ${need[*]}"
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Debian starts nginx as a service on install; the lab runs its own in each real server.
systemctl disable --now nginx >/dev/null 2>&1 || true
if ! command -v cargo >/dev/null; then
    [ -x "$HOME/.cargo/bin/cargo" ] || curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
fi
echo "== building keepalived-rs (release)"
cargo build --release --locked -p keepalived-rs
exec target/release/keepalived-rs lab "$@"
