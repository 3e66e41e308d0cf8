#pragma once
// The one interface every check type implements.
//
// A check type is one .h/.cc pair in src/checks/<type>/ containing:
//   - a CheckSpec subclass: the parsed, validated config of one check of that
//     type (built by the type's Parse function from the handler mapping);
//   - a Check subclass: runs single attempts against the target;
//   - a `CheckType XxxCheckType()` describing both,
// plus one line in builtin_checks.cc. Nothing else in the daemon switches on
// the type: timers, hard timeouts, thresholds, degraded latency, metrics and
// status all live in the scheduler and the layers above it.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "checks/failure_reason.h"
#include "checks/observation.h"
#include "config/check_type.h"
#include "config/parse_context.h"

namespace hx {

class AttemptTrace;
class CheckServices;
class IoContext;

/// Outcome of one attempt, or the state of a check after thresholds.
enum class Health : uint8_t { kHealthy = 0, kDegraded = 1, kUnhealthy = 2 };

/// "healthy", "degraded", "unhealthy".
std::string_view HealthName(Health h);
/// Value of health_check_status: 1, 0.5, 0.
double HealthValue(Health h);

/// A type-specific measurement a check reports beside its health. `id` says
/// what was measured (checks/observation.h, e.g. kHttpStatusCode,
/// kHttpPhaseSeconds) and with it the one extra label it may carry;
/// `label_value` is that label's value (e.g. "dns" for phase="dns"), ignored
/// by ids without one. The metric family of each id is declared in
/// src/metrics/metric_names.h.
struct Observation {
  Observation() = default;
  Observation(ObservationId kind, double measured, std::string label = {})
      : id(kind), value(measured), label_value(std::move(label)) {}

  ObservationId id{};
  double value = 0;
  std::string label_value;

  /// The name /status shows, e.g. "http_status_code".
  std::string_view name() const { return KindOf(id).name; }
  /// The extra label's name ("" for none), e.g. "phase".
  std::string_view label_name() const { return KindOf(id).label; }
};

/// What one attempt found. `detail` is a short human sentence ("HTTP 503",
/// "connection refused", "body does not match \"ok\""); it must never contain
/// secrets (no header values, passwords, URL user-info or query strings).
/// `reason` says why in one word of the fixed set (checks/failure_reason.h):
/// every non-healthy result carries one, a healthy one has kNone.
/// `address` and `body_excerpt` are evidence for the failure journal, set by
/// the types that have them: the address the attempt talked to
/// ("127.0.0.1:8080", "[::1]:53") and the first bytes of the response body
/// of a non-healthy result with secrets and `redact` patterns masked.
struct CheckResult {
  Health health = Health::kUnhealthy;
  std::string detail;
  std::vector<Observation> observations;
  FailureReason reason = FailureReason::kNone;
  std::string address;
  std::string body_excerpt;

  static CheckResult Healthy(std::string detail = "") {
    CheckResult r;
    r.health = Health::kHealthy;
    r.detail = std::move(detail);
    return r;
  }
  static CheckResult Degraded(FailureReason reason, std::string detail) {
    CheckResult r;
    r.health = Health::kDegraded;
    r.reason = reason;
    r.detail = std::move(detail);
    return r;
  }
  static CheckResult Unhealthy(FailureReason reason, std::string detail) {
    CheckResult r;
    r.health = Health::kUnhealthy;
    r.reason = reason;
    r.detail = std::move(detail);
    return r;
  }
};

/// Runs attempts against one target. Lives on the loop thread: every method is
/// called there and the callback is invoked there. Not thread-safe.
class Check {
 public:
  using DoneCallback = std::function<void(CheckResult)>;

  virtual ~Check() = default;

  /// Starts one attempt. `done` is called exactly once when it ends, unless
  /// Cancel() is called first; it may be called before Start() returns (e.g.
  /// for an immediate local error). The scheduler never starts an attempt
  /// while one is in flight.
  virtual void Start(DoneCallback done) = 0;

