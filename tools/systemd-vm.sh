#!/bin/bash
# The Debian package under a real systemd: boots this machine's own Debian (its root file
# system shared read-only over 9p, with a tmpfs overlay on top, so nothing on the host
# changes) with Debian's kernel under qemu, systemd as PID 1, and checks in it:
#   - dpkg -i while keepalived.service is enabled: keepalived-rs.service neither enabled nor
#     started; then the switch the postinst suggests brings it up (Type=notify: `systemctl
#     enable --now` returns once READY=1 came), VIP installed, STATUS shown by systemd;
#   - `systemctl reload` (RELOADING=1/READY=1), the unit stays active, state kept;
#   - the watchdog: with the daemon frozen (SIGSTOP), systemd kills and restarts it, and the
#     new daemon takes the VIP again;
#   - `systemctl stop`: STOPPING=1, a clean exit, the VIP released;
#   - `systemd-analyze security` on the unit (printed);
#   - dpkg -P.
# The unit's hardening is in force throughout: the daemon ran with it.
#
# Usage: tools/systemd-vm.sh DEB [-T SECONDS] [-k]
#   -T  bound on the VM's wall time (default 300 s); -k keep the work directory
# Needs root, qemu-system-x86, busybox-static, kmod, cpio. The kernel is the one
# tools/ipvs-vm/run.sh uses (fetched into the same cache, /var/cache/ka-ipvs-vm).
set -u
[ "$(id -u)" = 0 ] || { echo "systemd-vm: must run as root" >&2; exit 126; }
DEB=$(readlink -f "${1:-}") ; shift || true
[ -f "$DEB" ] || { echo "usage: tools/systemd-vm.sh DEB [-T SECONDS] [-k]" >&2; exit 126; }
VM_TIMEOUT=300; KEEP=0
while getopts "T:k" o; do
    case $o in T) VM_TIMEOUT=$OPTARG;; k) KEEP=1;; *) exit 126;; esac
done

need() { command -v "$1" >/dev/null; }
PKGS=""
need qemu-system-x86_64 || PKGS+=" qemu-system-x86"
[ -x /bin/busybox ] && /bin/busybox --list | grep -qx switch_root || PKGS+=" busybox-static"
need modprobe || PKGS+=" kmod"
need cpio || PKGS+=" cpio"
if [ -n "$PKGS" ]; then
    echo "systemd-vm: installing$PKGS"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PKGS >/dev/null \
        || { echo "systemd-vm: apt-get install$PKGS failed" >&2; exit 126; }
fi
[ -x /lib/systemd/systemd ] || { echo "systemd-vm: this machine has no systemd to boot" >&2; exit 126; }

# ---- the kernel (shared with tools/ipvs-vm/run.sh) -------------------------------------------
CACHE=${KA_VM_CACHE:-/var/cache/ka-ipvs-vm}
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || { echo "systemd-vm: cannot tell which kernel linux-image-amd64 depends on" >&2; exit 126; }
KVER=${KPKG#linux-image-}
KROOT=$CACHE/$KVER
if [ ! -d "$KROOT/boot" ]; then
    # tools/ipvs-vm/run.sh fetches and unpacks it (with a lock); a trivial guest is enough.
    echo 'exit 0' > /tmp/ka-systemd-vm-fetch.sh
    "$(dirname "$(readlink -f "$0")")/ipvs-vm/run.sh" -t /tmp/ka-systemd-vm-fetch.sh -T 120 >/dev/null 2>&1
    rm -f /tmp/ka-systemd-vm-fetch.sh
    [ -d "$KROOT/boot" ] || { echo "systemd-vm: no kernel in $KROOT" >&2; exit 126; }
fi

# ---- the initramfs: mount the host's root read-only, overlay it, hand over to systemd -------
WORK=$(mktemp -d /tmp/ka-systemd-vm.XXXXXX)
if [ $KEEP = 1 ]; then echo "systemd-vm: work directory $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
R=$WORK/initramfs
mkdir -p "$R"/{bin,proc,sys,dev,lower,rw,newroot,lib/modules,ka-vm}
cp /bin/busybox "$R/bin/busybox"
: > "$R/modules.order"
for m in virtio_pci 9pnet_virtio 9p overlay; do
    modprobe -d "$KROOT" -S "$KVER" --show-depends "$m"
done | awk '$1=="insmod" && !seen[$2]++ {print $2}' | while read -r p; do
    case $p in
        *.xz) xz -dc "$p" > "$R/lib/modules/$(basename "${p%.xz}")" ;;
        *) cp "$p" "$R/lib/modules/" ;;
    esac
    basename "${p%.xz}" >> "$R/modules.order"
done
cp "$DEB" "$R/ka-vm/keepalived-rs.deb"

cat > "$R/ka-vm/ka-vm-test.service" <<'UNIT'
[Unit]
Description=keepalived-rs under systemd (tools/systemd-vm.sh)
After=basic.target

