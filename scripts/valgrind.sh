#!/usr/bin/env bash
# A short daemon run under Valgrind memcheck: http, tcp, exec, disk, memory and
# heartbeat checks against targets on 127.0.0.1 (a python3 http.server and
# ports nothing listens on), its HTTP endpoints scraped while the checks run,
# then SIGTERM. Fails on any memcheck error and on any definite leak.
# Usage: scripts/valgrind.sh [path/to/health_exporter] [seconds]
# VALGRIND_ARGS adds memcheck flags, e.g. --show-leak-kinds=all; KEEP_VALGRIND_LOG=1
# prints the whole memcheck log even on success.
# Needs an unsanitized build (ASan binaries cannot run under Valgrind).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."
root="$(pwd)"
binary="$(realpath "${1:-build/health_exporter}")"
seconds="${2:-8}"

work="$(mktemp -d /tmp/hx-valgrind-XXXXXX)"
target_pid=""
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then kill -KILL "$daemon_pid" 2>/dev/null || true; fi
  if [ -n "$target_pid" ]; then kill "$target_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() {  # wait_for <seconds> <command...>: poll until the command succeeds
  local deadline=$(( $(date +%s) + $1 ))
  shift
  until "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      return 1
    fi
    sleep 0.2
  done
}

# The target: python3's http.server on an ephemeral loopback port.
mkdir "$work/www" && echo ok >"$work/www/health"
python3 -u -m http.server --bind 127.0.0.1 --directory "$work/www" 0 >"$work/target.log" 2>&1 &
target_pid=$!
wait_for 20 grep -q 'port [0-9]' "$work/target.log" || { cat "$work/target.log" >&2; exit 1; }
port="$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$work/target.log" | head -1)"
# A loopback port with nothing behind it: the tcp/http "refused" paths.
closed_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "valgrind-heartbeat-token" >"$work/token"
chmod 600 "$work/token"

cat >"$work/config.yml" <<EOF
global:
  # Valgrind runs the daemon 20-50x slower and one thread at a time: timeouts
  # generous enough that the checks' success paths are exercised too.
  interval: 2s
  timeout: 5s
checks:
  - name: http-ok
    http: {url: "http://127.0.0.1:$port/health", expect_status: [200], expect_body: '^ok'}
  - name: http-404
    critical: false
    http: {url: "http://127.0.0.1:$port/missing", expect_status: [200]}
  - name: http-refused
    critical: false
    http: {url: "http://127.0.0.1:$closed_port/"}
  - name: tcp-ok
    tcp: {address: "127.0.0.1:$port"}
  - name: tcp-refused
    critical: false
    depends_on: [tcp-ok]
    tcp: {address: "127.0.0.1:$closed_port"}
  - name: exec-true
    exec: {command: [/bin/true]}
  - name: exec-timeout
    critical: false
    timeout: 1s
    exec: {command: [/bin/sleep, "30"]}
  - name: disk
    disk: {path: /}
  - name: memory
    memory: {degraded_above: 99%}
  - name: backup
    critical: false
    heartbeat: {ttl: 1h, token_file: "$work/token"}
EOF

# definite leaks are errors; "still reachable" (libraries' process-lifetime
# caches, see docs/development.md) is summarised only. The suppression file
# holds only explained third-party reports.
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes \
  --suppressions="$root/scripts/sanitizers/valgrind.supp" --log-file="$work/valgrind.log" \
  ${VALGRIND_ARGS:-} \
  "$binary" --config.file="$work/config.yml" --web.listen-address=127.0.0.1:0 \
  --storage.path="$work/storage" --log.level=debug >"$work/daemon.log" 2>&1 &
daemon_pid=$!

# Under valgrind start-up takes seconds.
started_or_gone() { grep -q 'msg=started' "$work/daemon.log" || ! kill -0 "$daemon_pid" 2>/dev/null; }
if ! wait_for 120 started_or_gone || ! grep -q 'msg=started' "$work/daemon.log"; then
  echo "valgrind: the daemon did not start" >&2
  cat "$work/daemon.log" "$work/valgrind.log" >&2
  exit 1
fi
listen="$(sed -n 's/.*msg=started .*address=\(127\.0\.0\.1:[0-9]*\).*/\1/p' "$work/daemon.log" | head -1)"

# Exercise the server threads while the loop writes results.
end=$(( $(date +%s) + seconds ))
while [ "$(date +%s)" -lt "$end" ]; do
  for path in /metrics /status /healthz /readyz /; do
    curl -s -o /dev/null --max-time 10 "http://$listen$path" || true
  done
  curl -s -o /dev/null --max-time 10 -X POST -H "Authorization: Bearer valgrind-heartbeat-token" \
    "http://$listen/heartbeat/backup" || true
  sleep 0.5
done
# Memcheck runs the daemon 20-50x slower: poll rather than fail on one slow answer.
wait_for 60 curl -sf --max-time 10 -o "$work/status.json" "http://$listen/status"

kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=""

# No match (memcheck died early) is not this line's failure: the log follows.
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable' \
  "$work/valgrind.log" | sed 's/^==[0-9]*== */valgrind: /' >&2 || true
for check in http-ok tcp-ok exec-true disk backup; do
  grep -q "\"$check\"" "$work/status.json" || { echo "valgrind: no result for $check" >&2; rc=1; }
done
if [ "$rc" -ne 0 ]; then
  echo "valgrind: exit status $rc (99 = memcheck errors or definite leaks)" >&2
  cat "$work/valgrind.log" >&2
  tail -50 "$work/daemon.log" >&2
  exit 1
fi
if [ -n "${KEEP_VALGRIND_LOG:-}" ]; then
  cat "$work/valgrind.log" >&2
fi
echo "valgrind: clean" >&2
