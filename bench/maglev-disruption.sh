#!/usr/bin/env bash
# Maglev table disruption when one of N real servers leaves (lb_algo mh on the nftables data
# plane): the leaver's slots (ideal 1/N of the table) and the other slots that move anyway,
# for several table sizes. Pure computation (ka_nft::maglev), no namespace needed.
#
#   bench/maglev-disruption.sh [N...]     (default: 3 10 100)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release -p ka-nft --example maglev_disruption -- "$@"
