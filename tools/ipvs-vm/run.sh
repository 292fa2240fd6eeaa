#!/bin/bash
# Boots Debian's stock kernel (which ships the ip_vs modules) under qemu with a busybox
# initramfs, runs a guest script inside, and returns the script's exit status. This machine's
# kernel has no IPVS; this is how the IPVS backend meets a real one.
#
# - qemu runs in TCG (software CPU): the /dev/kvm on these machines hangs a stock kernel.
# - The kernel package is the linux-image-6.x that linux-image-amd64 depends on, fetched with
#   `apt-get download` once and unpacked under $KA_VM_CACHE (default /var/cache/ka-ipvs-vm).
# - The initramfs holds busybox, ip, ipvsadm, the binaries given with -b (and every library
#   ldd names for them), the ip_vs modules (every scheduler the package has), veth, bridge
#   and nlmon with their dependencies, all loaded at boot. The VM has no network card.
# - Files the guest script writes under /out come back to the host in -o DIR (as base64 on
#   the serial console between markers: the VM has no disk and no network).
#
# Usage: tools/ipvs-vm/run.sh -t GUEST_SCRIPT [-b "BIN ..."] [-f SRC=DST]... [-e VAR=VALUE]...
#                             [-o OUT_DIR] [-m MiB] [-T SECONDS] [-k]
#   -t  sh script run inside the guest (busybox sh, after /prelude.sh); its exit status is ours
#   -b  host binaries to copy in at the same path, with their libraries
#   -f  copy host file SRC to DST inside the guest
#   -e  environment variable for the guest script
#   -o  where the files the guest wrote under /out are put
#   -T  bound on the VM's wall time (default 180 s); on timeout we exit 124
#   -k  keep the work directory (initramfs, console log)
# Exit status: the guest script's; 124 VM timeout; 125 the guest did not report; 126 setup.
set -u
[ "$(id -u)" = 0 ] || { echo "ipvs-vm: must run as root" >&2; exit 126; }
GUEST_TEST=""; EXTRA_BINS=""; FILES=(); ENVS=(); OUT_DIR=""; MEM=512; VM_TIMEOUT=180; KEEP=0
while getopts "t:b:f:e:o:m:T:k" o; do
    case $o in
        t) GUEST_TEST=$(readlink -f "$OPTARG");;
        b) EXTRA_BINS="$EXTRA_BINS $OPTARG";;
        f) FILES+=("$OPTARG");;
        e) ENVS+=("$OPTARG");;
        o) OUT_DIR=$OPTARG;;
        m) MEM=$OPTARG;;
        T) VM_TIMEOUT=$OPTARG;;
        k) KEEP=1;;
        *) sed -n '2,26p' "$0"; exit 126;;
    esac
done
[ -n "$GUEST_TEST" ] && [ -f "$GUEST_TEST" ] || { echo "ipvs-vm: -t GUEST_SCRIPT is required" >&2; exit 126; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
T_START=$(now)

# ---- 1. host packages (installed once) ------------------------------------------------------
need() { command -v "$1" >/dev/null; }
PKGS=""
need qemu-system-x86_64 || PKGS+=" qemu-system-x86"
[ -x /bin/busybox ] && /bin/busybox --list | grep -qx insmod || PKGS+=" busybox-static"
need modprobe || PKGS+=" kmod"
need cpio || PKGS+=" cpio"
need ipvsadm || PKGS+=" ipvsadm"
need ip || PKGS+=" iproute2"
if [ -n "$PKGS" ]; then
    echo "ipvs-vm: installing$PKGS"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends $PKGS >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $PKGS >/dev/null; } \
        || { echo "ipvs-vm: apt-get install$PKGS failed" >&2; exit 126; }
fi

