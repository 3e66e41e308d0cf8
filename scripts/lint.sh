#!/usr/bin/env bash
# Static checks over src/: clang-tidy (checks in .clang-tidy) and cppcheck
# (suppressions in scripts/cppcheck-suppressions.txt). Exits non-zero on any
# finding. docs/development.md says what is checked and why.
# Usage: scripts/lint.sh [file.cc ...]   (default: every src/ translation unit)
# Environment: LINT_BUILD_DIR (default build-lint): configured, never built,
# with clang, only for its compile_commands.json.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."
root="$(pwd)"
build_dir="${LINT_BUILD_DIR:-build-lint}"
jobs="$(nproc)"

if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find src -name '*.cc' | sort)
fi

# Configuring is enough: compile_commands.json and the generated header are
# written at configure time. clang's command lines, because clang-tidy is clang.
if [ ! -f "$build_dir/compile_commands.json" ]; then
  # HX_UNITY_BUILD=OFF: clang-tidy needs each file's own command line.
  CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DHX_BUILD_TESTS=OFF -DHX_UNITY_BUILD=OFF >/dev/null
fi

status=0

start=$(date +%s)
echo "lint: clang-tidy on ${#files[@]} files (-j$jobs)" >&2
if command -v run-clang-tidy >/dev/null; then
  # run-clang-tidy takes regexes; anchor each path.
  regexes=()
  for f in "${files[@]}"; do regexes+=("$root/$f\$"); done
  if ! run-clang-tidy -quiet -j "$jobs" -p "$build_dir" "${regexes[@]}" \
      >"$build_dir/clang-tidy.log" 2>&1; then
    status=1
  fi
else
  : >"$build_dir/clang-tidy.log"
  for f in "${files[@]}"; do
    clang-tidy --quiet -p "$build_dir" "$f" >>"$build_dir/clang-tidy.log" 2>&1 || status=1
  done
fi
# run-clang-tidy 14 forces colour; drop it so the log greps and reads plainly.
sed -i 's/\x1b\[[0-9;]*m//g' "$build_dir/clang-tidy.log"
# Only the diagnostics, not the per-file command lines run-clang-tidy echoes.
grep -E '(error|warning): ' "$build_dir/clang-tidy.log" | sort -u >&2 || true
if [ "$status" -ne 0 ] && ! grep -qE '(error|warning): ' "$build_dir/clang-tidy.log"; then
  cat "$build_dir/clang-tidy.log" >&2  # failed without a diagnostic: show why
fi
echo "lint: clang-tidy $([ $status -eq 0 ] && echo clean || echo FAILED) in $(( $(date +%s) - start ))s" >&2

start=$(date +%s)
cppcheck_status=0
# --library: know the APIs' semantics; suppressions are listed, each with why.
cppcheck --quiet --error-exitcode=1 --inline-suppr \
  --enable=warning,performance,portability --std=c++20 --language=c++ \
  --library=posix --library=gnu \
  --suppressions-list=scripts/cppcheck-suppressions.txt \
  -I src -I "$build_dir/generated" -j "$jobs" \
  --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
  "${files[@]}" || cppcheck_status=1
echo "lint: cppcheck $([ $cppcheck_status -eq 0 ] && echo clean || echo FAILED) in $(( $(date +%s) - start ))s" >&2

if [ "$status" -ne 0 ] || [ "$cppcheck_status" -ne 0 ]; then
  echo "lint: FAILED (findings above)" >&2
  exit 1
fi
