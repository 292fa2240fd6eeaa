#!/bin/bash
# Captures real IPVS generic-netlink traffic as golden vectors for ka-ipvs's tests
# (crates/ka-ipvs/tests/vectors/*.pcap): ipvsadm 1.31 and keepalived 2.2.7 (the Debian
# packages) talking to the ip_vs of Debian's kernel, inside the VM of tools/ipvs-vm/run.sh.
#
# In the VM an nlmon device copies every netlink message (both directions); tcpdump records
# it, one pcap per ipvsadm command (linktype NETLINK: a cooked header whose protocol field is
# the netlink family, 16 for generic netlink), and what the command printed beside it. One step sends traffic through a NAT service
# (client and real server in namespaces of the VM) so that the listing has connections and
# counters. The VM has no network card; nothing leaves it.
#
# Usage: tools/ipvs-vm/capture-ipvs-vectors.sh [OUTPUT_DIR]   (as root)
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
OUT=$(readlink -f "${1:-$HERE/../../crates/ka-ipvs/tests/vectors}")
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
command -v tcpdump >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q tcpdump >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cat > "$WORK/guest.sh" <<'GUEST'
set -u
ip link add nlmon0 type nlmon && ip link set nlmon0 up || { echo "no nlmon"; exit 1; }
# capture_on NAME ... capture_off: records the netlink traffic in between in /out/NAME.pcap.
capture_on() {
    # --immediate-mode: without it libpcap holds packets for up to a second and loses them
    # when tcpdump is stopped before.
    /usr/bin/tcpdump -Z root -i nlmon0 --immediate-mode -U -w "/out/$1.pcap" 2>/run/td.err &
    TCPDUMP=$!
    for i in $(seq 100); do grep -q "listening on" /run/td.err 2>/dev/null && break; sleep 0.05; done
}
capture_off() {
    sleep 0.3
    kill -INT $TCPDUMP; wait $TCPDUMP 2>/dev/null
}
# step NAME COMMAND...: one command's traffic in /out/NAME.pcap, and what it printed (then
# the command and its exit status) in /out/NAME.txt.
step() {
    local name=$1; shift
    capture_on "$name"
    "$@" > "/out/$name.txt" 2>&1
    local rc=$?
    capture_off
    echo "STEP $name: $* -> exit $rc"; cat "/out/$name.txt"
    { echo "# $*"; echo "# exit $rc"; } >> "/out/$name.txt"
}
step add-service-tcp4   ipvsadm -A -t 192.0.2.10:80 -s wrr -p 300 -M 255.255.255.0
step add-dest-masq      ipvsadm -a -t 192.0.2.10:80 -r 198.51.100.1:8080 -m -w 3 -x 100 -y 50
step add-service-fwm6   ipvsadm -A -f 7 -6 -s sh -b sh-fallback,sh-port
step add-dest-gue6      ipvsadm -a -f 7 -6 -r [2001:db8::1]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
step add-service-ops    ipvsadm -A -u 192.0.2.10:53 -s rr -o
step add-service-pe     ipvsadm -A -u 192.0.2.13:5060 -s rr -p 60 --pe sip
step edit-service       ipvsadm -E -t 192.0.2.10:80 -s rr -p 300 -M 255.255.255.0
step edit-dest          ipvsadm -e -t 192.0.2.10:80 -r 198.51.100.1:8080 -m -w 0
step list               ipvsadm -Ln
step get-timeouts       ipvsadm -Ln --timeout
step set-timeouts       ipvsadm --set 1000 60 30
step zero-service       ipvsadm -Z -t 192.0.2.10:80
step zero-all           ipvsadm -Z
step del-dest           ipvsadm -d -t 192.0.2.10:80 -r 198.51.100.1:8080
step del-service        ipvsadm -D -t 192.0.2.10:80
step error-exists       ipvsadm -A -u 192.0.2.10:53 -s rr
step error-scheduler    ipvsadm -A -t 192.0.2.99:80 -s nosuch
step flush              ipvsadm -C

