#pragma once
// The whole of /metrics: the per-check families, written straight from one
// StatusBoard snapshot (check_exposition.h), followed by the daemon's own
// metrics — build info, config loads, scheduler lateness, process_* — which
// stay in a prometheus-cpp registry and reach the writer through the bridge.
// Metric names live in metric_names.h.

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "exposition/exposition.h"
#include "exposition/negotiation.h"
#include "metrics/process_collector.h"
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

/// Keeps the daemon's own metrics and writes every family of an exposition.
/// Per-check facts are not kept here: they live only in the StatusBoard.
///
/// Thread-safe: ObserveLateness and RecordConfigLoad are called on the loop
/// thread, Write() on HTTP threads; prometheus-cpp's metrics are thread-safe
/// and a BoardSnapshot is immutable, so a scrape never waits for the loop
/// beyond the board's pointer copy (StatusBoard::Snapshot()).
class CheckMetrics {
 public:
  CheckMetrics();
  ~CheckMetrics();
  CheckMetrics(const CheckMetrics&) = delete;
  CheckMetrics& operator=(const CheckMetrics&) = delete;

  /// Adds one sample to health_exporter_scheduler_lateness_seconds.
  void ObserveLateness(Duration lateness);

  /// Records a config load: the start-up one (`reload` false) or a reload.
  /// On success `config_hash` becomes health_exporter_config_info's hash and
  /// `timestamp` (seconds since the epoch) the last success time.
  void RecordConfigLoad(bool reload, bool success, double timestamp,
                        const std::string& config_hash);

  /// Whether protobuf scrapes carry the classic duration buckets beside the
  /// native ones (global.duration_buckets_in_protobuf). Any thread.
  void SetClassicBucketsInProtobuf(bool classic) { classic_in_protobuf_.store(classic); }

  /// Writes the whole exposition: the per-check families of `snapshot`, then
  /// the daemon's own; calls writer.Finish().
  void Write(const BoardSnapshot& snapshot, metrics::ExpositionWriter& writer) const;

  /// The whole exposition of `snapshot` in `format`, written by that format's
  /// writer. OpenMetrics is written without _created lines: Prometheus 2.x
  /// (and 3.x by default) would store each as one more series per counter
  /// and histogram; protobuf carries the created timestamps as fields.
  std::string Render(const BoardSnapshot& snapshot, metrics::ExpositionFormat format) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Histogram& lateness_;
  prometheus::Gauge& config_last_reload_successful_;
  prometheus::Gauge& config_last_reload_success_timestamp_;
  prometheus::Counter& config_reloads_success_;
  prometheus::Counter& config_reloads_failure_;
  prometheus::Family<prometheus::Gauge>& config_info_;
  prometheus::Gauge* config_info_series_ = nullptr;  // loop thread only
  ProcessCollector process_collector_;
  std::atomic<bool> classic_in_protobuf_{true};
  // The last body's size per format, to reserve the next one's at once.
  mutable std::array<std::atomic<size_t>, 4> last_size_{};
};

}  // namespace hx
