#!/usr/bin/env bash
# The module tower holds at the include level: a file in src/<module>/ includes
# only headers of its own module and of the modules it links, directly or
# through them (the DEPS of its hx_module line in CMakeLists.txt, the one place
# the tower is written down). The linker catches an upward call only when the
# symbol is not already pulled in by someone else; an upward include of an
# inline or header-only piece it never catches, and that is how cycles start.
# Also: every folder of src/ is an hx_module (a new folder cannot sit outside
# the tower), and the checker itself finds a planted upward include.
# Usage: module_tower_test.sh [source root]   (default: this tree)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/errtrap.sh"
root="$(cd "${1:-$(dirname "$0")/../..}" && pwd)"

# Prints one line per violation in the tree at $1; returns 0 when none.
check_tree() {
  local tree=$1 line name dep deps file inc module
  local -A direct=() allowed=()
  while read -r line; do
    name=${line%% *}
    deps=""
    for dep in ${line#* }; do
      if [[ $dep == hx_* ]]; then deps+=" ${dep#hx_}"; fi
    done
    direct[$name]=$deps
  done < <(sed -n 's/^hx_module(\([a-z_]*\) DEPS \(.*\))$/\1 \2/p' "$tree/CMakeLists.txt")

  # allowed[m]: m and every module it links, transitively.
  closure() {
    local m=$1 d
    if [[ -n ${allowed[$m]+x} ]]; then return 0; fi
    allowed[$m]=" $m "
    for d in ${direct[$m]}; do
      closure "$d"
      allowed[$m]+="${allowed[$d]} "
    done
  }
  for name in "${!direct[@]}"; do closure "$name"; done

  local bad=0
  for module in "$tree"/src/*/; do
    module=$(basename "$module")
    if [[ -z ${direct[$module]+x} ]]; then
      echo "src/$module/ is not an hx_module in CMakeLists.txt"
      bad=1
      continue
    fi
    while IFS=: read -r file inc; do
      inc=${inc#*\"}
      inc=${inc%%/*}
      # Only includes of our own modules ("build_info.h", "proto/..." are not).
      if [[ -z ${direct[$inc]+x} ]]; then continue; fi
      if [[ ${allowed[$module]} != *" $inc "* ]]; then
        echo "${file#"$tree"/}: includes $inc/, above $module in the tower"
        bad=1
      fi
    done < <(grep -rHoE '^#include "[a-z_]+/' "$tree/src/$module" --include='*.h' --include='*.cc' || true)
  done
  return "$bad"
}

failures=0

# 1. The checker finds what it must: an upward include, and a folder outside
#    the tower; and accepts a downward include.
work="$(mktemp -d "${TMPDIR:-/tmp}/hx-module-tower-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/util" "$work/src/checks" "$work/src/stray"
cat >"$work/CMakeLists.txt" <<'CMAKE'
hx_module(util DEPS Threads::Threads)
hx_module(checks DEPS hx_util PkgConfig::PQ)
CMAKE
printf '#include "checks/check.h"\n' >"$work/src/util/up.h"
printf '#include "util/up.h"\n#include "build_info.h"\n' >"$work/src/checks/down.cc"
expected='src/stray/ is not an hx_module in CMakeLists.txt
src/util/up.h: includes checks/, above util in the tower'
if got=$(check_tree "$work" | sort); then
  echo "FAIL: the checker passed a tree with an upward include" >&2
  failures=$((failures + 1))
elif [[ $got != "$expected" ]]; then
  printf 'FAIL: the checker said\n%s\ninstead of\n%s\n' "$got" "$expected" >&2
  failures=$((failures + 1))
fi

# 2. This tree.
if ! got=$(check_tree "$root"); then
  printf 'FAIL: the module tower is broken:\n%s\n' "$got" >&2
  failures=$((failures + 1))
fi

if [[ $failures -ne 0 ]]; then
  exit 1
fi
echo "module tower holds"
