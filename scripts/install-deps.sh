#!/usr/bin/env bash
# Installs the Debian packages health_exporter needs, and only those missing.
# Usage: scripts/install-deps.sh build|test|bench
#   build: compiler, CMake and the libraries the daemon links
#   test:  build + GoogleTest and the real servers/validators the tests start
#   bench: build + the peer and the servers bench/run.sh starts
# Idempotent: when everything is present it runs no apt command at all.
# Exit status: 0 when everything is installed (already or now); 1 when packages
# are missing and this is not root; 2 for a bad mode; otherwise the failed
# step's status, with a one-line message naming it (scripts/lib/errtrap.sh).
# Environment: HX_POLICY_RC_D (default /usr/sbin/policy-rc.d): where the
# "start no services" policy is put while installing, if none is there.
# tests/scripts/install_deps_test.sh runs this with stub apt-get/dpkg-query/id.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"

mode="${1:-build}"

build_pkgs=(
  g++ cmake ninja-build pkg-config git
  prometheus-cpp-dev libcivetweb-dev libssl-dev libcurl4-openssl-dev libuv1-dev
  libyaml-cpp-dev libspdlog-dev libre2-dev zlib1g-dev nlohmann-json3-dev libcli11-dev
  libpq-dev libhiredis-dev libsystemd-dev libcrypt-dev
  libc-ares-dev               # the one asynchronous resolver on the loop, and dns checks' queries
  libsqlite3-dev              # the embedded store: journal, history, heartbeat state (docs/storage.md)
  # proto/metrics.proto, compiled when the tests are built (the default): the
  # tests decode the protobuf writer's output with it. The daemon encodes by
  # hand and needs no libprotobuf at run time.
  protobuf-compiler libprotobuf-dev
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
  python3-prometheus-client   # its strict OpenMetrics parser checks the OpenMetrics writer (unit test)
  dpkg-dev                    # dpkg-shlibdeps for the .deb that CPack builds
  clang libclang-rt-14-dev    # sanitizer builds (scripts/sanitize.sh); the runtimes are only "recommended"
  clang-tidy cppcheck         # scripts/lint.sh
  shellcheck                  # tests/scripts/errtrap_test.sh
  valgrind                    # memcheck daemon run (scripts/valgrind.sh)
  knot dnsmasq-base unbound   # real DNS servers for dns checks and the resolver's tests
  python3-grpcio              # a real gRPC server with the health service for grpc checks' tests (/usr/bin/python3)
  nftables iproute2           # packet loss inside a network namespace for icmp checks' tests
)
bench_pkgs=(
  prometheus-blackbox-exporter  # the peer the benchmark compares against
  prometheus                    # scrapes both tools, as deployed
  nginx                         # the probed target
  wrk                           # the floor, and blackbox driven flat out
  python3                       # bench/bench.py
  valgrind linux-perf           # finding hot spots (bench/README.md)
  knot dnsmasq-base iproute2    # the DNS server of the dns figure; the resolver bench in a namespace
)

case "$mode" in
  build) wanted=("${build_pkgs[@]}") ;;
  test) wanted=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) wanted=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${wanted[@]}"; do
  # Captured, not piped into `grep -q`: under pipefail an early-exiting grep
  # can fail the pipeline. dpkg-query fails for a package it never heard of.
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=""
  if [[ $status != *"install ok installed"* ]]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

uid=$(id -u)
if [ "$uid" -ne 0 ]; then
  echo "${0##*/}: missing packages: ${missing[*]}" >&2
  echo "${0##*/}: run it as root to install them, or: apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "installing: ${missing[*]}" >&2
# Server packages (prometheus) would start their own services on a systemd
# host; the tests start their own instances, so keep the package ones down.
# An existing policy is someone else's: it is left exactly as it is.
policy="${HX_POLICY_RC_D:-/usr/sbin/policy-rc.d}"
created_policy=0
# Keeps the script's own exit status: an EXIT trap's last status would
# otherwise become the script's (`[ "$created_policy" = 1 ] && rm ...` made
# every run with a policy already in place exit 1).
remove_policy() {
  local status=$?
  if [ "$created_policy" = 1 ]; then
    rm -f "$policy"
  fi
  exit "$status"
}
trap remove_policy EXIT
if [ ! -e "$policy" ]; then
  created_policy=1
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
