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
# tests wait on servers, timers and sleeps). So lint runs beside ctest under
# SCHED_IDLE: the kernel gives it a CPU only when no test wants one, and a
# test that wakes preempts it at once. Its output is printed after ctest's.
lint_pid=""
stop_lint() { [ -z "$lint_pid" ] || kill -- "-$lint_pid" 2>/dev/null || true; }
trap stop_lint EXIT
if [ -z "${HX_SKIP_LINT:-}" ]; then
  idle=()
  if chrt --idle 0 true 2>/dev/null; then idle=(chrt --idle 0); fi
  lint_log="$(mktemp "${TMPDIR:-/tmp}/hx-lint.XXXXXX")"
  lint_begin=$(date +%s)
  # Its own process group (setsid), so a failed ctest stops all of it.
  setsid -w "${idle[@]}" scripts/lint.sh >"$lint_log" 2>&1 &
  lint_pid=$!
fi
timed ctest run_ctest "$@"
if [ -n "$lint_pid" ]; then
  lint_status=0
  wait "$lint_pid" || lint_status=$?
  lint_pid=""
  cat "$lint_log" >&2
  rm -f "$lint_log"
  if [ "$lint_status" -ne 0 ]; then
    echo "test: lint FAILED after $(( $(date +%s) - lint_begin ))s (begun beside ctest)" >&2
    exit 1
  fi
  stages+=("lint $(( $(date +%s) - lint_begin ))s (from ctest's start)")
  echo "test: lint in $(( $(date +%s) - lint_begin ))s (from ctest's start, beside it)" >&2
fi
if [ -z "${HX_SKIP_SANITIZERS:-}" ]; then
  timed sanitize env BUILD_DIR="$build_dir" scripts/sanitize.sh
fi
echo "test: all passed in $(( $(date +%s) - total_start ))s: $(IFS=,; echo "${stages[*]}")" >&2
