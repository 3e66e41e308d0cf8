#!/usr/bin/env bash
# Installs the Debian packages health_exporter needs, and only those missing.
# Usage: scripts/install-deps.sh build|test|bench
#   build: compiler, CMake and the libraries the daemon links
#   test:  build + GoogleTest and the real servers/validators the tests start
#   bench: build + the peer and the servers bench/run.sh starts
# Idempotent: when everything is present it runs no apt command at all.
set -euo pipefail

mode="${1:-build}"

build_pkgs=(
  g++ cmake ninja-build pkg-config git
  prometheus-cpp-dev libcivetweb-dev libssl-dev libcurl4-openssl-dev libuv1-dev
  libyaml-cpp-dev libspdlog-dev libre2-dev zlib1g-dev nlohmann-json3-dev libcli11-dev
  libpq-dev libhiredis-dev libsystemd-dev libcrypt-dev
)
test_pkgs=(
  libgtest-dev libgmock-dev   # GoogleTest
  prometheus                  # promtool; a real Prometheus for the alerting end-to-end test
  prometheus-alertmanager     # amtool; a real Alertmanager for the alerting end-to-end test
  openssl                     # self-signed certificates for TLS tests
  curl                        # smoke checks in scripts
  postgresql                  # initdb/pg_ctl: a throwaway server per postgres test
  redis-server                # a throwaway redis per redis test
  monitoring-plugins-basic    # real Nagios plugins for exec checks
  chromium                    # headless browser test of the status page
  python3                     # dashboard lint and the alerting end-to-end test
  dpkg-dev                    # dpkg-shlibdeps for the .deb that CPack builds
  clang libclang-rt-14-dev    # sanitizer builds (scripts/sanitize.sh); the runtimes are only "recommended"
  clang-tidy cppcheck         # scripts/lint.sh
  valgrind                    # memcheck daemon run (scripts/valgrind.sh)
)
bench_pkgs=(
  prometheus-blackbox-exporter  # the peer the benchmark compares against
  prometheus                    # scrapes both tools, as deployed
  nginx                         # the probed target
  wrk                           # the floor, and blackbox driven flat out
  python3                       # bench/bench.py
  valgrind linux-perf           # finding hot spots (bench/README.md)
)

case "$mode" in
  build) wanted=("${build_pkgs[@]}") ;;
  test) wanted=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) wanted=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${missing[*]}; run this as root (or install them with apt-get)" >&2
  exit 1
fi

echo "installing: ${missing[*]}" >&2
# Server packages (prometheus) would start their own services on a systemd
# host; the tests start their own instances, so keep the package ones down.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() { [ "$created_policy" = 1 ] && rm -f "$policy"; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
