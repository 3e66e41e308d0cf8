#!/usr/bin/env bash
# Builds the .deb with CPack and checks what a user installs: the files in
# their places, the config as a conffile, declared dependencies, maintainer
# scripts that touch systemd only where it runs, and a binary that starts.
# Usage: deb_test.sh BUILD_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/errtrap.sh"
build_dir="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$build_dir" && cpack -G DEB -B "$work/out" >/dev/null)
deb="$(ls "$work"/out/*.deb)"
[ -n "$deb" ] || fail "no .deb produced"
echo "package: $(basename "$deb") ($(stat -c %s "$deb") bytes)"

contents="$(dpkg-deb -c "$deb" | awk '{print $6}')"
for f in ./usr/bin/health_exporter ./etc/health_exporter/health_exporter.yml \
         ./lib/systemd/system/health_exporter.service \
         ./usr/lib/sysctl.d/40-health-exporter-icmp.conf \
         ./usr/share/health_exporter/alerts/health_exporter.rules.yml \
         ./usr/share/health_exporter/alerts/alertmanager.yml \
         ./usr/share/health_exporter/dashboards/health_exporter-overview.json \
         ./usr/share/doc/health_exporter/README.md; do
  grep -qxF "$f" <<<"$contents" || fail "$f missing from the package"
done

[ "$(dpkg-deb -f "$deb" Package)" = "health-exporter" ] || fail "package name"
depends="$(dpkg-deb -f "$deb" Depends)"
for lib in libcurl4 libuv1 libpq5 libhiredis0.14 libcivetweb1 libprometheus-cpp-core1.0 libyaml-cpp0.7; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done

dpkg-deb -e "$deb" "$work/control"
grep -qxF /etc/health_exporter/health_exporter.yml "$work/control/conffiles" \
  || fail "config is not a conffile"
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "$script missing or not executable"
  sh -n "$work/control/$script" || fail "$script is not valid sh"
done
grep -q '/run/systemd/system' "$work/control/postinst" || fail "postinst does not check for systemd"
# Without systemd (as here) the maintainer scripts must succeed and do nothing.
"$work/control/postinst" configure || fail "postinst failed without systemd"

# The packaged binary starts and validates the packaged config.
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/bin/health_exporter" --version
"$work/root/usr/bin/health_exporter" --check-config \
  --config.file="$work/root/etc/health_exporter/health_exporter.yml"
# Stripped: no debug sections in what users install.
# Captured first: `readelf | grep -q` under pipefail fails when grep's early
# exit kills readelf with SIGPIPE, and would then pass an unstripped binary.
sections="$(readelf -S "$work/root/usr/bin/health_exporter")"
if grep -q '\.debug_info' <<<"$sections"; then
  fail "binary is not stripped"
fi

# The icmp check's sysctl drop-in allows exactly DynamicUser's groups, and
# postinst applies it at once on a systemd host, only where the range allows
# no group ("1 0"), never narrowing a range someone set. Run for real in a
# network namespace of its own (the sysctl is per namespace), in a mount
# namespace where /run/systemd/system exists, the packaged drop-in is in
# /usr/lib/sysctl.d and systemctl is a stub. Needs root and unshare.
grep -qx 'net.ipv4.ping_group_range = 61184 65519' \
  "$work/root/usr/lib/sysctl.d/40-health-exporter-icmp.conf" || fail "the sysctl drop-in's range"
if [ "$(id -u)" -ne 0 ] || ! unshare --net --mount true 2>/dev/null ||
  [ ! -x /lib/systemd/systemd-sysctl ]; then
  echo "skipped: postinst's sysctl on a systemd host (needs root, unshare, systemd-sysctl)"
  exit 0
fi
mkdir "$work/stub"
printf '#!/bin/sh\necho "systemctl $*" >>"%s/systemctl.log"\n' "$work" >"$work/stub/systemctl"
chmod +x "$work/stub/systemctl"
range_after_postinst() {  # <range before>: prints the range postinst leaves
  unshare --net --mount sh -euc '
    echo "$1" >/proc/sys/net/ipv4/ping_group_range
    mount -t tmpfs tmpfs /run
    mkdir -p /run/systemd/system
    mount --bind "$2/usr/lib/sysctl.d" /usr/lib/sysctl.d
    PATH="$3:$PATH" "$4" configure
    awk "{ print \$1, \$2 }" /proc/sys/net/ipv4/ping_group_range' sh "$1" "$work/root" "$work/stub" "$work/control/postinst"
}
after="$(range_after_postinst "1 0")"
[ "$after" = "61184 65519" ] || fail "postinst left ping_group_range '1 0' as '$after'"
after="$(range_after_postinst "1000 2000")"
[ "$after" = "1000 2000" ] || fail "postinst changed an administrator's range to '$after'"
grep -q "systemctl enable health_exporter.service" "$work/systemctl.log" ||
  fail "postinst did not enable the unit on a systemd host"
