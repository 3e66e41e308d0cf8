# shellcheck shell=bash
# Sourced by every script in scripts/ and bench/ right after `set -euo pipefail`:
# when a failing command makes the script exit (set -e), print one line naming
# the script, the line and the command with its exit status, e.g.
#   install-deps.sh: failed at line 72: apt-get update -qq (exit 100)
# so that no script ever stops with a non-zero status and no word.
#
# errtrace (set -E) makes functions, subshells and command substitutions
# inherit the trap; only the top-level shell prints, naming the command as
# written there (`( cd build && ctest ... )`, `x=$(...)`), so a failure inside
# a subshell is reported once. Explicit `exit N` is not a failure: scripts
# print their own message before those.
set -E

hx_errtrap() {
  local status=$1 line=$2 command=$3
  [[ $BASH_SUBSHELL -eq 0 ]] || return 0
  command=${command//$'\n'/ }
  if [[ ${#command} -gt 200 ]]; then
    command="${command:0:200}..."
  fi
  echo "${0##*/}: failed at line $line: $command (exit $status)" >&2
}

trap 'hx_errtrap "$?" "$LINENO" "$BASH_COMMAND"' ERR
