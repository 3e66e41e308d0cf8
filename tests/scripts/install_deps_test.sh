#!/usr/bin/env bash
# Runs scripts/install-deps.sh in the situations a fresh machine has, with stub
# apt-get, dpkg-query and id first on PATH, and checks its exit status, its
# messages and the stubs' calls. Nothing on the machine is installed or
# touched: the policy-rc.d path is a temp file (HX_POLICY_RC_D).
# Usage: install_deps_test.sh [path/to/install-deps.sh]   (default: this tree's)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/errtrap.sh"
here="$(cd "$(dirname "$0")" && pwd)"
script="$(realpath "${1:-$here/../../scripts/install-deps.sh}")"

work="$(mktemp -d "${TMPDIR:-/tmp}/hx-install-deps-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
stubs="$work/bin"
mkdir "$stubs"

# dpkg-query -W -f='${Status}' PKG: "installed" for the packages listed one a
# line in $STUB_INSTALLED ("*" = every package); otherwise dpkg's own answer
# for an unknown package. Every call is logged.
cat >"$stubs/dpkg-query" <<'EOF'
#!/usr/bin/env bash
echo "dpkg-query $*" >>"$STUB_LOG"
pkg="${*: -1}"
if grep -qxF -e "$pkg" -e '*' "$STUB_INSTALLED"; then
  printf 'install ok installed'
  exit 0
fi
echo "dpkg-query: no packages found matching $pkg" >&2
exit 1
EOF
# apt-get: logs its arguments and what the policy-rc.d in place answers (101 =
# no service may start); fails with 100 when its subcommand is $STUB_APT_FAIL.
cat >"$stubs/apt-get" <<'EOF'
#!/usr/bin/env bash
policy="absent"
if [ -e "$HX_POLICY_RC_D" ]; then
  policy="exit $("$HX_POLICY_RC_D" >/dev/null 2>&1; echo $?)"
fi
echo "apt-get $* [policy-rc.d: $policy] [DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}]" >>"$STUB_LOG"
for arg in "$@"; do
  if [ "$arg" = "${STUB_APT_FAIL:-}" ]; then
    echo "E: stub apt-get $arg failed" >&2
    exit 100
  fi
