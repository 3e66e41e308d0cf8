#!/usr/bin/env bash
# Quick start 2: install what is missing, build, and run the whole test suite
# (unit tests and integration tests against real servers on 127.0.0.1), then
# the static checks and the sanitizer and Valgrind runs (docs/development.md).
# HX_SKIP_LINT=1 / HX_SKIP_SANITIZERS=1 skip those for a quick local run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
build_dir="${BUILD_DIR:-build}"
# Each stage's wall time, printed as one line at the end (docs/development.md
# keeps a measured table of them).
stages=()
timed() {  # timed <name> <command...>
  local name="$1" begin
  shift
  begin=$(date +%s)
  if ! "$@"; then
    echo "test: $name FAILED after $(( $(date +%s) - begin ))s" >&2
    exit 1
  fi
  stages+=("$name $(( $(date +%s) - begin ))s")
  echo "test: $name in $(( $(date +%s) - begin ))s" >&2
}
run_ctest() { (cd "$build_dir" && ctest --output-on-failure --timeout 300 -j "$(nproc)" "$@"); }
total_start=$(date +%s)
timed build env BUILD_DIR="$build_dir" scripts/build.sh -DHX_BUILD_TESTS=ON
# Lint needs only CPU, and ctest leaves about 40% of the two CPUs idle (its
# tests wait on servers, timers and sleeps): lint runs beside ctest at idle
# priority (scripts/lib/idle_job.sh); its output is printed after ctest's.
source scripts/lib/idle_job.sh
trap idle_job_stop EXIT
if [ -z "${HX_SKIP_LINT:-}" ]; then
  idle_job_start scripts/lint.sh
fi
timed ctest run_ctest "$@"
if idle_job_running; then
  idle_job_finish test lint ctest || exit 1
  stages+=("lint $(idle_job_elapsed)s (from ctest's start)")
fi
if [ -z "${HX_SKIP_SANITIZERS:-}" ]; then
  timed sanitize env BUILD_DIR="$build_dir" scripts/sanitize.sh
fi
echo "test: all passed in $(( $(date +%s) - total_start ))s: $(IFS=,; echo "${stages[*]}")" >&2
