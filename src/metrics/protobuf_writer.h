#pragma once
// The protobuf exposition format: a stream of io.prometheus.client.
// MetricFamily messages, each preceded by its length as a varint
// ("encoding=delimited"). The only format that carries native histograms.
//
// Encoded by hand, not through libprotobuf's generated classes: a scrape
// copies the label sets' pre-encoded bytes (LabelSet::proto()) and writes the
// numbers straight into one buffer, with no message objects, no per-series
// allocation and no label copies. The schema is proto/metrics.proto; the
// tests decode this writer's output with libprotobuf and compare every field
// (tests/unit/metrics/protobuf_writer_test.cc), which also checks that the
// bytes are exactly what libprotobuf serialises for the decoded messages.

#include <string>
#include <string_view>

#include "metrics/exposition.h"

namespace hx::metrics {

/// The Content-Type of this writer's output, as Prometheus asks for it.
inline constexpr std::string_view kProtobufContentType =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
    "encoding=delimited";

struct ProtobufWriterOptions {
  /// Whether histograms that have native buckets also carry their classic
  /// buckets (global.classic_histograms). Prometheus keeps only the native
  /// ones unless told to scrape classic histograms too, so leaving them out
  /// saves bytes; a histogram without native buckets always has its classic
  /// ones.
  bool classic_buckets = true;
};

/// Writes one protobuf exposition. The byte layout is canonical protobuf in
/// field-number order (what libprotobuf itself would serialise for the same
/// message), so the output is stable and can be compared byte for byte.
///
/// Thread-safety: none; one instance per scrape.
class ProtobufWriter final : public ExpositionWriter {
 public:
  explicit ProtobufWriter(ProtobufWriterOptions options = {});

  void BeginFamily(const FamilyDesc& family) override;
  void Counter(const LabelSet& labels, ExtraLabel extra, double value, double created) override;
  void Gauge(const LabelSet& labels, ExtraLabel extra, double value) override;
  void Histogram(const LabelSet& labels, const HistogramView& histogram) override;
  void EndFamily() override;
  void Finish() override {}

  std::string& output() override { return out_; }

 private:
  /// Appends a length-delimited field's tag and room for its length;
  /// returns where the length goes. CloseLength writes it once the content
  /// is there, moving the content if the length needs more or fewer bytes
  /// than were reserved.
  size_t OpenLength(uint32_t field, size_t reserve);
  void CloseLength(size_t at, size_t reserve);
  /// Metric.label: the label set's pairs, then `extra` if named.
  void Labels(const LabelSet& labels, ExtraLabel extra);
  void Exemplar(uint32_t field, const metrics::Exemplar& exemplar);

  ProtobufWriterOptions options_;
  std::string out_;
  /// Where the current family's length prefix is reserved.
  size_t family_at_ = 0;
  MetricType family_type_ = MetricType::kGauge;
  std::string family_unit_;  // written after the metrics (field 5)
};

}  // namespace hx::metrics
