#!/bin/bash
# The whole test suite, from a fresh Debian machine, as root. .ci/run runs this script.
#
# 1. installs what the tests use (Debian packages: keepalived 2.2.7 to compare with, tshark,
#    tcpdump, nftables, iproute2, and the real servers the health-check probes are tested
#    against: nginx, dnsmasq (the binary only, no service), openssl for certificates,
#    python3 for its smtpd module and test peers; promtool (prometheus) and
#    python3-jsonschema to check the metrics and the status API; qemu, busybox-static,
#    ipvsadm, kmod and cpio for the IPVS tests in a VM; bird2, the routing daemon of the
#    active-active (BGP/ECMP) test);
# 2. builds the workspace once (debug profile, all targets);
# 3. runs formatting and lint checks, then every test. Tests that need root, network
#    namespaces or a tool fail loudly here instead of skipping (KA_REQUIRE_TOOLS=1).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

if [ "$(id -u)" != 0 ]; then
    echo "tools/test-all.sh: run as root (the suite builds network namespaces)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
PACKAGES=(keepalived tshark tcpdump nftables iproute2 procps nginx-light curl ca-certificates
          build-essential pkg-config dnsmasq-base openssl python3
          prometheus python3-jsonschema
          qemu-system-x86 busybox-static ipvsadm kmod cpio
          bird2)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    apt-get update -qq
    # tshark asks whether non-root users may capture; the default answer is fine.
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The Debian keepalived service must not run beside the tests, nor the services the
# prometheus (promtool checks our metrics) and nginx packages start on install.
for s in keepalived prometheus prometheus-node-exporter nginx bird; do
    systemctl disable --now "$s" >/dev/null 2>&1 || true
done

if ! command -v cargo >/dev/null; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "== installing Rust with rustup (needs Rust >= 1.85)"
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
fi

echo "== build (once, reused by every step)"
cargo build --workspace --all-targets --locked

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
export KA_REQUIRE_TOOLS=1
# Namespace tests create their own uniquely named namespaces and clean up; running test
# binaries one at a time keeps timing-sensitive VRRP tests away from CPU contention.
cargo test --workspace --locked -- --test-threads=2

# The Debian package from the debug build just made: built with cargo-deb, installed, run
# and removed in throwaway overlays of this system (seconds), then under systemd as PID 1
# in a VM (about 80 s). The release package is checked the same way by
# `tools/package-check.sh --vm` alone (a release build: minutes).
echo "== Debian package"
tools/package-check.sh --quick --vm
echo "== all tests passed"
