#!/usr/bin/env bash
# Runs the tests under the sanitizers, and the daemon under Valgrind.
# Stages (default: all, in this order; name some to run only those):
#   asan      clang build with AddressSanitizer + UndefinedBehaviorSanitizer
#             (+ LeakSanitizer at exit) of the daemon, the unit and integration
#             tests and, when fuzz/ exists, the fuzzers; runs ctest -L unit|integration,
#             then scripts/fuzz.sh on the same build when it is there
#   tsan      clang build with ThreadSanitizer of the engine's tests only
#             (loop, scheduler, status, metrics, HTTP server; see TSAN_TARGETS)
#   valgrind  scripts/valgrind.sh: a short daemon run under memcheck, using the
#             ordinary (unsanitized) build in $BUILD_DIR (default build)
# docs/development.md explains what each one covers.
# Environment: ASAN_BUILD_DIR (build-asan), TSAN_BUILD_DIR (build-tsan),
# BUILD_DIR (build, for valgrind). Prints each stage's wall time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."
root="$(pwd)"
asan_dir="${ASAN_BUILD_DIR:-build-asan}"
tsan_dir="${TSAN_BUILD_DIR:-build-tsan}"
plain_dir="${BUILD_DIR:-build}"
jobs="$(nproc)"
stages=("$@")
if [ ${#stages[@]} -eq 0 ]; then
  stages=(asan tsan valgrind)
fi

# Reports fail the run: a sanitizer report makes its process exit non-zero,
# and tests/support/daemon_process.cc also fails the test whose spawned daemon
# printed one. UB is already fatal at compile time (-fno-sanitize-recover).
# In the ASan+UBSan build every report (ASan, LSan at exit, UBSan) exits with
# 86: UBSAN_OPTIONS sets no exitcode, it would override ASan's.
# Suppression files hold only third-party false positives, each explained.
export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:strict_string_checks=1:halt_on_error=1:exitcode=86"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$root/scripts/sanitizers/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="suppressions=$root/scripts/sanitizers/tsan.supp:second_deadlock_stack=1:halt_on_error=0:exitcode=88:print_suppressions=0"

timings=()
run_stage() {
  local name="$1"
  shift
  local start
  start=$(date +%s)
  echo "== sanitize: $name" >&2
  "$@"
  timings+=("$name $(( $(date +%s) - start ))s")
  echo "== sanitize: $name done in $(( $(date +%s) - start ))s" >&2
}

configure() {
  local dir="$1"
  shift
  local generator=()
  [ -f "$dir/CMakeCache.txt" ] || generator=(-G Ninja)
  # -O1: ASan's recommended level; much faster tests than -O0, still exact
  # stacks with frame pointers kept.
  CC=clang CXX=clang++ cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" -DHX_BUILD_TESTS=ON "$@" >/dev/null
}

# The targets of the unit and integration test executables (not faults,
# alerts, packaging), read from the build system.
test_targets() {
  cmake --build "$1" --target help | sed -n 's/^\(\(unit\|integration\)_[A-Za-z0-9_]*_test\): .*/\1/p'
}

asan_build() {
  local fuzz=()
  if [ -d fuzz ]; then
    fuzz=(-DHX_BUILD_FUZZERS=ON)
  fi
  configure "$asan_dir" -DHX_SANITIZE=address,undefined "${fuzz[@]}"
  local targets
  mapfile -t targets < <(test_targets "$asan_dir")
  if [ -d fuzz ]; then
    targets+=(fuzzers)
  fi
  cmake --build "$asan_dir" -j "$jobs" --target health_exporter "${targets[@]}"
}

asan_test() {
  # _NOT_BUILT: executables this script did not build (faults) register a
  # placeholder test; they are not part of this run.
  (cd "$asan_dir" && ctest --output-on-failure --timeout 600 -j "$jobs" \
    -L '^(unit|integration)$' -E '_NOT_BUILT$')
}

fuzz_run() {
  if [ -x scripts/fuzz.sh ]; then
    # Bounded for CI: every target, HX_FUZZ_SECONDS each (docs/fuzzing.md has longer runs).
    scripts/fuzz.sh "$asan_dir" "${HX_FUZZ_SECONDS:-15}"
  else
    echo "sanitize: no scripts/fuzz.sh, no fuzzing" >&2
  fi
}

# The engine: the loop thread writes results while the HTTP server's threads
# read snapshots and serve requests; plugins are started by spawner threads
# (child_process); a reload waits on a web thread for the loop (reload
# coordinator); bcrypt threads hand results to the front door's loop
# (basic_auth, front_door); the store's writer thread takes the loop's writes
# (store); the status page reads the daily history the loop feeds
# (daily_history). These tests drive exactly that sharing; the check-type tests for
# postgres/redis/exec/disk/memory/systemd add build time but no new threads,
# and the exec fleet's timing bounds do not hold at TSan's speed.
TSAN_TARGETS=(
  unit_scheduler_check_scheduler_test
  unit_scheduler_threshold_test
  unit_status_status_board_test
  unit_status_dependencies_test
  unit_status_daily_history_test
  unit_metrics_check_metrics_test
  unit_metrics_check_exposition_test
  unit_http_landing_page_test
  unit_checks_heartbeat_heartbeat_receiver_test
  unit_checks_heartbeat_heartbeat_store_test
  unit_http_basic_auth_test
  unit_http_front_door_test
  unit_store_store_test
  unit_app_reload_coordinator_test
  integration_child_process_test
  integration_scheduler_uv_test
  integration_web_server_test
  integration_daemon_test
  integration_status_page_test
  integration_http_check_test
  integration_tcp_check_test
  integration_heartbeat_check_test
)

tsan_build() {
  configure "$tsan_dir" -DHX_SANITIZE=thread
  cmake --build "$tsan_dir" -j "$jobs" --target health_exporter "${TSAN_TARGETS[@]}"
}

tsan_test() {
  (cd "$tsan_dir" && ctest --output-on-failure --timeout 600 -j "$jobs" \
    -L '^(unit|integration)$' -E '_NOT_BUILT$')
}

valgrind_run() {
  if [ ! -x "$plain_dir/health_exporter" ]; then
    BUILD_DIR="$plain_dir" scripts/build.sh >/dev/null
  fi
  scripts/valgrind.sh "$plain_dir/health_exporter"
}

# Internal: the tsan build alone, run beside the asan tests (below).
if [ "${stages[0]}" = tsan-build-only ]; then
  tsan_build
  exit 0
fi

# When both run, the tsan build starts beside the asan tests at idle
# priority (scripts/lib/idle_job.sh): those tests leave much of the CPU idle,
# the build takes only that. Its output is printed when the tsan stage begins.
source scripts/lib/idle_job.sh
trap idle_job_stop EXIT

for s in "${stages[@]}"; do
  case "$s" in
    asan)
      run_stage "asan build" asan_build
      if [[ " ${stages[*]} " == *" tsan "* ]]; then
        echo "== sanitize: tsan build begins beside the asan tests (idle priority)" >&2
        idle_job_start "$root/scripts/sanitize.sh" tsan-build-only
      fi
      run_stage "asan+ubsan tests" asan_test
      run_stage "fuzz" fuzz_run
      ;;
    tsan)
      if idle_job_running; then
        idle_job_finish sanitize "tsan build" "the asan tests" || exit 1
        timings+=("tsan build $(idle_job_elapsed)s (from the asan tests' start)")
      else
        run_stage "tsan build" tsan_build
      fi
      run_stage "tsan tests" tsan_test
      ;;
    valgrind) run_stage "valgrind daemon run" valgrind_run ;;
    *) echo "usage: $0 [asan] [tsan] [valgrind]" >&2; exit 2 ;;
  esac
done

echo "sanitize: all clean; wall times: $(IFS=,; echo "${timings[*]}")" >&2
