#pragma once
// The contract between what /metrics shows and how it is written.
//
// A source (the per-check store's snapshot, the daemon's own prometheus-cpp
// registry) walks its families in order and calls one ExpositionWriter; the
// writer (Prometheus text 0.0.4, OpenMetrics text 1.0.0, protobuf delimited
// MetricFamily) appends bytes to its output. Sources know nothing of formats
// and writers know nothing of checks, so a new metric is added once and every
// format carries it.
//
// Rules every source follows (the formats require them):
//  - a family's samples are contiguous: BeginFamily, its series, EndFamily;
//    a family name appears once per exposition;
//  - a family with no series is not begun at all;
//  - label values are raw (unescaped) UTF-8; writers escape them.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hx::metrics {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram, kUnknown };

/// One family's metadata. `name` is the name as Prometheus text 0.0.4 shows
/// it, counters included ("health_check_runs_total"); the OpenMetrics writer
/// derives the family name without "_total" itself. `unit` is "" or the unit
/// the name ends with ("seconds", "bytes"), for OpenMetrics' # UNIT.
struct FamilyDesc {
  std::string_view name;
  MetricType type = MetricType::kGauge;
  std::string_view help;
  std::string_view unit;
};

/// The labels a source attaches to every series of one subject (for a check:
/// check="db", and on health_check_status also type, critical and the
/// check's static labels). Immutable once built; each format's rendering is
/// made once, in the constructor, so that a scrape only copies bytes.
///
/// Thread-safety: immutable, safe to share between threads.
class LabelSet {
 public:
  LabelSet() = default;
  /// `pairs` in the order they are to be written; names must be valid label
  /// names (the caller's job), values any UTF-8.
  explicit LabelSet(std::vector<std::pair<std::string, std::string>> pairs);

  const std::vector<std::pair<std::string, std::string>>& pairs() const { return pairs_; }
  bool empty() const { return pairs_.empty(); }
  /// `a="x",b="y"` with the text formats' escaping (\\, \" and \n); "" when
  /// empty. Used by both text writers.
  std::string_view text() const { return text_; }
  /// The pairs as protobuf `LabelPair` submessages, each already framed as
  /// field 1 of io.prometheus.client.Metric (tag, length, bytes), so the
  /// protobuf writer appends them as they are.
  std::string_view proto() const { return proto_; }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
  std::string text_;
  std::string proto_;
};

/// One extra label on a single sample, after the LabelSet's (e.g.
/// result="healthy" on runs_total, phase="connect" on an observation).
/// name empty = none.
struct ExtraLabel {
  std::string_view name;
  std::string_view value;
};

/// A span of consecutive native-histogram buckets, as in the protobuf
/// BucketSpan: `offset` is the gap from the end of the previous span (for the
/// first span: the index of its first bucket), `length` the bucket count.
struct BucketSpan {
  int32_t offset = 0;
  uint32_t length = 0;
};

/// The sparse buckets of a native histogram, in the protobuf's own form.
/// Durations are never negative, so there are no negative buckets.
struct NativeBuckets {
  int32_t schema = 3;
  double zero_threshold = 0;
  uint64_t zero_count = 0;
  std::vector<BucketSpan> positive_spans;
  /// Per bucket, the count minus the previous bucket's count (the first one
  /// absolute), in span order.
  std::vector<int64_t> positive_deltas;
};

/// An exemplar: the attempt that produced one observation.
struct Exemplar {
  std::string_view attempt_id;  ///< label attempt_id="..."; non-empty
  double value = 0;             ///< the observed value (seconds)
  double timestamp = 0;         ///< unix seconds, 0 = none
};

/// One histogram series. Spans point into the source's snapshot, which stays
/// alive for the whole walk.
struct HistogramView {
  uint64_t count = 0;
  double sum = 0;
  /// Classic buckets: upper bounds in increasing order without +Inf, and the
  /// cumulative count of each. Both empty = no classic buckets (only allowed
  /// when `native` is set; text 0.0.4 then writes only _count and _sum, and
  /// OpenMetrics, which requires a bucket, the le="+Inf" one).
  std::span<const double> upper_bounds;
  std::span<const uint64_t> cumulative_counts;
  /// Native buckets, or null. Only the protobuf writer uses them.
  const NativeBuckets* native = nullptr;
  /// Unix seconds at which the series was created; 0 = unknown (not written).
  double created = 0;
  /// Latest exemplar, or null. Text 0.0.4 ignores it; OpenMetrics puts it on
  /// the classic bucket whose range holds its value; protobuf on that bucket
  /// and in the histogram's exemplars.
  const Exemplar* exemplar = nullptr;
};

/// Writes one exposition. One instance per scrape; not thread-safe.
class ExpositionWriter {
 public:
  virtual ~ExpositionWriter() = default;

  virtual void BeginFamily(const FamilyDesc& family) = 0;
  /// A counter's value; `created` is unix seconds, 0 = unknown.
  virtual void Counter(const LabelSet& labels, ExtraLabel extra, double value, double created) = 0;
  virtual void Gauge(const LabelSet& labels, ExtraLabel extra, double value) = 0;
  virtual void Histogram(const LabelSet& labels, const HistogramView& histogram) = 0;
  virtual void EndFamily() = 0;
  /// Ends the exposition (OpenMetrics' "# EOF"). Call once, last.
  virtual void Finish() = 0;

  /// The bytes written so far (the whole exposition after Finish()).
  virtual std::string& output() = 0;
};

}  // namespace hx::metrics
