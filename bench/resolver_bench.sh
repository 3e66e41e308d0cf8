#!/usr/bin/env bash
# Instructions per name lookup: the daemon's Resolver (c-ares on the loop) vs
# uv_getaddrinfo (glibc on libuv's thread pool), measured with callgrind (all
# threads), against dnsmasq on 127.0.0.1:53 inside a network + mount namespace
# of this script's own (glibc only talks to port 53 of /etc/resolv.conf, so
# /etc/resolv.conf and /etc/hosts are bind-mounted there; nothing leaves the
# namespace). Needs root, valgrind, dnsmasq and build/resolver_bench (see
# bench/resolver_bench.cc for the compile line).
#
#   bench/resolver_bench.sh [COUNT]     # default 500 lookups per run
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-500}"
bin="$PWD/build/resolver_bench"
[ -x "$bin" ] || { echo "build $bin first (bench/resolver_bench.cc)" >&2; exit 1; }
exec unshare -m -n bash -s "$bin" "$count" <<'INNER'
set -euo pipefail
bin="$1"; count="$2"
ip link set lo up
dir=$(mktemp -d)
trap 'kill $dns_pid 2>/dev/null || true; rm -rf "$dir"' EXIT
echo "nameserver 127.0.0.1" > "$dir/resolv.conf"
printf '127.0.0.1 localhost\n10.9.9.9 hosts.test\n' > "$dir/hosts"
mount --bind "$dir/resolv.conf" /etc/resolv.conf
mount --bind "$dir/hosts" /etc/hosts
dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address=127.0.0.1 --port=53 --pid-file= --user=root \
  --local=/test/ --host-record=api.test,10.0.0.1,fd00::1 2>/dev/null &
dns_pid=$!
sleep 0.5
collected() {  # mode name count -> instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-6s %-12s %12s\n' mode name instr/lookup
for name in api.test hosts.test; do
  for mode in uv cares; do
    base=$(collected "$mode" "$name" 0)
    full=$(collected "$mode" "$name" "$count")
    printf '%-6s %-12s %12d\n' "$mode" "$name" $(( (full - base) / count ))
  done
done
INNER
