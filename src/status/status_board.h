#pragma once
// StatusBoard: the one store of every check's status, counters and duration
// distribution. /metrics, /status, /readyz and the landing page are all views
// of one BoardSnapshot, so two endpoints rendered from the same snapshot agree
// exactly, and a removed check's series vanish because it is no longer in it.
//
// Sharing between threads: the board keeps one std::shared_ptr<const
// CheckStatus> per check. A writer (normally the loop thread) builds a new
// immutable CheckStatus from the previous one and swaps the pointer in under a
// short mutex; a reader copies the vector of pointers under the same mutex and
// then reads the CheckStatus objects without any lock, because nothing ever
// modifies a CheckStatus after it is published. A snapshot therefore stays
// valid and unchanged for as long as the reader holds it, however many results
// arrive meanwhile.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "checks/check.h"
#include "config/config.h"
#include "exposition/exposition.h"
#include "exposition/native_histogram.h"
#include "scheduler/check_scheduler.h"
#include "status/dependencies.h"
#include "util/duration.h"

namespace hx {

/// The static facts of one check, from its config. Immutable; shared by every
/// CheckStatus of that check.
struct CheckInfo {
  std::string name;
  std::string type;
  std::string target;  ///< CheckSpec::Target(), free of secrets
  bool critical = true;
  std::vector<std::pair<std::string, std::string>> labels;  ///< sorted by name
  Duration interval{};
  Duration timeout{};
  std::vector<std::string> depends_on;  ///< names of checks this one needs
  std::optional<double> slo;            ///< availability objective, e.g. 0.999

  /// Filled by StatusBoard::AddCheck, once per check (not per scrape):
  /// check="<name>" for every per-check series, and the labels of
  /// health_check_status: check, critical, type and the static labels, all
  /// sorted by name (as /metrics has always written them).
  metrics::LabelSet check_labels;
  metrics::LabelSet status_labels;
};

/// Builds the CheckInfo of a configured check.
CheckInfo CheckInfoFromConfig(const CheckConfig& config);

/// The outcome of one finished attempt, as shown in history.
struct HistoryEntry {
  Health health = Health::kUnhealthy;  ///< raw result
  double finished_at = 0;              ///< wall clock, seconds since the epoch
  Duration duration{};
  std::string detail;
  uint64_t attempt = 0;  ///< the check's run number, from 1 (exemplars' attempt_id)
  FailureReason reason = FailureReason::kNone;
};

/// The most recent attempt, in full.
struct LastResult {
  Health health = Health::kUnhealthy;  ///< raw result (before thresholds)
  std::string detail;
  Duration duration{};
  double started_at = 0;   ///< wall clock
  double finished_at = 0;  ///< wall clock
  bool timed_out = false;
  std::vector<Observation> observations;
  uint64_t attempt = 0;  ///< the check's run number, from 1
  FailureReason reason = FailureReason::kNone;  ///< kNone when healthy
};

/// How health_check_duration_seconds is kept: the classic buckets' upper
/// bounds (GlobalConfig::duration_buckets) and the native histogram's options
/// (GlobalConfig::native_histograms). Immutable; shared by every check added
/// while it was current.
struct DurationLayout {
  std::vector<double> upper_bounds;  ///< increasing, without +Inf
  metrics::NativeHistogramOptions native;
};

/// The distribution of one check's attempt durations: classic cumulative
/// buckets and a native histogram of the same observations, plus the latest
/// observation as an exemplar. A value; the board publishes a new immutable
/// copy per result (O(buckets)) and shares it between snapshots otherwise.
struct DurationHistogram {
  explicit DurationHistogram(std::shared_ptr<const DurationLayout> layout);

  /// Adds one attempt's duration; `attempt` and `finished_at` become the
  /// exemplar.
  void Observe(double seconds, uint64_t attempt, double finished_at);

  std::shared_ptr<const DurationLayout> layout;
  uint64_t count = 0;
  double sum = 0;
  /// Parallel to layout->upper_bounds: observations <= each bound.
  std::vector<uint64_t> cumulative_counts;
  metrics::NativeHistogram native;
  /// `native` in protobuf form, refreshed by Observe() so scrapes only read.
  metrics::NativeBuckets native_buckets;
  /// The latest observation (attempt 0 = none yet).
  uint64_t exemplar_attempt = 0;
  double exemplar_value = 0;
  double exemplar_timestamp = 0;
};

/// An immutable snapshot of one check. Thread-safe to read (never modified
/// once published). Copied on every result, so its large parts (info,
/// duration) are shared pointers to immutable objects.
struct CheckStatus {
  /// How many results `history` keeps.
  static constexpr size_t kHistorySize = 20;

