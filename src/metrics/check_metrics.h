#pragma once
// The Prometheus view of health_exporter: per-check series fed from the
// scheduler's RunRecords, overall status computed from the StatusBoard at
// scrape time, build info, scheduler lateness and process metrics. Metric
// names live in metric_names.h.

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "metrics/process_collector.h"
#include "scheduler/check_scheduler.h"
#include "status/status_board.h"
#include "util/duration.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace hx {

/// Keeps every metric of every check and renders them in the Prometheus text
/// format (0.0.4).
///
/// Thread-safe: the mutators (AddCheck, RemoveCheck, Record, RecordSkip,
/// ObserveLateness) are normally called on the loop thread and RenderText()
/// on HTTP threads. The mutators serialise on an internal mutex that guards
/// the per-check series table; prometheus-cpp's families and metrics are
/// themselves thread-safe, so RenderText() only takes their short internal
/// locks and never waits for the table's mutex. A scrape running during a
/// Record() may see some of that record's series updated and others not yet.
///
/// Observations: a series from an observation (e.g.
/// health_check_http_status_code) exists only while the check's latest result
/// reports it. They are kept per check as an immutable list swapped in by
/// Record() and turned into families at scrape time. A result without it (connection refused: no status code)
/// removes the series rather than leaving a stale value or a misleading 0.
class CheckMetrics {
 public:
  /// `duration_buckets` are the upper bounds of health_check_duration_seconds
  /// (GlobalConfig::duration_buckets). `board` is read at scrape time for the
  /// overall status; it must outlive this object.
  CheckMetrics(std::vector<double> duration_buckets, const StatusBoard& board);
  ~CheckMetrics();
  CheckMetrics(const CheckMetrics&) = delete;
  CheckMetrics& operator=(const CheckMetrics&) = delete;

  /// Creates the series that exist before the first result: runs_total for
  /// each raw result (at 0, so rate() works from the start), timeouts,
  /// skipped runs and the duration histogram. Re-adding an id replaces it.
  void AddCheck(size_t id, const CheckInfo& info);

  /// Removes every series of the check from every family.
  void RemoveCheck(size_t id);

  /// Records one finished attempt; unknown ids are ignored.
  void Record(const RunRecord& run);

  /// Counts a skipped run; unknown ids are ignored.
  void RecordSkip(size_t id);

  /// Adds one sample to health_exporter_scheduler_lateness_seconds.
  void ObserveLateness(Duration lateness);

  /// Upper bounds of health_check_duration_seconds for checks added from
  /// now on (a reload with new `duration_buckets` re-adds every check).
  void SetDurationBuckets(std::vector<double> duration_buckets);

  /// Records a config load: the start-up one (`reload` false) or a reload.
  /// On success `config_hash` becomes health_exporter_config_info's hash and
  /// `timestamp` (seconds since the epoch) the last success time.
  void RecordConfigLoad(bool reload, bool success, double timestamp,
                        const std::string& config_hash);

  /// Every metric in the text exposition format 0.0.4.
  std::string RenderText() const;

 private:
  struct CheckSeries;
  /// One value of an observation family (an index into
  /// metric::kObservationMetrics) for one check.
  struct ObservationValue {
    size_t family = 0;
    std::string label_value;
    double value = 0;
  };
  class BoardCollector;
  class ObservationCollector;

  void RemoveSeries(CheckSeries& series);
  /// The observation families, built at scrape time from each check's latest
  /// observations: keeping them as prometheus-cpp series would mean a
  /// Family::Remove (a scan of the whole family) on the loop thread for every
  /// observation a result stops reporting.
  std::vector<prometheus::MetricFamily> CollectObservations() const;

  std::vector<double> duration_buckets_;  // guarded by mutex_
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& status_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Counter>& timeouts_;
  prometheus::Family<prometheus::Counter>& skipped_runs_;
  prometheus::Family<prometheus::Gauge>& last_run_;
  prometheus::Family<prometheus::Gauge>& consecutive_failures_;
  prometheus::Family<prometheus::Gauge>& state_change_;
  prometheus::Family<prometheus::Gauge>& slo_objective_;
  prometheus::Histogram& lateness_;
  prometheus::Gauge& config_last_reload_successful_;
  prometheus::Gauge& config_last_reload_success_timestamp_;
  prometheus::Counter& config_reloads_success_;
  prometheus::Counter& config_reloads_failure_;
  prometheus::Family<prometheus::Gauge>& config_info_;
  prometheus::Gauge* config_info_series_ = nullptr;  // guarded by mutex_
  std::unique_ptr<BoardCollector> board_collector_;
  std::unique_ptr<ObservationCollector> observation_collector_;
  ProcessCollector process_collector_;

  mutable std::mutex mutex_;  // guards series_ (and what the comments say)
  std::unordered_map<size_t, std::unique_ptr<CheckSeries>> series_;
};

}  // namespace hx
