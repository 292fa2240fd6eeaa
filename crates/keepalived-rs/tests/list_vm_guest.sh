# Guest side of list_vm.rs (busybox sh inside the IPVS VM, after run.sh's prelude): an IPVS
# table with every kind of service, and traffic through it so that every column has
# something to show; then the test binary's `guest_side` compares `keepalived-rs list` with
# `ipvsadm -Ln` for each set of options.
#
# Topology (documentation addresses; the VM has no network card):
#   client cl 192.0.2.100, 2001:db8:1::100 --c0-- director (this namespace: IPVS, VIPs on c0)
#   --r1-- rs1 198.51.100.11, 2001:db8:2::11 and ::12     --r2-- rs2 198.51.100.12
# rs1 and rs2 route back through the director (NAT). Servers are busybox nc: an echo (cat)
# on 80 and 83 (and 8080 on rs1), a sink on 81 (the bulk transfer that takes the byte counters past 10^8, so
# that ipvsadm scales them to K).
# Env: TEST_BIN (this test binary), KA_RS (our binary), IPVSADM.
set -u
fail() { echo "GUEST: setup failed: $*"; exit 3; }

printf '#!/bin/sh\ncat > /dev/null\n' > /sink.sh && chmod +x /sink.sh

ip netns add cl && ip netns add rs1 && ip netns add rs2 || fail netns
# A large MTU on the path of the bulk transfer: ten times fewer packets for TCG to emulate.
ip link add c0 mtu 65000 type veth peer name eth0 mtu 65000 netns cl || fail veth c0
ip link add r1 mtu 65000 type veth peer name eth0 mtu 65000 netns rs1 || fail veth r1
ip link add r2 type veth peer name eth0 netns rs2 || fail veth r2
ip addr add 192.0.2.1/24 dev c0
ip addr add 2001:db8:1::1/64 dev c0 nodad
for vip in 192.0.2.10 192.0.2.11 192.0.2.12 192.0.2.13; do ip addr add $vip/32 dev c0; done
ip addr add 2001:db8::10/128 dev c0 nodad
ip addr add 198.51.100.1/25 dev r1
ip addr add 2001:db8:2::1/64 dev r1 nodad
ip addr add 198.51.100.129/25 dev r2
for l in c0 r1 r2; do ip link set $l up; done
echo 1 > /proc/sys/net/ipv4/ip_forward
echo 1 > /proc/sys/net/ipv6/conf/all/forwarding
ip netns exec cl ip addr add 192.0.2.100/24 dev eth0
ip netns exec cl ip addr add 2001:db8:1::100/64 dev eth0 nodad
ip netns exec cl ip link set eth0 up
ip netns exec cl ip route add default via 192.0.2.1
ip netns exec cl ip -6 route add default via 2001:db8:1::1
ip netns exec rs1 ip addr add 198.51.100.11/25 dev eth0
ip netns exec rs1 ip addr add 2001:db8:2::11/64 dev eth0 nodad
ip netns exec rs1 ip addr add 2001:db8:2::12/64 dev eth0 nodad
ip netns exec rs1 ip link set eth0 up
ip netns exec rs1 ip route add default via 198.51.100.1
ip netns exec rs1 ip -6 route add default via 2001:db8:2::1
ip netns exec rs2 ip addr add 198.51.100.140/25 dev eth0
ip netns exec rs2 ip link set eth0 up
ip netns exec rs2 ip route add default via 198.51.100.129
for ns in cl rs1 rs2; do ip netns exec $ns ip link set lo up; done

# Servers (background; the VM powers off when the script ends).
for ns in rs1 rs2; do
    ip netns exec $ns /bin/busybox nc -ll -p 80 -e /bin/cat &
    ip netns exec $ns /bin/busybox nc -ll -p 83 -e /bin/cat &
done
ip netns exec rs1 /bin/busybox nc -ll -p 81 -e /sink.sh &
ip netns exec rs1 /bin/busybox nc -ll -p 8080 -e /bin/cat &

