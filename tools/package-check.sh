#!/bin/bash
# The Debian package end to end, as root on Debian: build it with cargo-deb, install it with
# dpkg -i in throwaway copies of this system (an overlay over / in a private mount
# namespace, entered with chroot: nothing on the host changes), and check in them
#   - `keepalived-rs -v` runs from /usr/sbin and `-t` reads the shipped example;
#   - the files, man pages and conffiles are where packaging/README.md says;
#   - `systemd-analyze verify` on the installed unit prints nothing (and what systemd says
#     about the Type=notify-reload drop-in: systemd < 253 rejects that type);
#   - postinst: with keepalived.service enabled, keepalived-rs.service is neither enabled nor
#     started and the message says how to switch; without it, the unit is enabled;
#   - dpkg -r keeps /etc/default/keepalived-rs, dpkg -P removes it and the unit's state;
#   - with --vm, the same package under a real systemd as PID 1 (tools/systemd-vm.sh: start,
#     status, reload, watchdog, stop, with the unit's hardening in force; about 80 s).
#
# Usage: tools/package-check.sh [--quick] [--deb FILE] [--vm]
#   (default)  cargo deb -p keepalived-rs: the release build a release ships (minutes on a
#              small machine the first time)
#   --quick    package the debug binary `cargo build` already made (cargo deb --profile dev
#              --no-build): the same package layout and scripts in seconds; what
#              tools/test-all.sh runs
#   --deb F    check an existing package
#   --vm       also boot it under systemd in a VM
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

MODE=release
DEB=""
VM=0
while [ $# -gt 0 ]; do
    case $1 in
        --quick) MODE=quick;;
        --deb) DEB=$(readlink -f "$2"); MODE=given; shift;;
        --vm) VM=1;;
        *) sed -n '2,25p' "$0"; exit 2;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "package-check: run as root (dpkg -i in a private mount namespace)" >&2; exit 1; }

fail() { echo "package-check: FAIL: $*" >&2; exit 1; }
ok() { echo "package-check: ok: $*"; }

# What the checks use (a fresh Debian machine may lack them).
missing=()
for tool in file:file man:man-db systemd-analyze:systemd; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    apt-get install -y -qq "${missing[@]}" >/dev/null \
        || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

# ---- 1. the package ---------------------------------------------------------------------
if [ "$MODE" != given ]; then
    if ! command -v cargo-deb >/dev/null && [ ! -x "$HOME/.cargo/bin/cargo-deb" ]; then
        echo "== installing cargo-deb"
        cargo install cargo-deb --locked
    fi
    export PATH="$HOME/.cargo/bin:$PATH"
    TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    OUT=$TARGET_DIR/debian/package-check
    rm -rf "$OUT"
    if [ "$MODE" = quick ]; then
        # Nothing to do after tools/test-all.sh's build; never package a stale binary.
        cargo build -p keepalived-rs --locked
        # cargo-deb warns that dev builds are not for releases: this one is only checked.
        cargo deb -p keepalived-rs --profile dev --no-build --fast --no-dbgsym --strip --output "$OUT/" 2>&1 \
            | grep -v "dev profile is not supported\|cargo-deb is for making releases\|To enable debug symbols\|Cargo also supports custom profiles" || true
    else
        cargo deb -p keepalived-rs --locked --output "$OUT/"
    fi
    DEB=$(ls "$OUT"/keepalived-rs_*.deb 2>/dev/null | head -1)
fi
[ -f "$DEB" ] || fail "no package was built"
echo "== $DEB ($(du -h "$DEB" | cut -f1))"
dpkg-deb --info "$DEB" | sed -n 's/^ \(Package\|Version\|Depends\|Recommends\|Suggests\|Section\):/  \1:/p'

contents=$(dpkg-deb --contents "$DEB" | awk '{print $NF}')
for f in ./usr/sbin/keepalived-rs ./lib/systemd/system/keepalived-rs.service ./etc/default/keepalived-rs \
         ./usr/share/man/man8/keepalived-rs.8.gz ./usr/share/man/man5/keepalived-rs.conf.5.gz \
         ./usr/share/doc/keepalived-rs/examples/keepalived.conf ./usr/share/doc/keepalived-rs/examples/backup.conf \
         ./usr/share/doc/keepalived-rs/examples/notify-reload.conf ./usr/share/doc/keepalived-rs/copyright; do
    grep -qx "$f" <<<"$contents" || fail "the package has no $f"