# keepalived 2.2.7's checker process programming services (real servers without checkers
# are up at once), then removing them on SIGTERM.
capture_on keepalived-start
/usr/sbin/keepalived --check -n -l -D -f /etc/ka-capture.conf -p /run/ka.pid -c /run/ka-check.pid > /run/ka.log 2>&1 &
KA=$!
for i in $(seq 150); do [ "$(ipvsadm -Ln | grep -c -- '->.*[0-9]  ')" -ge 5 ] && break; sleep 0.1; done
capture_off
ipvsadm -Ln > /out/keepalived-start.txt; echo "# keepalived --check -f /etc/ka-capture.conf" >> /out/keepalived-start.txt
echo "STEP keepalived-start"; cat /out/keepalived-start.txt
capture_on keepalived-stop
kill -TERM $KA; for i in $(seq 100); do kill -0 $KA 2>/dev/null || break; sleep 0.1; done
capture_off
ipvsadm -Ln > /out/keepalived-stop.txt; echo "# kill -TERM keepalived" >> /out/keepalived-stop.txt
echo "STEP keepalived-stop"; cat /out/keepalived-stop.txt
grep -iE "error|warn" /run/ka.log | head -5
ipvsadm -C

# Traffic through a NAT service, then the listing with its counters.
ip link add br0 type bridge; ip link add br1 type bridge; ip link set br0 up; ip link set br1 up
ip addr add 192.0.2.1/24 dev br0; ip addr add 192.0.2.80/32 dev br0; ip addr add 198.51.100.254/24 dev br1
sysctl -qw net.ipv4.ip_forward=1
mkhost() {  # NAME ADDRESS BRIDGE GATEWAY
    ip netns add $1; ip link add v$1 type veth peer name eth0 netns $1; ip link set v$1 master $3 up
    ip -n $1 link set lo up; ip -n $1 addr add $2/24 dev eth0; ip -n $1 link set eth0 up
    ip -n $1 route add default via $4
}
mkhost client 192.0.2.100 br0 192.0.2.1
mkhost rs1 198.51.100.21 br1 198.51.100.254
mkdir -p /www; echo rs1 > /www/index.html
ip netns exec rs1 httpd -p 80 -h /www
ipvsadm -A -t 192.0.2.80:80 -s rr
ipvsadm -a -t 192.0.2.80:80 -r 198.51.100.21:80 -m -w 1
for i in 1 2 3; do ip netns exec client timeout 3 wget -q -O /dev/null http://192.0.2.80/ || echo "wget failed"; done
sleep 2   # the rate estimator runs every 2 s
step list-traffic ipvsadm -Ln --stats
ipvsadm -Ln
ipvsadm -C
GUEST

cat > "$WORK/ka-capture.conf" <<'KA'
global_defs {
    router_id capture
}
virtual_server 192.0.2.10 80 {
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    real_server 198.51.100.1 8080 {
        weight 3
        uthreshold 100
        lthreshold 50
    }
    real_server 198.51.100.2 8080 {
        weight 1
    }
}
virtual_server 192.0.2.10 53 {
    lb_algo rr
    lb_kind DR
    protocol UDP
    ops
    real_server 198.51.100.4 53 {
        weight 2
    }
}
virtual_server fwmark 7 {
    ip_family inet6
    lb_algo sh
    sh-port
    sh-fallback
    lb_kind TUN
    real_server 2001:db8::1 0 {
        weight 1
        lvs_method TUN type gue port 6080 csum
    }
    real_server 2001:db8::2 0 {
        weight 1
    }
}
KA
command -v keepalived >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q keepalived >/dev/null
"$HERE/run.sh" -t "$WORK/guest.sh" -b "tcpdump keepalived" -f "$WORK/ka-capture.conf=/etc/ka-capture.conf" \
    -o "$WORK/out" -T 180
mkdir -p "$OUT"
cp "$WORK"/out/*.pcap "$WORK"/out/*.txt "$OUT/"
echo "vectors in $OUT: $(ls "$WORK"/out/*.pcap | wc -l) captures"
