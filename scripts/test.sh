#!/usr/bin/env bash
# Quick start 2: install what is missing, build, and run the whole test suite
# (unit tests and integration tests against real servers on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
BUILD_DIR="${BUILD_DIR:-build}" scripts/build.sh -DHX_BUILD_TESTS=ON
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 300 -j "$(nproc)" "$@"