done
! grep -q '^./etc/keepalived/' <<<"$contents" || fail "the package must not ship /etc/keepalived (see packaging/README.md)"
ok "package contents"
dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/sbin/keepalived-rs | file - | grep -q ", stripped" \
    || fail "/usr/sbin/keepalived-rs is not stripped (debug info belongs in keepalived-rs-dbgsym)"
ok "binary stripped ($(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/sbin/keepalived-rs | wc -c) bytes)"
if [ "$MODE" = release ]; then
    ls "$OUT"/keepalived-rs-dbgsym_*.ddeb >/dev/null 2>&1 || fail "no keepalived-rs-dbgsym package"
    ok "debug symbols in $(basename "$(ls "$OUT"/keepalived-rs-dbgsym_*.ddeb)")"
fi
[ "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles 2>/dev/null)" = /etc/default/keepalived-rs ] \
    || fail "conffiles should be exactly /etc/default/keepalived-rs"
ok "conffiles: /etc/default/keepalived-rs"

# ---- 2. throwaway systems ----------------------------------------------------------------
WORK=$(mktemp -d /tmp/ka-package-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp "$DEB" "$WORK/keepalived-rs.deb"

# Runs a bash script inside a fresh copy of this system: an overlay over / whose writes go to
# a tmpfs, with its own /proc, /dev, /run (no /run/systemd/system: maintainer scripts see
# no running systemd, as in a chroot) and /tmp. $1 names the copy; the script is stdin.
in_copy() {
    local name=$1
    mkdir -p "$WORK/$name"
    cp "$WORK/keepalived-rs.deb" "$WORK/$name.deb"
    cat > "$WORK/$name.sh"
    unshare --mount --propagation private -- bash -c '
        set -e
        W=$1; N=$2
        mount -t tmpfs tmpfs "$W/$N"
        mkdir -p "$W/$N/upper" "$W/$N/work" "$W/$N/root"
        mount -t overlay overlay -o "lowerdir=/,upperdir=$W/$N/upper,workdir=$W/$N/work" "$W/$N/root"
        R=$W/$N/root
        mount -t proc proc "$R/proc"
        mount --rbind /dev "$R/dev"
        mount -t tmpfs tmpfs "$R/run"
        mount -t tmpfs tmpfs "$R/tmp"
        cp "$W/$N.deb" "$R/tmp/keepalived-rs.deb"
        cp "$W/$N.sh" "$R/tmp/check.sh"
        exec chroot "$R" /bin/bash -euo pipefail /tmp/check.sh
    ' in_copy "$WORK" "$name"
}

echo "== a system where keepalived.service is not in use"
in_copy plain <<'EOF' || fail "the checks in a system without keepalived stopped"
fail() { echo "package-check: FAIL: $*" >&2; exit 1; }
ok() { echo "package-check: ok: $*"; }
systemctl disable keepalived.service >/dev/null 2>&1 || true
if dpkg -s keepalived-rs >/dev/null 2>&1; then dpkg -P keepalived-rs >/dev/null; fi
out=$(dpkg -i /tmp/keepalived-rs.deb 2>&1) || { echo "$out"; fail "dpkg -i"; }
echo "$out" | sed 's/^/  dpkg: /'
ok "dpkg -i"
# -v prints on stderr, as keepalived's does.
version=$(/usr/sbin/keepalived-rs -v 2>&1 >/dev/null) || fail "keepalived-rs -v exited $?"
version=${version%%$'\n'*}
[[ $version == "keepalived-rs v"* ]] || fail "keepalived-rs -v printed: $version"
ok "/usr/sbin/keepalived-rs -v: $version"
[ "$(/usr/sbin/keepalived-rs --signum=RELOAD)" = 1 ] || fail "--signum=RELOAD"
# The example names the seed's interface (enp0s3), which this machine lacks: keepalived's
# "cannot run" (4) is the expected verdict; anything but a crash will do to show it was read.
set +e; /usr/sbin/keepalived-rs -t -f /usr/share/doc/keepalived-rs/examples/keepalived.conf >/tmp/t.out 2>&1; rc=$?; set -e
[ $rc -le 6 ] || { cat /tmp/t.out; fail "-t on the example exited $rc"; }
ok "keepalived-rs -t on the shipped example: exit $rc"
man -w keepalived-rs >/dev/null && man -w 5 keepalived-rs.conf >/dev/null || fail "man pages not found by man -w"
ok "man keepalived-rs, man 5 keepalived-rs.conf"
[ "$(dpkg-query -W -f='${Conffiles}' keepalived-rs | awk 'NF{print $1}')" = /etc/default/keepalived-rs ] || fail "conffiles"
grep -q '^DAEMON_ARGS=""' /etc/default/keepalived-rs || fail "/etc/default/keepalived-rs has no DAEMON_ARGS"
systemctl is-enabled --quiet keepalived-rs.service || fail "keepalived-rs.service should be enabled when keepalived is not in use"
ok "keepalived-rs.service enabled ($(systemctl is-enabled keepalived-rs.service))"
verify=$(systemd-analyze verify /lib/systemd/system/keepalived-rs.service 2>&1) || true
[ -z "$verify" ] || { echo "$verify"; fail "systemd-analyze verify keepalived-rs.service"; }
ok "systemd-analyze verify keepalived-rs.service: clean ($(systemctl --version | head -1))"
mkdir -p /etc/systemd/system/keepalived-rs.service.d
cp /usr/share/doc/keepalived-rs/examples/notify-reload.conf /etc/systemd/system/keepalived-rs.service.d/
drop_in=$(systemd-analyze verify /lib/systemd/system/keepalived-rs.service 2>&1) || true
rm -r /etc/systemd/system/keepalived-rs.service.d
systemd_version=$(systemctl --version | awk 'NR==1{print $2}')
if [ "$systemd_version" -ge 253 ]; then
    [ -z "$drop_in" ] || { echo "$drop_in"; fail "the notify-reload drop-in on systemd $systemd_version"; }
    ok "notify-reload.conf drop-in: clean on systemd $systemd_version"
else
    grep -q "notify-reload" <<<"$drop_in" || { echo "$drop_in"; fail "systemd $systemd_version should reject Type=notify-reload"; }
    ok "notify-reload.conf drop-in on systemd $systemd_version, as expected: ${drop_in//$'\n'/ }"
fi
dpkg -r keepalived-rs >/dev/null
[ ! -e /usr/sbin/keepalived-rs ] && [ -e /etc/default/keepalived-rs ] || fail "dpkg -r: binary should go, conffile stay"
ok "dpkg -r: binary removed, /etc/default/keepalived-rs kept"
dpkg -P keepalived-rs >/dev/null
[ ! -e /etc/default/keepalived-rs ] || fail "dpkg -P left /etc/default/keepalived-rs"
[ -z "$(find /etc/systemd/system -name 'keepalived-rs*' 2>/dev/null)" ] || fail "dpkg -P left unit state: $(find /etc/systemd/system -name 'keepalived-rs*')"
ok "dpkg -P: conffile and unit state removed"
EOF

echo "== a system where keepalived.service is enabled"
in_copy with-keepalived <<'EOF' || fail "the checks in a system with keepalived stopped"
fail() { echo "package-check: FAIL: $*" >&2; exit 1; }
ok() { echo "package-check: ok: $*"; }
if ! systemctl is-enabled --quiet keepalived.service 2>/dev/null; then
    # Stand in for an installed, enabled keepalived.
    [ -e /lib/systemd/system/keepalived.service ] || printf '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' > /etc/systemd/system/keepalived.service
    systemctl enable keepalived.service >/dev/null 2>&1
fi
if dpkg -s keepalived-rs >/dev/null 2>&1; then dpkg -P keepalived-rs >/dev/null; fi
out=$(dpkg -i /tmp/keepalived-rs.deb 2>&1) || { echo "$out"; fail "dpkg -i"; }
echo "$out" | sed 's/^/  dpkg: /'
grep -q "keepalived.service is in use" <<<"$out" || fail "postinst should say keepalived is in use"
grep -q "systemctl disable --now keepalived.service && systemctl enable --now keepalived-rs.service" <<<"$out" \
    || fail "postinst should say how to switch"
! systemctl is-enabled --quiet keepalived-rs.service 2>/dev/null || fail "keepalived-rs.service must not be enabled beside keepalived"
ok "beside keepalived: installed, not enabled ($(systemctl is-enabled keepalived-rs.service 2>&1)), and told how to switch"
version=$(/usr/sbin/keepalived-rs -v 2>&1) || fail "keepalived-rs -v exited $?"
[[ $version == "keepalived-rs v"* ]] || fail "keepalived-rs -v printed: ${version%%$'\n'*}"
dpkg -P keepalived-rs >/dev/null
ok "dpkg -P"
EOF
if [ $VM = 1 ]; then
    echo "== under systemd (tools/systemd-vm.sh)"
    tools/systemd-vm.sh "$DEB" || fail "tools/systemd-vm.sh (run it with -k to keep the console log)"
fi
echo "== package-check: all passed"
