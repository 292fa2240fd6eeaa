#!/bin/bash
# Captures real keepalived adverts, gratuitous ARPs and neighbour advertisements as golden
# vectors for ka-wire's tests (crates/ka-wire/tests/vectors/*.pcap).
#
# Everything happens in network namespaces this script creates (names carry its PID) on the
# documentation ranges 192.0.2.0/24 and 2001:db8::/64; they are removed on exit, as are the
# processes it started. Needs root, keepalived (Debian package, 2.2.7 on bookworm), tcpdump.
#
# Usage: tools/capture-keepalived-vectors.sh [OUTPUT_DIR]
set -euo pipefail
OUT=$(readlink -f "${1:-$(dirname "$0")/../crates/ka-wire/tests/vectors}")
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
for b in keepalived tcpdump ip; do command -v $b >/dev/null || { echo "missing $b" >&2; exit 1; }; done
mkdir -p "$OUT"
P="kv$$"
LAN="$P-lan"; NODE="$P-a"; PEER="$P-b"
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for n in "$NODE" "$PEER" "$LAN"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$LAN"; ip netns add "$NODE"; ip netns add "$PEER"
ip -n "$LAN" link add br0 type bridge
ip -n "$LAN" link set br0 type bridge stp_state 0 forward_delay 0
ip -n "$LAN" link set br0 up
i=0
for n in "$NODE" "$PEER"; do
    i=$((i+1))
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip link add "v$P$i" netns "$LAN" type veth peer name eth0 netns "$n"
    ip -n "$LAN" link set "v$P$i" master br0 up
    ip -n "$n" link set lo up
    ip -n "$n" link set eth0 address "02:00:00:00:00:1$i"
    ip -n "$n" addr add "192.0.2.1$i/24" dev eth0
    ip -n "$n" addr add "2001:db8::1$i/64" dev eth0
    ip -n "$n" link set eth0 up
done
sleep 1   # link-local addresses

# capture NAME CONFIG_BODY: runs keepalived with the config for a few adverts, then stops it
# with SIGTERM (which sends the priority-0 advert) and keeps the frames seen on the bridge.
capture() {
    local name=$1 body=$2 secs=${3:-3}
    cat > "$WORK/$name.conf" <<CONF
global_defs {
    router_id capture
    vrrp_garp_master_repeat 1
    vrrp_garp_master_delay 0
}
$body
CONF
    ip netns exec "$LAN" tcpdump -i br0 --immediate-mode -U -s 0 -w "$WORK/$name.pcap" 2>/dev/null &
    local tp=$!; PIDS+=("$tp")
    sleep 0.5
    ip netns exec "$NODE" keepalived -n -l -P -f "$WORK/$name.conf" \
        -p "$WORK/$name.pid" -r "$WORK/$name.vrrp.pid" >"$WORK/$name.log" 2>&1 &
    local kp=$!; PIDS+=("$kp")
    sleep "$secs"
    kill -TERM "$kp"; wait "$kp" 2>/dev/null || true
    sleep 0.5
    kill -INT "$tp"; wait "$tp" 2>/dev/null || true
    cp "$WORK/$name.pcap" "$OUT/keepalived-2.2.7-$name.pcap"
    echo "$name: $(tcpdump -r "$OUT/keepalived-2.2.7-$name.pcap" 2>/dev/null | wc -l) frames"
}

capture v2-pass '
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 255
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass keepsync
    }
    virtual_ipaddress {
        192.0.2.99
    }
}' 2.5

capture v2-noauth '
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 52
    priority 255
    advert_int 1
    virtual_ipaddress {
        192.0.2.99
        192.0.2.98/24
    }
}' 2.5

capture v3-ipv4 '
vrrp_instance VI_1 {
    version 3
    state MASTER
    interface eth0
    virtual_router_id 53
    priority 255
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.99
    }
}' 1

capture v3-ipv6 '
vrrp_instance VI_6 {
    version 3
    state MASTER
    interface eth0
    virtual_router_id 54
    priority 255
    advert_int 0.1
    virtual_ipaddress {
        2001:db8::99
    }
}' 1.5

capture v3-unicast '
vrrp_instance VI_U {
    version 3
    state MASTER
    interface eth0
    virtual_router_id 55
    priority 255
    advert_int 0.1
    unicast_src_ip 192.0.2.11
    unicast_peer {
        192.0.2.12
    }
    virtual_ipaddress {
        192.0.2.97
    }
}' 1
