#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a bounded time (docs/fuzzing.md).
#
#   scripts/fuzz.sh BUILD_DIR [SECONDS] [TARGET...]
#       Runs each target (default: all of fuzz/*_fuzzer.cc) for SECONDS
#       (default 30) on a copy of its seed corpus fuzz/corpus/<target>/ in a
#       temp dir, so the repository is never modified. Fails (exit 1) on any
#       crash, leak, timeout or OOM, printing the input that caused it and the
#       command that reproduces it; that temp dir is kept, the others removed.
#       JOBS targets run at once (default: one per CPU).
#   scripts/fuzz.sh --build [BUILD_DIR]
#       Configures and builds a fuzz-only dir (default build-fuzz): clang,
#       HX_SANITIZE=address,undefined, HX_BUILD_FUZZERS=ON, no tests.
#
# BUILD_DIR must have been configured with -DHX_BUILD_FUZZERS=ON (clang).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"

repo=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

if [[ ${1:-} == --build ]]; then
  dir=${2:-$repo/build-fuzz}
  # -O1 keeps the fuzzers fast while assert()s stay in (no NDEBUG).
  CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$repo" -B "$dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DHX_SANITIZE=address,undefined -DHX_BUILD_FUZZERS=ON -DHX_BUILD_TESTS=OFF
  cmake --build "$dir" -j"${JOBS:-2}" --target fuzzers
  echo "built; run: $0 $dir [SECONDS]"
  exit 0
fi

[[ $# -ge 1 && ${1:0:1} != - ]] || usage
build=$(cd "$1" && pwd)
seconds=${2:-30}
[[ $seconds =~ ^[0-9]+$ ]] || usage
shift $(($# >= 2 ? 2 : 1))

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for source in "$repo"/fuzz/*_fuzzer.cc; do
    targets+=("$(basename "$source" .cc)")
  done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hx-fuzz.XXXXXX")
# Undefined behaviour and leaks are findings; the stack goes to the log.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

failed=()
jobs=${JOBS:-$(nproc)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || jobs=1

# Starts one target in the background; its exit status goes to $dir/status.
start_target() {
  local target=$1 binary=$build/fuzz/$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [[ -d $repo/fuzz/corpus/$target ]]; then
    cp -r "$repo/fuzz/corpus/$target/." "$dir/corpus/"
  fi
  local args=(-max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$dir/artifacts/")
  if [[ -f $repo/fuzz/$target.dict ]]; then
    args+=(-dict="$repo/fuzz/$target.dict")
  fi
  # A target's own third-party leak suppressions (fuzz/<target>.lsan.supp).
  local lsan=${LSAN_OPTIONS:-}
  if [[ -f $repo/fuzz/$target.lsan.supp ]]; then
    lsan=suppressions=$repo/fuzz/$target.lsan.supp
  fi
  (
    status=0
    (cd "$dir" && LSAN_OPTIONS=$lsan "$binary" "${args[@]}" corpus) >"$dir/log.txt" 2>&1 || status=$?
    echo "$status" >"$dir/status"
  ) &
}

# Prints a finished target's row (and on failure its log tail and input).
report_target() {
  local target=$1 binary=$build/fuzz/$1 dir=$work/$1
  local status execs coverage cov ft artifact
  status=$(cat "$dir/status" 2>/dev/null || echo '?')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log.txt" | tail -1)
  coverage=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$dir/log.txt" | tail -1 || true)
  cov=$(awk '{print $2}' <<<"$coverage")
  ft=$(awk '{print $4}' <<<"$coverage")
  artifact=$(find "$dir/artifacts" -type f | head -1)
  if [[ $status == 0 && -z $artifact ]]; then
    printf '%-24s %8s %10s %8s %8s %s\n' "$target" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" ok
    rm -rf "$dir"
  else
    printf '%-24s %8s %10s %8s %8s %s\n' "$target" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
      "FAILED (exit $status)"
    failed+=("$target")
    echo "---- last lines of $dir/log.txt"
    grep -v -E '^#[0-9]+' "$dir/log.txt" | tail -40 || true  # an empty log is no reason to stop here
    echo "----"
    if [[ -n $artifact ]]; then
      echo "input: $artifact"
      echo "reproduce: $binary $artifact"
    else
      echo "no input was saved; see $dir/log.txt"
    fi
  fi
}

# $jobs targets at a time (default one per CPU), each for its full $seconds:
# libFuzzer runs one process on one CPU, so a 2-CPU machine does two at once
# and the run takes half the wall time with the same fuzzing per target.
# Rows are printed in target order as each finishes.
printf '%-24s %8s %10s %8s %8s %s\n' target seconds execs cov ft result
running=()
pids=()
for target in "${targets[@]}"; do
  if [[ ! -x $build/fuzz/$target ]]; then
    echo "$target: $build/fuzz/$target is missing (configure with -DHX_BUILD_FUZZERS=ON and build 'fuzzers')" >&2
    failed+=("$target")
    continue
  fi
  if [[ ${#running[@]} -ge $jobs ]]; then
    wait "${pids[0]}" || true
    report_target "${running[0]}"
    running=("${running[@]:1}")
    pids=("${pids[@]:1}")
  fi
  start_target "$target"
  running+=("$target")
  pids+=("$!")
done
while [[ ${#running[@]} -gt 0 ]]; do
  wait "${pids[0]}" || true
  report_target "${running[0]}"
  running=("${running[@]:1}")
  pids=("${pids[@]:1}")
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzing FAILED: ${failed[*]} (inputs and logs kept under $work)" >&2
  exit 1
fi
rm -rf "$work"
echo "fuzzing passed: ${#targets[@]} targets, ${seconds}s each"
