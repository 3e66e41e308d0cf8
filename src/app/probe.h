#pragma once
// The debug run (docs/debug-run.md): one traced attempt of one configured
// check, outside the schedule. Two ways in, one mechanism:
//   - `health_exporter --probe-once=<check>` (ProbeOnce()): loads the config,
//     runs the attempt on a private loop and prints the trace;
//   - `POST /-/probe/<check>` on the daemon (ProbeGate + StartProbe() on the
//     daemon's loop): the live config's check, built fresh from its spec.
// Either way the attempt is a new Check made by NewCheck() with an
// AttemptTrace (io/attempt_trace.h), under the check's hard timeout and its
// degraded_latency, as the scheduler would judge it. Nothing is recorded: no
// board, no metrics, no journal, no state.

#include <uv.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "checks/check.h"
#include "config/config.h"
#include "io/attempt_trace.h"

namespace hx {

class CheckServices;
class IoContext;

/// What one traced attempt found. Plain data; every text already shows
/// ${VAR} expansions as written and holds no secret.
struct ProbeReport {
  std::string check;
  std::string type;
  std::string target;
  CheckResult result;  ///< the verdict, degraded_latency and the timeout applied
  bool timed_out = false;
  uint64_t duration_ns = 0;
  /// Every event in order: "start", the shared steps' events (resolve,
  /// connect, tls, request, response, body, dns), then "phase",
  /// "observation" and "result".
  std::vector<TraceEvent> events;
};

/// Starts one traced attempt of `check` on `io`'s loop (call on the loop
/// thread); `done` runs once on the loop thread with the report, when the
/// attempt ends or its hard timeout (check.timeout) fires. The run owns
/// itself and frees itself afterwards; its timer does not keep the loop
/// alive. `services` may be null (types that need one report its absence).
void StartProbe(IoContext& io, CheckServices* services, const CheckConfig& check,
                std::function<void(ProbeReport)> done);

/// The report as readable text: a header, one line per event with its time
/// offset ("+  0.4ms resolve  addresses 127.0.0.1"), the verdict.
std::string ProbeReportText(const ProbeReport& report);
/// The report as one JSON object (docs/debug-run.md).
std::string ProbeReportJson(const ProbeReport& report);

/// 0 healthy, 1 degraded or unhealthy.
int ProbeExitCode(const ProbeReport& report);

/// Up to 3 of `names` closest to `name` (edit distance at most a third of
/// its length, or containing it), for "unknown check" messages. Pure.
std::vector<std::string> CloseNames(std::string_view name, const std::vector<std::string>& names);

/// `health_exporter --probe-once=<check>`: loads `config_file`, sets up the
/// check services (reading, never writing, the state under `storage_path`),
/// runs one attempt of `check` and prints the trace to `out` (JSON when
/// `json`). Returns the exit code: 0 healthy, 1 degraded or unhealthy, 2 a
/// config error or an unknown check (errors to `err`).
int ProbeOnce(const std::string& config_file, const std::string& check,
              const std::string& storage_path, bool json, std::ostream& out, std::ostream& err);

/// The rate limit of POST /-/probe/<check>: per check, one run in flight and
/// at most one start per `min_gap`; and at most `max_running` runs in flight
/// in all, since each holds a web server worker while it waits. Thread-safe
/// (a mutex).
class ProbeGate {
 public:
  explicit ProbeGate(std::chrono::milliseconds min_gap = std::chrono::seconds(5),
                     int max_running = 2)
      : min_gap_(min_gap), max_running_(max_running) {}

  /// Admits a run of `check` now (then Done() must follow), or returns how
  /// many whole seconds to wait (>= 1) for Retry-After.
  int64_t TryStart(const std::string& check);
  /// The admitted run of `check` ended.
  void Done(const std::string& check);

 private:
  struct Slot {
    std::chrono::steady_clock::time_point last_start{};
    bool running = false;
  };
  const std::chrono::milliseconds min_gap_;
  const int max_running_;
  std::mutex mu_;
  int running_ = 0;
  std::map<std::string, Slot> slots_;  // only configured checks that were probed
};

/// POST /-/probe/<check> on the daemon: takes a request from a web server
/// thread to the loop, which finds the check in the live config (`lookup`)
/// and runs StartProbe() with the daemon's IoContext and services, and
/// waits for the report a bounded time (the check's timeout plus a second).
/// Probe() is thread-safe (web threads); everything else is loop-thread
/// only.
class DaemonProber {
 public:
  /// The live config's check named so, or null; called on the loop thread.
  using Lookup = std::function<const CheckConfig*(const std::string& name)>;
  struct Reply {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    int64_t retry_after_seconds = 0;  ///< 429
  };

  /// On the loop thread, before it runs; `io` and `services` outlive it.
  DaemonProber(IoContext& io, CheckServices& services, Lookup lookup,
               std::chrono::milliseconds min_gap = std::chrono::seconds(5));
  ~DaemonProber();
  DaemonProber(const DaemonProber&) = delete;
  DaemonProber& operator=(const DaemonProber&) = delete;

  /// Web thread: runs one attempt of `check` and answers its trace (JSON
  /// when `json`, else text), or 404 unknown check, 429 rate-limited, 503
  /// shutting down, 504 no answer in time.
  Reply Probe(const std::string& check, bool json);

  /// Loop thread: stops taking requests and answers those waiting 503.
  /// Called when the daemon stops; idempotent.
  void Close();

  struct Waiter;  // defined in the .cc file

 private:
  static void OnAsync(uv_async_t* async);
  void StartOnLoop(const std::shared_ptr<Waiter>& waiter);

  IoContext& io_;
  CheckServices& services_;
  Lookup lookup_;
  std::shared_ptr<ProbeGate> gate_;  // shared with runs that may outlive this
  uv_async_t* async_ = nullptr;      // heap: freed by its close callback
  std::mutex mu_;                    // guards queue_ and closed_
  std::vector<std::shared_ptr<Waiter>> queue_;
  bool closed_ = false;
};

}  // namespace hx