  size_t id = 0;
  std::shared_ptr<const CheckInfo> info;
  /// State after thresholds; nullopt while pending (no result yet).
  std::optional<Health> state;
  /// nullopt while pending.
  std::optional<LastResult> last;
  int consecutive_failures = 0;
  int consecutive_successes = 0;
  uint64_t runs = 0;
  /// Finished attempts by raw result, indexed by Health; sums to `runs`.
  std::array<uint64_t, 3> runs_by_result{};
  uint64_t timeouts = 0;
  uint64_t skipped_runs = 0;
  /// Non-healthy results by reason, indexed by FailureReason (kNone stays 0):
  /// health_check_failures_total{reason}.
  std::array<uint64_t, kFailureReasonCount> failures_by_reason{};
  /// The reason of the latest non-healthy result (kNone: none yet) and its
  /// wall time: health_check_last_failure_reason.
  FailureReason last_failure_reason = FailureReason::kNone;
  double last_failure_at = 0;
  /// Unix seconds at which the check was added: the created time of its
  /// counters and histogram. An unchanged check keeps it across reloads.
  double created = 0;
  /// Never null.
  std::shared_ptr<const DurationHistogram> duration;
  /// Wall time of the last state change (the first result counts as one);
  /// 0 while pending.
  double state_since = 0;
  /// The last kHistorySize results, newest last.
  std::vector<HistoryEntry> history;
};

/// The status of the whole set of checks.
enum class OverallStatus : uint8_t { kHealthy, kDegraded, kUnhealthy, kPending };

/// "healthy", "degraded", "unhealthy", "pending".
std::string_view OverallStatusName(OverallStatus status);

/// The overall status of a set of checks:
///  - kUnhealthy if any critical check is unhealthy;
///  - else kDegraded if any check is degraded or unhealthy (a non-critical
///    unhealthy check only degrades the whole);
///  - else kPending if any critical check has no result yet (readiness starts
///    not-ready until every critical check has reported once);
///  - else kHealthy (also for an empty set).
/// Pure; thread-safe.
OverallStatus ComputeOverallStatus(const std::vector<std::shared_ptr<const CheckStatus>>& checks);

/// An immutable view of the board at one instant. Safe to read from any
/// thread and to keep for as long as needed.
struct BoardSnapshot {
  /// In the order the checks were added (config order).
  std::vector<std::shared_ptr<const CheckStatus>> checks;
  OverallStatus overall = OverallStatus::kHealthy;
  /// Parallel to `checks`: for a check that is unhealthy while something it
  /// depends on (transitively) is unhealthy, the names of the root causes;
  /// empty when the check is not blocked. See status/dependencies.h.
  std::vector<std::vector<std::string>> blocked_by;
};

/// The latest status of every check, and the one store /metrics reads (see
/// metrics/check_exposition.h). Thread-safe: see the file comment for
/// how writers and readers share it. Writes for one check must not race with
/// each other in a way that matters (the scheduler produces them in order on
/// one thread); concurrent writers are still memory-safe because they are
/// serialised by an internal mutex.
class StatusBoard {
 public:
  /// `wall_clock` (seconds since the epoch) stamps a check's created time;
  /// the system clock when empty.
  explicit StatusBoard(std::function<double()> wall_clock = {});
  StatusBoard(const StatusBoard&) = delete;
  StatusBoard& operator=(const StatusBoard&) = delete;

  /// Adds a pending check with the scheduler's id, with zeroed counters, an
  /// empty duration histogram of the current layout and created = now; its
  /// label sets are rendered here, once. Re-adding an existing id replaces
  /// it (as a new, pending check).
  void AddCheck(size_t id, CheckInfo info);

  /// The duration layout of checks added from now on (a reload that changes
  /// it changes every check's fingerprint, so no check keeps an old one).
  void SetDurationLayout(DurationLayout layout);

  /// Forgets a check; unknown ids are ignored.
  void RemoveCheck(size_t id);

  /// Puts the checks in this order (the config's, after a reload added and
  /// removed some); ids not on the board are ignored and checks not listed
  /// keep their relative order after the listed ones.
  void SetOrder(const std::vector<size_t>& ids);

  /// Records a finished attempt. Records for unknown ids are ignored (the
  /// check may have been removed meanwhile).
  void Record(const RunRecord& run);

  /// Counts a run skipped because the previous one was still in flight.
  void RecordSkip(size_t id);

  /// The current status of every check, in config order, plus the overall
  /// status. O(number of checks); never blocks on a writer for longer than a
  /// pointer swap.
  BoardSnapshot Snapshot() const;

  /// The current status of one check, or nullptr if unknown.
  std::shared_ptr<const CheckStatus> Find(size_t id) const;

 private:
  std::shared_ptr<const CheckStatus> Current(size_t id) const;
  void Publish(size_t id, std::shared_ptr<const CheckStatus> status);

  const std::function<double()> wall_clock_;
  std::shared_ptr<const DurationLayout> layout_;  // guarded by write_mutex_

  // Serialises writers so that read-modify-publish of one check is atomic;
  // never held by readers.
  std::mutex write_mutex_;
  // Guards `checks_` and `index_`; held only to copy or swap pointers.
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const CheckStatus>> checks_;  // config order
  std::unordered_map<size_t, size_t> index_;                // id -> position in checks_
  uint64_t generation_ = 0;  // bumped when the set of checks changes

  // The dependency graph of the current set of checks, built lazily by the
  // first Snapshot() after the set changed (AddCheck at start-up stays O(1)).
  mutable std::mutex graph_mutex_;
  mutable uint64_t graph_generation_ = ~uint64_t{0};
  mutable std::shared_ptr<const DependencyGraph> graph_;
};

}  // namespace hx