  /// Aborts the attempt in flight, releasing its sockets and memory; `done` is
  /// not called afterwards. A no-op when nothing is in flight. The destructor
  /// must behave as if Cancel() were called.
  virtual void Cancel() = 0;

  /// Where the steps of this check's attempts write what they do (the debug
  /// run, io/attempt_trace.h); null, the scheduled case, traces nothing.
  /// Set once, by NewCheck(), before the first Start(); the trace outlives
  /// every attempt. Types hand it to the shared steps they run (the
  /// resolver, the curl transfer, the TLS client) and write nothing
  /// themselves.
  AttemptTrace* trace() const { return trace_; }

  /// Whether an attempt only reads state this process already holds (no
  /// I/O, no target) and completes inside Start(). The scheduler runs an
  /// instant check's first attempt at once instead of spreading it over the
  /// start window: spreading protects targets and the loop from a stampede,
  /// and an instant check loads neither.
  virtual bool IsInstant() const { return false; }
  /// Sets trace(); NewCheck() does, and a check made of checks (one per
  /// address) for its parts.
  void set_trace(AttemptTrace* trace) { trace_ = trace; }

 private:
  AttemptTrace* trace_ = nullptr;
};

/// `check`, whose results' details show every ${VAR} expansion of its
/// config as written (config::AsWritten()): checks report what they were
/// given, the expanded values. `check` itself when `expansions` is empty.
/// The wrapper is a Check like any other (loop thread only).
std::unique_ptr<Check> WithWrittenText(std::unique_ptr<Check> check,
                                       std::vector<config::Expansion> expansions);

/// What one check is created with: its name, the loop's services and the
/// services its type shares between its checks (checks/common/
/// check_services.h; a type finds its own with services->Find<T>()). Only
/// valid during CreateCheck(): a check keeps what it needs (the IoContext
/// and services outlive every check).
struct CheckContext {
  /// Only the loop: no name, no shared services (tests, one-off checks; a
  /// type that needs a service reports its absence in its results).
  /// Implicit on purpose, so that spec->CreateCheck(io) reads as it did.
  CheckContext(IoContext& io_context) : io(io_context) {}
  CheckContext(IoContext& io_context, std::string_view check_name, CheckServices* shared)
      : io(io_context), name(check_name), services(shared) {}

  IoContext& io;
  /// The check's name (CheckConfig::name).
  std::string_view name;
  /// Null: none set up.
  CheckServices* services = nullptr;
  /// Null on the scheduled path: attempts are not traced. The debug run's
  /// trace (Check::trace()), set by NewCheck().
  AttemptTrace* trace = nullptr;
};

/// The validated config of one check's handler (e.g. the `http:` mapping).
/// Immutable after parsing and shared read-only; thread-safe.
class CheckSpec {
 public:
  virtual ~CheckSpec() = default;

  /// Builds the runner for this spec, for the check `context` names.
  virtual std::unique_ptr<Check> CreateCheck(const CheckContext& context) const = 0;

  /// What is checked, for /status and logs, without secrets
  /// (e.g. "GET https://api.internal/health", "127.0.0.1:25").
  virtual std::string Target() const = 0;

  /// The secret values this spec sends (header values, a URL's password
  /// and query values, as sent on the wire), which the debug run masks in
  /// everything it shows, a response body echoing them included. Empty for
  /// types whose traced steps show none.
  virtual std::vector<std::string> Secrets() const { return {}; }
};

/// spec.CreateCheck(context) with context.trace as the check's trace()
/// (and that of the checks it is made of). Null if the type made none.
std::unique_ptr<Check> NewCheck(const CheckSpec& spec, const CheckContext& context);

/// The registry with every built-in type (see builtin_checks.cc); built on
/// first use, then read-only and safe to share between threads.
const CheckTypeRegistry& BuiltinCheckTypes();

/// Registers the built-in check types; one line per type.
void RegisterBuiltinCheckTypes(CheckTypeRegistry& registry);

/// Adds the shared services of the built-in types that have one (e.g. the
/// heartbeat store and its push endpoint); one line per such type.
void AddBuiltinCheckServices(CheckServices& services);

}  // namespace hx
