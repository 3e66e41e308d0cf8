#pragma once
// StatusBoard: the latest known status of every check, for /status, /readyz,
// the landing page and the overall-status metrics.
//
// Sharing between threads: the board keeps one std::shared_ptr<const
// CheckStatus> per check. A writer (normally the loop thread) builds a new
// immutable CheckStatus from the previous one and swaps the pointer in under a
// short mutex; a reader copies the vector of pointers under the same mutex and
// then reads the CheckStatus objects without any lock, because nothing ever
// modifies a CheckStatus after it is published. A snapshot therefore stays
// valid and unchanged for as long as the reader holds it, however many results
// arrive meanwhile.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "checks/check.h"
#include "status/dependencies.h"
#include "config/config.h"
#include "scheduler/check_scheduler.h"
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
};

/// Builds the CheckInfo of a configured check.
CheckInfo CheckInfoFromConfig(const CheckConfig& config);

/// The outcome of one finished attempt, as shown in history.
struct HistoryEntry {
  Health health = Health::kUnhealthy;  ///< raw result
  double finished_at = 0;              ///< wall clock, seconds since the epoch
  Duration duration{};
  std::string detail;
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
};

/// An immutable snapshot of one check. Thread-safe to read (never modified
/// once published).
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
  uint64_t skipped_runs = 0;
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

/// The latest status of every check. Thread-safe: see the file comment for
/// how writers and readers share it. Writes for one check must not race with
/// each other in a way that matters (the scheduler produces them in order on
/// one thread); concurrent writers are still memory-safe because they are
/// serialised by an internal mutex.
class StatusBoard {
 public:
  StatusBoard() = default;
  StatusBoard(const StatusBoard&) = delete;
  StatusBoard& operator=(const StatusBoard&) = delete;

  /// Adds a pending check with the scheduler's id. Re-adding an existing id
  /// replaces it (as a new, pending check).
  void AddCheck(size_t id, CheckInfo info);

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
