#!/usr/bin/env bash
# The benchmark: health_exporter against prometheus-blackbox-exporter on
# 127.0.0.1, every figure from the same run. Installs what is missing, builds
# Release into build-bench and prints the table (see bench/README.md).
# Usage: bench/run.sh [--quick | --full]
#   [--only cpu,dns,icmp,floor,ceiling,scale,timeouts,startup,exec,hostile]
#   [--exec-baseline OLD_BINARY]  (exec: the same steps with another build, interleaved)
#   [--hostile-baseline OLD_BINARY]  (hostile clients: the same run with another build first)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/errtrap.sh"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HX_BENCH_BUILD:-$root/build-bench}"

"$root/scripts/install-deps.sh" bench
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHX_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target health_exporter >/dev/null
exec python3 "$root/bench/bench.py" --binary "$build/health_exporter" "$@"