done
EOF
# id -u: $STUB_UID.
cat >"$stubs/id" <<'EOF'
#!/usr/bin/env bash
echo "id $*" >>"$STUB_LOG"
[ "$*" = "-u" ] || { echo "id stub: unexpected arguments: $*" >&2; exit 64; }
echo "$STUB_UID"
EOF
chmod 755 "$stubs"/*

failures=0
current=""
fail() {
  echo "FAIL [$current]: $*" >&2
  failures=$((failures + 1))
}

# run NAME UID INSTALLED APT_FAIL MODE...: one run in a fresh case dir; sets
# rc, out, err, log (the stubs' calls) and apt (only the apt-get lines).
run() {
  current="$1"
  local uid="$2" installed="$3" apt_fail="$4"
  shift 4
  case_dir="$work/$current"
  mkdir -p "$case_dir"
  tr ' ' '\n' <<<"$installed" >"$case_dir/installed"
  : >"$case_dir/log"
  rc=0
  env PATH="$stubs:$PATH" STUB_LOG="$case_dir/log" STUB_INSTALLED="$case_dir/installed" \
    STUB_UID="$uid" STUB_APT_FAIL="$apt_fail" HX_POLICY_RC_D="$case_dir/policy-rc.d" \
    "$script" "$@" >"$case_dir/out" 2>"$case_dir/err" || rc=$?
  out="$(cat "$case_dir/out")"
  err="$(cat "$case_dir/err")"
  log="$(cat "$case_dir/log")"
  apt="$(grep '^apt-get ' "$case_dir/log" || true)"
  echo "-- $current: exit $rc, $(grep -c . "$case_dir/log" || true) stub calls"
}

expect_rc() { [ "$rc" = "$1" ] || fail "exit status $rc, expected $1; stderr: $err"; }
expect_no_apt() { [ -z "$apt" ] || fail "apt-get was called: $apt"; }
expect_err() { grep -qE -e "$1" <<<"$err" || fail "stderr lacks /$1/: $err"; }
expect_err_line() { grep -qxF -e "$1" <<<"$err" || fail "stderr lacks the line '$1': $err"; }
# The packages the script asked dpkg-query about, in order.
queried() { sed -n 's/^dpkg-query .* //p' "$case_dir/log"; }
# The exact apt-get calls of a successful install of "$@", with the policy
# apt-get saw in place.
expect_install() {
  local policy="$1"
  shift
  local want
  want="apt-get update -qq [policy-rc.d: $policy] [DEBIAN_FRONTEND=noninteractive]
apt-get install -y -qq --no-install-recommends $* [policy-rc.d: $policy] [DEBIAN_FRONTEND=noninteractive]"
  [ "$apt" = "$want" ] || fail "apt-get calls:
$apt
expected:
$want"
}

# The package lists, read from the script's own queries: it asks about every
# package the mode wants.
run list-build 0 "*" "" build
mapfile -t build_pkgs < <(queried)
run list-test 0 "*" "" test
mapfile -t test_pkgs < <(queried)
for p in g++ cmake libcurl4-openssl-dev libuv1-dev protobuf-compiler libprotobuf-dev; do
  grep -qxF "$p" <<<"$(printf '%s\n' "${build_pkgs[@]}")" || fail "build mode does not want $p"
done
for p in libgtest-dev postgresql redis-server valgrind; do
  grep -qxF "$p" <<<"$(printf '%s\n' "${test_pkgs[@]}")" || fail "test mode does not want $p"
  if grep -qxF "$p" <<<"$(printf '%s\n' "${build_pkgs[@]}")"; then
    fail "build mode wants $p"
  fi
done

# 1. Everything installed: exit 0, silent, no apt call, no policy written.
run all-installed 0 "*" "" test
expect_rc 0
expect_no_apt
[ -z "$err$out" ] || fail "output when nothing is to do: $out$err"
[ ! -e "$case_dir/policy-rc.d" ] || fail "policy-rc.d written though nothing was installed"
[ "$(queried)" = "$(printf '%s\n' "${test_pkgs[@]}")" ] || fail "queried $(queried)"

# 2. Nothing installed, no policy-rc.d (a fresh machine without one): every
# package installed in one call after one update, with a policy-rc.d that
# answers 101 in place meanwhile and removed afterwards.
run nothing-installed 0 "" "" test
expect_rc 0
expect_install "exit 101" "${test_pkgs[@]}"
expect_err_line "installing: ${test_pkgs[*]}"
[ ! -e "$case_dir/policy-rc.d" ] || fail "the policy-rc.d the script created was left behind"

# 3. Some installed: only the missing ones, apt-get update once.
some=()
for p in "${test_pkgs[@]}"; do
  case "$p" in cmake | libgtest-dev | valgrind) ;; *) some+=("$p") ;; esac
done
run some-installed 0 "${some[*]}" "" test
expect_rc 0
expect_install "exit 101" cmake libgtest-dev valgrind
expect_err_line "installing: cmake libgtest-dev valgrind"
[ "$(grep -c '^apt-get update' <<<"$apt")" = 1 ] || fail "apt-get update not run exactly once"

# 4. policy-rc.d already there (this image, many container images): used as it
# is, left untouched, and the script still exits 0 (it exited 1 silently).
mkdir -p "$work/policy-present"
printf '#!/bin/sh\n# not ours\nexit 0\n' >"$work/policy-present/policy-rc.d"
chmod 700 "$work/policy-present/policy-rc.d"
touch -d '2020-01-01 00:00:00' "$work/policy-present/policy-rc.d"
before="$(stat -c '%a %s %Y' "$work/policy-present/policy-rc.d") $(sha256sum <"$work/policy-present/policy-rc.d")"
run policy-present 0 "${some[*]}" "" test
expect_rc 0
expect_install "exit 0" cmake libgtest-dev valgrind
after="$(stat -c '%a %s %Y' "$case_dir/policy-rc.d" 2>/dev/null) $(sha256sum <"$case_dir/policy-rc.d" 2>/dev/null)"
[ "$before" = "$after" ] || fail "an existing policy-rc.d was changed: $before -> $after"

# The same through a caller under set -e, as scripts/run.sh and test.sh are.
current="policy-present-caller"
caller_rc=0
env PATH="$stubs:$PATH" STUB_LOG="$work/policy-present/log" STUB_INSTALLED="$work/policy-present/installed" \
  STUB_UID=0 STUB_APT_FAIL="" HX_POLICY_RC_D="$work/policy-present/policy-rc.d" \
  bash -c 'set -euo pipefail; "$1" build; echo reached' _ "$script" >"$work/caller.out" 2>&1 || caller_rc=$?
if [ "$caller_rc" -ne 0 ] || ! grep -qx reached "$work/caller.out"; then
  fail "a set -e caller stopped after install-deps.sh (exit $caller_rc): $(cat "$work/caller.out")"
fi

# 5. Not root with packages missing: a clear message naming them, exit 1,
# no apt call, no policy written. Not root with nothing missing is fine.
run not-root 1000 "${some[*]}" "" test
expect_rc 1
expect_no_apt
expect_err "missing packages: cmake libgtest-dev valgrind$"
expect_err "run it as root"
[ ! -e "$case_dir/policy-rc.d" ] || fail "policy-rc.d written by a non-root run"
run not-root-nothing-missing 1000 "*" "" build
expect_rc 0
expect_no_apt

# 6. apt-get failing: its status, one line naming the failed step, and the
# created policy-rc.d removed all the same.
run apt-update-fails 0 "${some[*]}" update test
expect_rc 100
expect_err '^install-deps\.sh: failed at line [0-9]+: apt-get update -qq \(exit 100\)$'
[ "$(grep -c 'failed at line' <<<"$err")" = 1 ] || fail "not exactly one failure line: $err"
[ "$(grep -c '^apt-get install' <<<"$apt")" = 0 ] || fail "apt-get install ran after update failed"
[ ! -e "$case_dir/policy-rc.d" ] || fail "policy-rc.d left behind after a failure"
run apt-install-fails 0 "${some[*]}" install test
expect_rc 100
expect_err '^install-deps\.sh: failed at line [0-9]+: apt-get install -y -qq --no-install-recommends .* \(exit 100\)$'
[ ! -e "$case_dir/policy-rc.d" ] || fail "policy-rc.d left behind after a failure"

# 7. A bad mode: usage, exit 2, nothing queried or installed.
run bad-mode 0 "" "" bogus
expect_rc 2
expect_err "usage: .*install-deps\.sh build\|test\|bench"
[ -z "$log" ] || fail "stubs called for a bad mode: $log"

# 8. No mode means build.
run default-mode 0 "" ""
expect_rc 0
expect_install "exit 101" "${build_pkgs[@]}"

if [ "$failures" -ne 0 ]; then
  echo "install_deps_test: $failures FAILED (script: $script)" >&2
  exit 1
fi
echo "install_deps_test: all cases passed"
