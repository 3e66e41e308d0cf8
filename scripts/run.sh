#!/usr/bin/env bash
# Quick start 1: install what is missing, build, and run the daemon in the
# foreground on the shipped default config. Ctrl-C stops it.
# Environment: HX_LISTEN (default :9841); BUILD_DIR (default build). The
# daemon's state (last heartbeats) is kept in $BUILD_DIR/state, not in the
# directory it was started from; extra arguments go to the daemon, and a
# --storage.path among them replaces that.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
scripts/install-deps.sh build
BUILD_DIR="$build_dir" scripts/build.sh -DHX_BUILD_TESTS=OFF
listen="${HX_LISTEN:-:9841}"
port="${listen##*:}"
state="$build_dir/state"
storage=(--storage.path="$state")
for arg in "$@"; do
  case "$arg" in --storage.path | --storage.path=*) storage=() state="(--storage.path given)" ;; esac
done
if [ ${#storage[@]} -gt 0 ]; then
  mkdir -p "$state"
fi
cat >&2 <<MSG

health_exporter is starting on ${listen} with config/health_exporter.yml
  status page  http://127.0.0.1:${port}/
  metrics      http://127.0.0.1:${port}/metrics
  status JSON  http://127.0.0.1:${port}/status
  readiness    http://127.0.0.1:${port}/readyz
  state        ${state}
Ctrl-C stops it.

MSG
exec "$build_dir/health_exporter" --config.file=config/health_exporter.yml \
  --web.listen-address="$listen" "${storage[@]}" "$@"