[Service]
Type=oneshot
ExecStart=/bin/bash /ka-vm/guest.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
UNIT

cat > "$R/ka-vm/guest.sh" <<'GUEST'
#!/bin/bash
# Runs as a oneshot service under systemd in the VM; prints KA-VM lines; powers off.
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_PAGER= SYSTEMD_COLORS=0
failures=0
ok() { echo "KA-VM: ok: $*"; }
bad() { echo "KA-VM: FAIL: $*"; failures=$((failures + 1)); }
show() { systemctl show -p "$1" --value keepalived-rs.service; }
wait_for() {  # wait_for SECONDS COMMAND...: true once COMMAND succeeds
    local limit=$1; shift
    for _ in $(seq $((limit * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}
vip_present() { ip -br addr show dev ka0 | grep -q 192.0.2.99; }
status_is() { [ "$(show StatusText)" = "$1" ]; }
echo "KA-VM: $(systemctl --version | head -1), PID 1 is $(cat /proc/1/comm)"

# No man-db trigger (mandb over 9p under TCG takes minutes).
rm -f /var/lib/man-db/auto-update
ip link add ka0 type dummy && ip link set ka0 up && ip addr add 192.0.2.1/24 dev ka0
mkdir -p /etc/keepalived
cat > /etc/keepalived/keepalived.conf <<'CONF'
vrrp_instance VI_1 {
    state MASTER
    interface ka0
    virtual_router_id 71
    version 3
    priority 150
    advert_int 0.5
    virtual_ipaddress {
        192.0.2.99/24
    }
}
virtual_server 127.0.0.1 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 1 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
CONF

# 1. Beside an enabled keepalived, the package holds back.
systemctl is-enabled --quiet keepalived.service 2>/dev/null || {
    printf '[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n' > /etc/systemd/system/keepalived.service
    systemctl daemon-reload; systemctl enable keepalived.service >/dev/null 2>&1
}
out=$(dpkg -i /ka-vm/keepalived-rs.deb 2>&1); rc=$?
echo "$out" | sed 's/^/KA-VM:   dpkg: /'
[ $rc = 0 ] || bad "dpkg -i exited $rc"
grep -q "keepalived.service is in use" <<<"$out" && ! systemctl is-enabled --quiet keepalived-rs.service \
    && [ "$(show ActiveState)" = inactive ] \
    && ok "beside keepalived: installed, not enabled, not started" || bad "postinst beside keepalived: $(show ActiveState)"

# 2. The switch the postinst suggests; the data plane the VM has (none: no nftables modules).
sed -i 's/^DAEMON_ARGS=.*/DAEMON_ARGS="--dataplane none"/' /etc/default/keepalived-rs
start=$(date +%s.%N)
if systemctl disable --now keepalived.service && systemctl enable --now keepalived-rs.service; then
    took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')
    [ "$(show ActiveState)" = active ] && ok "the switch took ${took} s; systemctl returned once READY=1 came: $(show ActiveState)/$(show SubState), Type=$(show Type), WatchdogUSec=$(show WatchdogUSec)" \
        || bad "after enable --now: $(show ActiveState)"
else
    bad "systemctl enable --now keepalived-rs.service"
fi
wait_for 15 vip_present && ok "VIP 192.0.2.99 on ka0 under the unit's hardening" || bad "no VIP"
want="VI_1 MASTER; 1 virtual server, 0/1 real server up"
wait_for 15 status_is "$want" && ok "systemd's status: $(show StatusText)" || bad "StatusText: $(show StatusText)"
systemctl status --no-pager --lines=0 keepalived-rs.service | sed 's/^/KA-VM: | /'
# The VRRP (main) thread's default real-time priority survives the unit's hardening:
# policy (field 41 of stat) 2 = SCHED_RR, priority (field 40) 1.
sched=$(sed -e 's/^.*) //' "/proc/$(show MainPID)/stat" | cut -d' ' -f38,39)
[ "$sched" = "1 2" ] && ok "VRRP thread SCHED_RR priority 1 under the unit" || bad "VRRP thread scheduling (priority policy): $sched"

# 3. Reload.
pid=$(show MainPID)
systemctl reload keepalived-rs.service && ok "systemctl reload" || bad "systemctl reload"
wait_for 10 status_is "$want"
[ "$(show ActiveState)" = active ] && [ "$(show MainPID)" = "$pid" ] && vip_present \
    && ok "after reload: active, same process, VIP kept, status '$(show StatusText)'" || bad "after reload: $(show ActiveState)"
journalctl -u keepalived-rs.service --no-pager -o cat | grep -q "Reload finished" && ok "journal: Reload finished" || bad "no 'Reload finished' in the journal"

# 4. The watchdog: a frozen daemon is killed and restarted.
mkdir -p /etc/systemd/system/keepalived-rs.service.d
printf '[Service]\nWatchdogSec=3s\n' > /etc/systemd/system/keepalived-rs.service.d/watchdog.conf
systemctl daemon-reload && systemctl restart keepalived-rs.service
wait_for 15 vip_present
pid=$(show MainPID)
kill -STOP "$pid"
if wait_for 30 bash -c "[ \"\$(systemctl show -p NRestarts --value keepalived-rs.service)\" -ge 1 ] && [ \"\$(systemctl show -p ActiveState --value keepalived-rs.service)\" = active ]"; then
    ok "frozen daemon: watchdog timeout, restarted (NRestarts=$(show NRestarts), MainPID $pid -> $(show MainPID))"
else
    bad "watchdog: NRestarts=$(show NRestarts) ActiveState=$(show ActiveState)"
fi
journalctl -u keepalived-rs.service --no-pager -o cat | grep -qi "watchdog timeout" && ok "journal: $(journalctl -u keepalived-rs.service --no-pager -o cat | grep -i -m1 'watchdog timeout')" || bad "no watchdog timeout in the journal"
wait_for 15 vip_present && ok "the restarted daemon holds the VIP" || bad "no VIP after the watchdog restart"
rm -r /etc/systemd/system/keepalived-rs.service.d && systemctl daemon-reload

# 5. Stop.
systemctl stop keepalived-rs.service
[ "$(show Result)" = success ] && [ "$(show ExecMainStatus)" = 0 ] && ! vip_present \
    && ok "stop: Result=success, exit 0, VIP released" || bad "stop: Result=$(show Result) status=$(show ExecMainStatus) vip=$(vip_present && echo present)"

# 6. How exposed the unit is, by systemd's own measure.
echo "KA-VM: systemd-analyze security: $(systemd-analyze security --no-pager keepalived-rs.service 2>&1 | tail -1)"

# 7. Purge.
dpkg -P keepalived-rs >/dev/null 2>&1 && [ ! -e /usr/sbin/keepalived-rs ] && ok "dpkg -P" || bad "dpkg -P"

if [ $failures -ne 0 ]; then
    echo "KA-VM: journal of keepalived-rs.service:"
    journalctl -u keepalived-rs.service --no-pager -o short-monotonic | tail -60 | sed 's/^/KA-VM:   /'
fi
echo "KA-VM: rc=$failures"
systemctl poweroff --force --force
GUEST

cat > "$R/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in \$(cat /modules.order); do insmod /lib/modules/\$m || echo "KA-VM: insmod \$m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower || echo "KA-VM: 9p mount failed"
mount -t tmpfs -o size=700m tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || echo "KA-VM: overlay failed"
mkdir -p /newroot/ka-vm /newroot/etc/systemd/system
cp /ka-vm/* /newroot/ka-vm/
mv /newroot/ka-vm/ka-vm-test.service /newroot/etc/systemd/system/
# This kernel's modules, for modprobe in the guest (dummy).
mkdir -p /newroot/lib/modules && ln -sfn $CACHE/$KVER/lib/modules/$KVER /newroot/lib/modules/$KVER
# No mounts to wait for; no host state to restore.
echo "# systemd-vm" > /newroot/etc/fstab
# Where this machine is a container, systemd would believe the VM is one too, and then
# ignores the kernel command line (systemd.unit=).
rm -f /newroot/.dockerenv /newroot/run/.containerenv
# The guest's own API file systems: the host's /proc, /sys, /dev and /run seen over 9p are
# the host's, and must not be mistaken for the guest's.
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /newroot/run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/tmp
exec switch_root /newroot /lib/systemd/systemd
INIT
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$WORK/initrd.gz") || exit 126

# ---- boot, bounded --------------------------------------------------------------------------
echo "systemd-vm: booting $KVER with this machine's systemd ($(systemctl --version | head -1))"
T0=$(date +%s)
timeout --kill-after=5 "$VM_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu "${QEMU_CPU:-max}" -smp 1 -m 1536 \
    -nographic -no-reboot -nic none -monitor none \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -kernel "$KROOT/boot/vmlinuz-$KVER" -initrd "$WORK/initrd.gz" \
    -append "console=ttyS0 rdinit=/init quiet loglevel=3 panic=-1 systemd.unit=ka-vm-test.service systemd.show_status=0" \
    </dev/null 2>&1 | sed -u 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\r//g' | tee "$WORK/console.log" | grep --line-buffered "^KA-VM"
echo "systemd-vm: VM wall time $(( $(date +%s) - T0 )) s"
RC=$(sed -n 's/^KA-VM: rc=\([0-9]*\).*/\1/p' "$WORK/console.log" | tail -1)
if [ -z "$RC" ]; then
    echo "systemd-vm: the guest did not report; console tail:" >&2
    tail -40 "$WORK/console.log" >&2
    exit 125
fi
[ "$RC" = 0 ] && echo "systemd-vm: all passed" || echo "systemd-vm: $RC check(s) failed" >&2
exit "$RC"
