#!/usr/bin/env bash
# Quick start 2: install what is missing, build, and run the whole test suite
# (unit tests and integration tests against real servers on 127.0.0.1), then
# the static checks and the sanitizer and Valgrind runs (docs/development.md).
# HX_SKIP_LINT=1 / HX_SKIP_SANITIZERS=1 skip those for a quick local run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
start=$(date +%s)
BUILD_DIR="${BUILD_DIR:-build}" scripts/build.sh -DHX_BUILD_TESTS=ON
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 300 -j "$(nproc)" "$@")
echo "test: build and ctest in $(( $(date +%s) - start ))s" >&2
if [ -z "${HX_SKIP_LINT:-}" ]; then
  start=$(date +%s)
  scripts/lint.sh
  echo "test: lint in $(( $(date +%s) - start ))s" >&2
fi
if [ -z "${HX_SKIP_SANITIZERS:-}" ]; then
  BUILD_DIR="${BUILD_DIR:-build}" scripts/sanitize.sh
fi
