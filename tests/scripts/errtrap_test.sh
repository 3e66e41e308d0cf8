#!/usr/bin/env bash
# The shell scripts never stop with a non-zero status and no word:
#  1. scripts/lib/errtrap.sh prints exactly one line naming the script, the line
#     and the failed command, keeps the status, and stays quiet where set -e
#     does not stop (if, ||, a condition);
#  2. every script in scripts/ and bench/ (and .ci/run, tests/packaging, these
#     tests) sources it right after `set -euo pipefail`;
#  3. none has the statements that fail silently: `[ ... ] && cmd` (its status
#     becomes a function's, a trap's or the script's when it is the last one)
#     or `... | grep -q` (under pipefail, grep's early exit can fail the writer
#     with SIGPIPE);
#  4. shellcheck finds no warning (when shellcheck is installed; exit 77 = skipped).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/errtrap.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/hx-errtrap-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# 1. The helper's behaviour, on a script that fails where its argument says.
and='&&'  # spelled so that check 3 below does not find this file's own probe
cat >"$work/probe.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
source "$root/scripts/lib/errtrap.sh"
quiet() { false; true; }
if quiet; then :; fi
(exit 3) || true
until quiet; do break; done
in_function() {
  ls /nonexistent-hx-errtrap 2>/dev/null
  echo unreachable
}
last_and() { [ "\$1" = yes ] $and echo x; }
case "\$1" in
  function) in_function ;;
  subshell) (cd / && exit 7) ;;
  substitution) value=\$(exit 5); echo "\$value" ;;
  pipeline) printf 'a\n' | grep b | cat ;;
  last-and) last_and no ;;
  explicit-exit) echo "probe: usage" >&2; exit 2 ;;
  ok) quiet || true ;;
esac
EOF
chmod 755 "$work/probe.sh"

# probe CASE STATUS LINE_REGEX: exit status and the whole of stderr.
probe() {
  local rc=0 err
  "$work/probe.sh" "$1" >/dev/null 2>"$work/err" || rc=$?
  err="$(cat "$work/err")"
  [ "$rc" = "$2" ] || fail "$1: exit status $rc, expected $2"
  if [ -z "$3" ]; then
    [ -z "$err" ] || fail "$1: expected no output, got: $err"
  elif ! grep -qxE -e "$3" <<<"$err"; then
    fail "$1: stderr is not /$3/: $err"
  fi
}
probe function 2 'probe\.sh: failed at line 9: ls /nonexistent-hx-errtrap 2> /dev/null \(exit 2\)'
probe subshell 7 'probe\.sh: failed at line 15: \( cd / && exit 7 \) \(exit 7\)'
probe substitution 5 'probe\.sh: failed at line 16: value=\$\(exit 5\) \(exit 5\)'
probe pipeline 1 'probe\.sh: failed at line 17: cat \(exit 1\)'
probe last-and 1 'probe\.sh: failed at line 18: \[ "\$1" = yes \] \(exit 1\)'
probe explicit-exit 2 'probe: usage'
probe ok 0 ''

# 2.-4. Every script.
mapfile -t scripts < <(cd "$root" && {
  find scripts bench tests/scripts tests/packaging -name '*.sh'
  echo .ci/run
} | grep -v '^scripts/lib/' | sort)
[ ${#scripts[@]} -ge 12 ] || fail "only ${#scripts[@]} scripts found: ${scripts[*]}"
for s in "${scripts[@]}"; do
  first="$(grep -m1 -n -v -E '^(#|$)' "$root/$s" || true)"
  second="$(grep -v -E '^(#|$)' "$root/$s" | sed -n 2p)"
  [ "${first#*:}" = "set -euo pipefail" ] || fail "$s: first command is not set -euo pipefail: $first"
  [[ $second == "source "*"/scripts/lib/errtrap.sh\"" || $second == "source "*"/lib/errtrap.sh\"" ]] \
    || fail "$s: does not source scripts/lib/errtrap.sh right after set -euo pipefail: $second"
  grep -nvE '^\s*#' "$root/$s" >"$work/code" || true  # without comment lines
  if grep -E '(^[0-9]+:|\{)\s*(\[\[?|test ) .*&& ' "$work/code" | grep -v '||' >"$work/found"; then
    fail "$s: '[ ... ] && cmd' as a statement (use if): $(cat "$work/found")"
  fi
  if grep -E '\|\s*grep -[A-Za-z]*q' "$work/code" >"$work/found"; then
    fail "$s: a pipe into grep -q under pipefail (capture the output first): $(cat "$work/found")"
  fi
done
echo "checked ${#scripts[@]} scripts: ${scripts[*]}"

skipped=0
if command -v shellcheck >/dev/null; then
  (cd "$root" && shellcheck -S warning "${scripts[@]}" scripts/lib/errtrap.sh) || fail "shellcheck warnings above"
else
  echo "shellcheck not installed: that part is skipped (scripts/install-deps.sh test installs it)"
  skipped=1
fi

if [ "$failures" -ne 0 ]; then
  echo "errtrap_test: $failures FAILED" >&2
  exit 1
fi
if [ "$skipped" -ne 0 ]; then
  exit 77
fi
echo "errtrap_test: passed"
