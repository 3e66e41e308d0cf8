#pragma once
// DailyHistory: the daily aggregates of every check (issue 16), kept live for
// the current UTC day and written to the store (store/records.h
// DailyAggregate) as the day goes. The status page's uptime bars, uptime
// percentages and latency trends read it through HistoryView.
//
// What is counted, per check and UTC day:
//  - attempts and results by their raw health;
//  - time in each state: the time from one result to the next belongs to the
//    state in force after the first (the state after thresholds). Time
//    without a verdict is "unknown": before a check's first result (also
//    after a restart, until its first result) and while it is blocked
//    (unhealthy while a check it depends on is unhealthy, judged at each of
//    its results). Time the daemon was not running is in no state;
//  - latency p50/p95/p99 from a per-day log-bucket histogram (LatencyQuantiles:
//    within 4.5 % of the true quantile's value);
//  - the longest continuous unhealthy stretch within the day (a stretch over
//    midnight counts in each day for its part of it).
//
// Writing: every flush_interval (a timer on the injected Clock), at each UTC
// midnight, when a check is removed and at Flush() (shutdown), each check's
// row for the day is rewritten with Store::PutDaily, which only queues: the
// loop thread never waits on disk. After a restart, Resume() reads today's
// rows back (a blocking read: at start-up, before the loop runs) and each
// check continues from its row. The quantiles of the resumed part of the day
// are approximated from the stored p50/p95/p99 (the histogram is not stored).
//
// Thread-safety: Resume(), SetChecks(), Record(), Tick(), Flush() and
// Start()/Stop() run on the loop thread (Resume() before the loop runs).
// ForCheck() may be called from any thread at any time: it copies the live
// figures of today under a short mutex and reads past days from the store on
// the caller's thread (never call it on the loop thread).

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scheduler/check_scheduler.h"
#include "scheduler/clock.h"
#include "status/history.h"
#include "status/status_board.h"
#include "store/store.h"

namespace hx {

/// Latency quantiles of one day: a sparse histogram of log-spaced buckets,
/// 8 per doubling (each bucket's upper bound is 2^(1/8) = 1.0905 times its
/// lower). A quantile is the geometric middle of the bucket holding it, so it
/// is within 2^(1/16) - 1 = 4.4 % of the value of the observation of that rank
/// (nearest-rank definition). Values are clamped to [1 µs, 1 h]. A few dozen
/// buckets for a check whose latency varies tenfold. A value type; not
/// thread-safe.
class LatencyQuantiles {
 public:
  /// Adds `count` observations of `seconds` (NaN and count 0 are ignored).
  void Observe(double seconds, uint32_t count = 1);
  /// The q-quantile (0 < q <= 1) in seconds; nullopt when empty.
  std::optional<double> Quantile(double q) const;
  uint64_t count() const { return count_; }
  size_t buckets() const { return buckets_.size(); }

  /// Buckets per doubling.
  static constexpr int kResolution = 8;

 private:
  // (bucket index, count), sorted by index.
  std::vector<std::pair<int16_t, uint32_t>> buckets_;
  uint64_t count_ = 0;
};

class DailyHistory final : public HistoryView {
 public:
  struct Options {
    /// How often every check's row is rewritten while the day runs.
    Duration flush_interval = std::chrono::minutes(1);
  };

  /// The facts about a configured check the history needs.
  struct CheckRef {
    size_t id = 0;
    std::string name;
    std::vector<std::string> depends_on;
  };

  /// `store` may be null (tests, or no store): then only today is known.
  /// Both must outlive the history.
  DailyHistory(Clock& clock, store::Store* store, Options options);
  DailyHistory(Clock& clock, store::Store* store) : DailyHistory(clock, store, Options{}) {}
  ~DailyHistory() override;
  DailyHistory(const DailyHistory&) = delete;
  DailyHistory& operator=(const DailyHistory&) = delete;

  /// Reads today's rows from the store so that checks continue where they
  /// were. Blocking read: call once at start-up, before SetChecks().
  void Resume();

  /// The checks now configured (after a load or reload). A new check starts
  /// its day in "unknown" (or from its resumed row); a removed one has its
  /// row written and stops counting; one back the same day continues its
  /// row. Matched by name; ids are the scheduler's (RunRecord::check_id).
  void SetChecks(std::vector<CheckRef> checks);
  /// SetChecks() with the checks on the board (ids, names, depends_on).
  void SetChecks(const BoardSnapshot& board);

  /// One finished attempt (RunSink::OnRun). Unknown ids are ignored.
  void Record(const RunRecord& run);

  /// Arms the periodic flush on the clock.
  void Start();
  /// Disarms it.
  void Stop();
  /// Brings every check up to the clock's wall time (rolling days over) and
  /// writes the rows that changed. Called by the timer; tests call it.
  void Tick();
  /// Tick() and then every row, changed or not (shutdown).
  void Flush();

  CheckHistory ForCheck(std::string_view check, int days, double now) const override;

  /// Uptime over `days` days ending with the last entry of `history.days`
  /// (the last being today so far, as of `now`), and over the last 24 hours
  /// (today plus the share of yesterday inside the 24 hours). Fills the
  /// uptime_* fields. Exposed for tests.
  static void ComputeUptime(CheckHistory& history, double now);

 private:
  // Index into the per-day arrays.
  enum Verdict : uint8_t { kHealthy, kDegraded, kUnhealthy, kUnknown };

  struct Day {
    int64_t day = 0;
    int64_t attempts = 0;
    std::array<int64_t, 3> results{};
    std::array<double, 4> seconds{};
    LatencyQuantiles latency;
    double longest_outage = 0;
  };

  struct Tracked {
    std::string name;
    std::vector<std::string> depends_on;
    bool active = false;
    bool dirty = false;
    Verdict verdict = kUnknown;
    std::optional<Health> state;  // after thresholds, for dependents
    double since = 0;             // wall time counted up to
    double outage_start = 0;      // valid while verdict == kUnhealthy
    Day today;
  };

  // Counts `t`'s time from t.since up to `now` in its verdict, rolling over
  // at each midnight; each finished day is appended to `finished`.
  static void Accrue(Tracked& t, double now, std::vector<store::DailyAggregate>* finished);
  static store::DailyAggregate RowOf(const std::string& name, const Day& day);
  static Day DayFromRow(const store::DailyAggregate& row);
  bool Blocked(const Tracked& t) const;
  void Put(store::DailyAggregate row);
  void WriteRows(bool all);
  void Arm();

  Clock& clock_;
  store::Store* const store_;
  const Options options_;
  std::unique_ptr<Timer> timer_;
  bool running_ = false;

  // Loop thread only: today's stored rows not yet taken up by a check.
  std::unordered_map<std::string, store::DailyAggregate> resumed_;
  std::unordered_map<size_t, std::string> names_;  // loop thread only: id -> name

  // Written on the loop thread under mutex_; read by ForCheck() under it.
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Tracked> tracked_;
};

}  // namespace hx
