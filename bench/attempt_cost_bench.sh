#!/usr/bin/env bash
# Instructions per untraced tcp and http attempt (callgrind, all threads),
# for comparing two builds of bench/attempt_cost_bench.cc: the debug run's
# trace hook must cost the scheduled path nothing (docs/debug-run.md).
# Against a local python3 http.server on 127.0.0.1.
#
#   bench/attempt_cost_bench.sh BINARY [COUNT]   # default 200 attempts
# Prints, per type, Ir for COUNT and 2*COUNT attempts and the difference per
# attempt, which cancels start-up.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/errtrap.sh"
bin="$1"
count="${2:-200}"
dir=$(mktemp -d)
port=18777
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
echo ok > "$dir/index.html"
sleep 1
ir() {  # type target count
  valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$bin" "$1" "$2" "$3" >/dev/null 2>&1
  callgrind_annotate "$dir/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}
for type in tcp http; do
  target="127.0.0.1:$port"
  if [ "$type" = http ]; then target="http://127.0.0.1:$port/index.html"; fi
  one=$(ir "$type" "$target" "$count")
  two=$(ir "$type" "$target" $((2 * count)))
  echo "$type: Ir($count)=$one Ir($((2 * count)))=$two per attempt=$(( (two - one) / count ))"
done
