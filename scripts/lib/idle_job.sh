# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/sanitize.sh: runs one CPU-bound
# stage (lint, a sanitizer build) beside tests that leave much of the CPU idle
# while they wait on servers, timers and sleeps. The job runs under
# SCHED_IDLE (when the kernel allows it), so it gets a CPU only when no test
# wants one and a test that wakes preempts it at once; in its own process
# group, so idle_job_stop ends all of it; its output goes to a file that
# idle_job_wait (or idle_job_finish) prints. One job at a time per script.

idle_job_pid=""
idle_job_log=""
idle_job_begin=0

# idle_job_start <command...>: starts it in the background.
idle_job_start() {
  local idle=()
  if chrt --idle 0 true 2>/dev/null; then idle=(chrt --idle 0); fi
  idle_job_log="$(mktemp "${TMPDIR:-/tmp}/hx-idle-job.XXXXXX")"
  idle_job_begin=$(date +%s)
  setsid -w "${idle[@]}" "$@" >"$idle_job_log" 2>&1 &
  idle_job_pid=$!
}

# Whether a job is running (started and not yet waited for).
idle_job_running() { [ -n "$idle_job_pid" ]; }

# Ends a job still running, with all its processes (for an EXIT trap).
idle_job_stop() {
  if [ -n "$idle_job_pid" ]; then
    kill -- "-$idle_job_pid" 2>/dev/null || kill "$idle_job_pid" 2>/dev/null || true
  fi
}

# Waits for the job, prints its output to stderr and returns its exit
# status.
idle_job_wait() {
  local status=0
  wait "$idle_job_pid" || status=$?
  idle_job_pid=""
  cat "$idle_job_log" >&2
  rm -f "$idle_job_log"
  return "$status"
}

# Seconds since the last job started.
idle_job_elapsed() { echo $(( $(date +%s) - idle_job_begin )); }

# idle_job_finish <script> <job> <beside>: waits for the job as
# idle_job_wait does, then says on stderr how it went, e.g.
# "test: lint done 496s after it began beside ctest"; returns its status.
idle_job_finish() {
  local script="$1" job="$2" beside="$3" status=0
  idle_job_wait || status=$?
  if [ "$status" -ne 0 ]; then
    echo "$script: $job FAILED $(idle_job_elapsed)s after it began beside $beside" >&2
  else
    echo "$script: $job done $(idle_job_elapsed)s after it began beside $beside" >&2
  fi
  return "$status"
}
