#pragma once
// What every fault-injection test (tests/faults/) does around its faults:
// a fleet of ~50 healthy checks that must keep their schedule, waiting for a
// faulty check to show the expected result, and reading the daemon's fd count,
// memory and scheduler lateness from /metrics. Assertions are gtest EXPECTs
// (non-fatal), so one test reports every fault it covers. Everything here is
// meant for the test thread; not thread-safe.

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/daemon_process.h"
#include "support/tcp_test_server.h"
#include "support/test_http_server.h"

namespace hx {

/// Prometheus text format, parsed (no escapes in label values expected).
class MetricsText {
 public:
  using Labels = std::map<std::string, std::string>;
  struct Series {
    std::string name;
    Labels labels;
    double value = 0;
  };
  explicit MetricsText(const std::string& text);
  static MetricsText Scrape(const DaemonProcess& daemon);
  /// The value of the first series named `name` that has all of `labels`,
  /// or `fallback` when there is none.
  double Get(const std::string& name, const Labels& labels = {}, double fallback = -1) const;
  const std::vector<Series>& series() const { return series_; }

 private:
  std::vector<Series> series_;
};

/// The scheduler's lateness histogram: how many attempts started, and
/// bounds from its buckets.
struct Lateness {
  double count = 0;
  double sum_seconds = 0;
  /// Smallest bucket bound holding every observation (+Inf as 1e9).
  double max_bound_seconds = 0;
  /// Smallest bucket bound holding 99% of the observations.
  double p99_bound_seconds = 0;
};
Lateness ReadLateness(const MetricsText& metrics);

/// Open fds and resident memory of the daemon, each the minimum of a few
/// scrapes, so a healthy check's connection that happens to be open during
/// one scrape does not count.
struct Usage {
  double open_fds = 0;
  double rss_bytes = 0;
};
Usage SampleUsage(const DaemonProcess& daemon, int samples = 5);

/// ~50 healthy checks (HTTP against a TestHttpServer, TCP against a
/// TcpTestServer, optionally disk checks on /) to run beside the faults.
class HealthyFleet {
 public:
  struct Options {
    int http = 30;
    int tcp = 20;
    int disk = 0;
    std::string interval = "1s";
    /// Far above what the local targets need (~1 ms), so that only a
    /// daemon that stalls, not a busy shared machine, times them out.
    std::string timeout = "900ms";
  };
  explicit HealthyFleet(Options options);
  HealthyFleet() : HealthyFleet(Options{}) {}

  /// The fleet's entries for the `checks:` list (each starting "  - name:").
  std::string Yaml() const;
  const std::vector<std::string>& names() const { return names_; }
  std::chrono::milliseconds interval() const { return interval_; }

  /// Per-check runs and skipped runs at one moment.
  struct Sample {
    std::chrono::steady_clock::time_point at;
    std::map<std::string, double> runs;
    std::map<std::string, double> skipped;
    std::map<std::string, double> unhealthy;  // health_check_runs_total{status="unhealthy"}
    std::map<std::string, double> degraded;
    /// Non-healthy entries of each check's /status history, for messages.
    std::map<std::string, std::string> bad_history;
  };
  Sample Take(const DaemonProcess& daemon) const;

  /// EXPECTs that between `before` and `after` every check ran as often as
  /// its interval allows (within `tolerance` runs), skipped nothing and never
  /// reported unhealthy or degraded. Returns the largest deviation in runs.
  double ExpectKeptSchedule(const Sample& before, const Sample& after, double tolerance = 2) const;

 private:
  Options options_;
  std::chrono::milliseconds interval_;
  TestHttpServer http_;
  TcpTestServer tcp_;
  std::vector<std::string> names_;
};

/// What a faulty check must show.
struct FaultExpectation {
  std::string check;
  std::string health = "unhealthy";  ///< of each result, and the check's state
  std::string detail_regex;          ///< RE (std::regex ECMAScript) the whole detail matches
  /// The failure reason of each result (checks/failure_reason.h, e.g.
  /// "connect_refused"); "" does not check it.
  std::string reason;
  std::chrono::milliseconds timeout;  ///< the check's configured timeout
  int results = 2;                    ///< consecutive matching results to wait for
  std::chrono::milliseconds wait = std::chrono::seconds(20);
};

/// What was measured for one fault.
struct FaultMeasurement {
  bool matched = false;
  std::string state;
  std::string detail;
  double max_duration_ms = 0;  ///< over the matching results
  double margin_ms = 0;        ///< max_duration_ms - timeout
};

/// Waits until the check's last `results` history entries all have the
/// expected health and detail, then EXPECTs the state and that none took
/// longer than timeout + `margin`. Prints one row ("FAULT| ...") for the
/// docs table.
FaultMeasurement ExpectFault(const DaemonProcess& daemon, const FaultExpectation& expectation,
                             std::chrono::milliseconds margin = std::chrono::milliseconds(200));

/// The /status entry of one check (null if absent).
nlohmann::json CheckJson(const DaemonProcess& daemon, const std::string& name);

/// Polls /status until every check has at least `runs` runs.
bool WaitForAllRuns(const DaemonProcess& daemon, int runs, std::chrono::milliseconds timeout);

/// Polls until `name` has at least `runs` more runs than now.
bool WaitForMoreRuns(const DaemonProcess& daemon, const std::string& name, int runs,
                     std::chrono::milliseconds timeout);

/// EXPECTs the fd count back within `fd_slack` of `baseline` (waiting up to
/// `wait` for it) and RSS below baseline + `rss_slack_bytes`; prints both.
void ExpectUsageBackToBaseline(const DaemonProcess& daemon, const Usage& baseline, double fd_slack,
                               double rss_slack_bytes,
                               std::chrono::milliseconds wait = std::chrono::seconds(10));

/// Prints the lateness histogram and EXPECTs every attempt started within `bound`.
void ExpectLatenessBounded(const DaemonProcess& daemon, double bound_seconds);

}  // namespace hx