# ---- 2. the kernel: the linux-image-6.x that linux-image-amd64 depends on --------------------
CACHE=${KA_VM_CACHE:-/var/cache/ka-ipvs-vm}
mkdir -p "$CACHE"
kernel_package() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
KPKG=$(kernel_package)
[ -n "$KPKG" ] || { apt-get update -q >/dev/null 2>&1; KPKG=$(kernel_package); }
[ -n "$KPKG" ] || { echo "ipvs-vm: cannot tell which kernel linux-image-amd64 depends on" >&2; exit 126; }
KVER=${KPKG#linux-image-}
KROOT=$CACHE/$KVER
if [ ! -d "$KROOT/boot" ]; then
    echo "ipvs-vm: fetching $KPKG"
    (   # flock: two test runs fetching at once must not unpack over each other
        flock 9
        [ -d "$KROOT/boot" ] && exit 0
        cd "$CACHE" && rm -rf "${KPKG}"_*.deb "$KROOT.tmp" \
            && { apt-get download "$KPKG" >/dev/null 2>&1 \
                 || { apt-get update -q >/dev/null 2>&1 && apt-get download "$KPKG" >/dev/null 2>&1; }; } \
            && dpkg-deb -x "${KPKG}"_*.deb "$KROOT.tmp" \
            && depmod -b "$KROOT.tmp" "$KVER" \
            && mv "$KROOT.tmp" "$KROOT" && rm -f "${KPKG}"_*.deb \
            && for old in "$CACHE"/*/; do  # kernels linux-image-amd64 no longer depends on
                   [ "${old%/}" = "$KROOT" ] || rm -rf "${old%/}"
               done
    ) 9>"$CACHE/.lock" || { echo "ipvs-vm: could not fetch and unpack $KPKG" >&2; exit 126; }
fi
echo "ipvs-vm: kernel $KVER ($(since "$T_START") s)"

# ---- 3. the initramfs ----------------------------------------------------------------------
WORK=$(mktemp -d /tmp/ka-ipvs-vm.XXXXXX)
if [ $KEEP = 1 ]; then echo "ipvs-vm: work directory $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
R=$WORK/root
mkdir -p "$R"/{bin,sbin,proc,sys,dev,tmp,run,var,etc,out,lib/modules}
cp /bin/busybox "$R/bin/busybox"
copy_bin() {  # a host binary at the same path, and every library ldd lists for it
    local f l
    f=$(command -v "$1") || { echo "ipvs-vm: no binary $1" >&2; return 1; }
    mkdir -p "$R$(dirname "$f")" && cp -L "$f" "$R$f" || return 1
    for l in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
        [ -e "$R$l" ] || { mkdir -p "$R$(dirname "$l")" && cp -L "$l" "$R$l"; } || return 1
    done
}
for b in ip ipvsadm $EXTRA_BINS; do copy_bin "$b" || exit 126; done
for f in ${FILES[@]+"${FILES[@]}"}; do
    src=${f%%=*}; dst=${f#*=}
    mkdir -p "$R$(dirname "$dst")" && cp -L "$src" "$R$dst" || { echo "ipvs-vm: cannot copy $src" >&2; exit 126; }
done
echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"; echo "root:x:0:" > "$R/etc/group"
: > "$R/etc/env.sh"
for e in ${ENVS[@]+"${ENVS[@]}"}; do printf 'export %q\n' "$e" >> "$R/etc/env.sh"; done

# Every IPVS module of the package (all schedulers, persistence engines), plus what the tests
# build topologies and captures with; each with its dependencies, in load order.
IPVS_MODULES=$(cd "$KROOT/lib/modules/$KVER" && find kernel/net/netfilter/ipvs -name 'ip_vs*.ko*' \
    | sed 's|.*/||; s|\.ko.*||' | sort)
: > "$R/modules.order"
for m in ip_vs $IPVS_MODULES veth bridge nlmon; do
    modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" || echo "ipvs-vm: no module $m" >&2
done | awk '$1=="insmod" && !seen[$2]++ {print $2}' | grep -v crc32c-intel | while read -r p; do
    case $p in
        *.xz) xz -dc "$p" > "$R/lib/modules/$(basename "${p%.xz}")" ;;
        *) cp "$p" "$R/lib/modules/" ;;
    esac
    basename "${p%.xz}" >> "$R/modules.order"