# The table: every service kind, flag and forwarding method ipvsadm prints.
A() { ipvsadm "$@" || fail "ipvsadm $*"; }
A -A -t 192.0.2.10:80 -s wrr
A -a -t 192.0.2.10:80 -r 198.51.100.11:80 -m -w 3
A -a -t 192.0.2.10:80 -r 198.51.100.140:80 -m -w 1 -x 100 -y 50
A -a -t 192.0.2.10:80 -r 198.51.100.13:80 -m -w 0
A -A -t 192.0.2.10:81 -s rr
A -a -t 192.0.2.10:81 -r 198.51.100.11:81 -m
A -A -t 192.0.2.10:82 -s mh -b mh-fallback,mh-port
A -a -t 192.0.2.10:82 -r 198.51.100.11:82 -g
A -A -t 192.0.2.10:83 -s rr -p 120 -M 255.255.255.0
A -a -t 192.0.2.10:83 -r 198.51.100.11:83 -m
A -a -t 192.0.2.10:83 -r 198.51.100.140:83 -m
A -A -u 192.0.2.10:53 -s rr -o
A -a -u 192.0.2.10:53 -r 198.51.100.11:53 -m
A -a -u 192.0.2.10:53 -r 198.51.100.140:53 -m -w 2
A -A -t 192.0.2.11:443 -s sh -b sh-fallback,sh-port -p 300 -M 255.255.255.0
A -a -t 192.0.2.11:443 -r 198.51.100.6 -i
A -a -t 192.0.2.11:443 -r 198.51.100.7 -i --tun-type gue --tun-port 6080 --tun-remcsum
A -a -t 192.0.2.11:443 -r 198.51.100.8 -i --tun-type gre --tun-csum
A -A --sctp-service 192.0.2.12:3868 -s rr
A -a --sctp-service 192.0.2.12:3868 -r 198.51.100.9:3868 -m
A -A -u 192.0.2.13:5060 -s rr -p 60 --pe sip
A -a -u 192.0.2.13:5060 -r 198.51.100.10:5060 -m
A -A -f 1 -s lc
A -a -f 1 -r 198.51.100.11 -g
A -a -f 1 -r 198.51.100.140 -g -w 4
A -A -f 2 -6 -s wlc
A -a -f 2 -6 -r 2001:db8::21 -g -w 5
# 2^31 + 2: ipvsadm prints it negative and its comparator sorts it before mark 2 and the
# address services.
A -A -f 2147483650 -s rr
A -a -f 2147483650 -r 198.51.100.11 -g
V6='[2001:db8::10]:80'
A -A -t "$V6" -s wlc -p 600 -M 64
A -a -t "$V6" -r '[2001:db8:2::11]:80' -m -w 2
A -a -t "$V6" -r '[2001:db8:2::12]:8080' -m
A -a -t "$V6" -r '[2001:db8::102]:80' -i -w 0
# One service for each other scheduler module the VM loaded.
port=9000
for s in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos; do
    [ -d /sys/module/ip_vs_$s ] || continue
    A -A -t 203.0.113.1:$port -s $s
    A -a -t 203.0.113.1:$port -r 198.51.100.20:$port -g
    port=$((port + 1))
done

# Traffic. Held open (ESTABLISHED: ActiveConn) ...
for i in 1 2 3 4; do
    (sleep 3600 | ip netns exec cl /bin/busybox nc 192.0.2.10 80 > /dev/null) &
done
(sleep 3600 | ip netns exec cl /bin/busybox nc 2001:db8::10 80 > /dev/null) &
# ... closed (TIME_WAIT: InActConn; persistence templates on :83) ...
for i in 1 2; do
    echo hello | ip netns exec cl /bin/busybox nc 192.0.2.10 80 > /dev/null
    echo hello | ip netns exec cl /bin/busybox nc 192.0.2.10 83 > /dev/null
done
# ... UDP (one-packet scheduling: counted, not kept) ...
ip netns exec cl /bin/busybox timeout 3 /bin/busybox nslookup example.test 192.0.2.10 > /dev/null 2>&1
# ... and 100 MiB one way, past ipvsadm's 10^8 scaling threshold.
ip netns exec cl /bin/busybox sh -c 'dd if=/dev/zero bs=65536 count=1600 2>/dev/null | nc 192.0.2.10 81 > /dev/null'
sleep 1
echo "GUEST: table and traffic ready at uptime $(cut -d' ' -f1 /proc/uptime) s"

mkdir -p /out
KA_LIST_GUEST=1 "$TEST_BIN" --exact guest_side --ignored --nocapture --test-threads=1
