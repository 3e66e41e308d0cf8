#!/usr/bin/env bash
# scripts/lib/idle_job.sh, which runs lint beside ctest and the TSan build
# beside the ASan tests:
#  1. a job's output is printed when it is waited for, and its status kept:
#     a failed job fails idle_job_finish, with one line naming it;
#  2. idle_job_stop ends the job with every process it started (a stage that
#     fails must not leave a build running behind it);
#  3. the job runs at idle priority where the kernel allows it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/errtrap.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/scripts/lib/idle_job.sh"
work="$(mktemp -d "${TMPDIR:-/tmp}/hx-idle-job-test.XXXXXX")"
trap 'idle_job_stop; rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# 1. Output and status.
idle_job_start bash -c 'echo the job says hello; exit 0'
idle_job_running || fail "a started job is not running"
idle_job_finish probe "good job" "nothing" 2>"$work/good.err" || fail "a job that passed failed"
grep -qx "the job says hello" "$work/good.err" || fail "the job's output was not printed"
grep -q "^probe: good job done [0-9]*s after it began beside nothing$" "$work/good.err" ||
  fail "no 'done' line: $(cat "$work/good.err")"
if idle_job_running; then fail "a waited-for job still counts as running"; fi

status=0
idle_job_start bash -c 'echo about to fail; exit 7'
idle_job_finish probe "bad job" "nothing" 2>"$work/bad.err" || status=$?
[ "$status" -eq 7 ] || fail "a job's status 7 came back as $status"
grep -qx "about to fail" "$work/bad.err" || fail "a failed job's output was not printed"
grep -q "^probe: bad job FAILED [0-9]*s after it began beside nothing$" "$work/bad.err" ||
  fail "no 'FAILED' line: $(cat "$work/bad.err")"

# 2. Stopping ends the job's children too.
idle_job_start bash -c "sleep 300 & echo \$! > '$work/child'; wait"
for _ in $(seq 100); do
  if [ -s "$work/child" ]; then break; fi
  sleep 0.05
done
child="$(cat "$work/child")"
kill -0 "$child" 2>/dev/null || fail "the job's child did not start"
idle_job_stop
for _ in $(seq 100); do
  if ! kill -0 "$child" 2>/dev/null; then break; fi
  sleep 0.05
done
if kill -0 "$child" 2>/dev/null; then
  fail "idle_job_stop left the job's child $child running"
  kill "$child" 2>/dev/null || true
fi
idle_job_wait 2>/dev/null || true  # killed: its status is the signal's

# 3. Idle priority, where this kernel grants it to anyone.
if chrt --idle 0 true 2>/dev/null; then
  idle_job_start bash -c 'chrt -p $$'
  idle_job_wait 2>"$work/policy" || fail "chrt -p failed"
  grep -q "SCHED_IDLE" "$work/policy" || fail "the job is not SCHED_IDLE: $(cat "$work/policy")"
fi

if [ "$failures" -ne 0 ]; then
  echo "idle_job_test: $failures failure(s)" >&2
  exit 1
fi
echo "idle_job_test: passed"