done

cat > "$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /run; mkdir -p /run/netns
echo "GUEST: init at uptime $(cut -d' ' -f1 /proc/uptime) s"
for m in $(cat /modules.order); do insmod /lib/modules/$m 2>/dev/null || echo "GUEST: insmod $m failed"; done
ip link set lo up
# Debian's busybox-static prefers its own applets to $PATH: give the script functions that
# run the real iproute2 and ipvsadm. (Start background daemons by full path.)
cat > /prelude.sh <<'PRE'
for b in ip ipvsadm tcpdump; do for d in /usr/sbin /usr/bin /sbin; do
  [ -x $d/$b ] && { eval "$b() { $d/$b \"\$@\"; }"; break; }; done; done
. /etc/env.sh
PRE
cat /prelude.sh /test.sh > /run/test.sh
echo "GUEST: test starts at uptime $(cut -d' ' -f1 /proc/uptime) s"
/bin/sh /run/test.sh
rc=$?
echo "GUEST: test rc=$rc at uptime $(cut -d' ' -f1 /proc/uptime) s"
for f in $(cd /out && find . -type f | sed 's|^\./||'); do
    echo "=====KA-OUT-BEGIN $f====="; base64 "/out/$f"; echo "=====KA-OUT-END====="
done
echo "GUEST: done"
poweroff -f
INIT
chmod +x "$R/init"
cp "$GUEST_TEST" "$R/test.sh"
(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$WORK/initrd.gz") || exit 126
echo "ipvs-vm: initramfs $(du -h "$WORK/initrd.gz" | cut -f1) ($(since "$T_START") s)"

# ---- 4. boot, bounded ------------------------------------------------------------------------
T_BOOT=$(now)
timeout --kill-after=5 "$VM_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu "${QEMU_CPU:-max}" -smp 1 -m "$MEM" \
    -nographic -no-reboot -nic none -monitor none \
    -kernel "$KROOT/boot/vmlinuz-$KVER" -initrd "$WORK/initrd.gz" \
    -append "console=ttyS0 rdinit=/init quiet loglevel=3 panic=-1" </dev/null 2>&1 \
    | sed -u 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g; s/\r//g' > "$WORK/console.log" &
QEMU_PIPE=$!
# Show the console as it comes, without the base64 file transfers.
tail -n +1 -f --pid=$QEMU_PIPE "$WORK/console.log" 2>/dev/null \
    | awk '/^=====KA-OUT-BEGIN/{skip=1} !skip && !/^SeaBIOS|^Booting from ROM|^iPXE/{print; fflush()} /^=====KA-OUT-END/{skip=0}' &
TAIL=$!
wait $QEMU_PIPE
QEMU_RC=$?
wait $TAIL 2>/dev/null
echo "ipvs-vm: VM wall time $(since "$T_BOOT") s; total $(since "$T_START") s"

if [ -n "$OUT_DIR" ]; then
    mkdir -p "$OUT_DIR"
    awk -v dir="$OUT_DIR" '
        /^=====KA-OUT-BEGIN /{ name=$2; sub(/=====$/, "", name); file=dir "/" name ".b64"; printf "" > file; next }
        /^=====KA-OUT-END=====/{ close(file); file=""; next }
        file != "" && /^[A-Za-z0-9+\/=]+$/ { print >> file }' "$WORK/console.log"
    for b in "$OUT_DIR"/*.b64; do
        [ -e "$b" ] || continue
        base64 -d "$b" > "${b%.b64}" && rm -f "$b"
    done
fi
RC=$(sed -n 's/^GUEST: test rc=\([0-9]*\).*/\1/p' "$WORK/console.log" | tail -1)
if [ -z "$RC" ]; then
    if [ "$QEMU_RC" = 124 ] || [ "$QEMU_RC" = 137 ]; then echo "ipvs-vm: VM timed out after $VM_TIMEOUT s" >&2; exit 124; fi
    echo "ipvs-vm: the guest did not report (qemu exit $QEMU_RC)" >&2
    exit 125
fi
exit "$RC"
