#!/usr/bin/env bash
# Quick start 1: install what is missing, build, and run the daemon in the
# foreground on the shipped default config. Ctrl-C stops it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh -DHX_BUILD_TESTS=OFF
listen="${HX_LISTEN:-:9841}"
port="${listen##*:}"
cat >&2 <<MSG

health_exporter is starting on ${listen} with config/health_exporter.yml
  status page  http://127.0.0.1:${port}/
  metrics      http://127.0.0.1:${port}/metrics
  status JSON  http://127.0.0.1:${port}/status
  readiness    http://127.0.0.1:${port}/readyz
Ctrl-C stops it.

MSG
exec build/health_exporter --config.file=config/health_exporter.yml --web.listen-address="$listen" "$@"
