#pragma once
// OpenMetrics text 1.0.0 (https://prometheus.io/docs/specs/om/open_metrics_spec/):
// "# TYPE", "# UNIT", "# HELP" (in that order) per family; a counter's family
// name is its name without "_total", its samples are <family>_total and
// <family>_created; histograms are _bucket (le as a canonical number, the
// exemplar on the bucket that holds its value), _count, _sum, _created; the
// exposition ends with "# EOF". Label values and numbers as in text 0.0.4
// (number_format.h), so the same series carry the same values in both.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "exposition/exposition.h"
#include "exposition/number_format.h"
#include "exposition/text_format.h"

namespace hx::metrics {

/// Writes one OpenMetrics 1.0.0 exposition into one string.
///
/// Thread-safety: not thread-safe; one instance per scrape.
class OpenMetricsWriter final : public ExpositionWriter {
 public:
  static constexpr std::string_view kContentType =
      "application/openmetrics-text; version=1.0.0; charset=utf-8";
  /// The combined length of an exemplar's label names and values, in
  /// characters, may not exceed this (OpenMetrics 1.0, Exemplars); a longer
  /// attempt id is not written as an exemplar.
  static constexpr size_t kMaxExemplarLabelChars = 128;

  /// `reserve` bytes are reserved up front (e.g. the previous scrape's size).
  /// `created_lines` = false leaves out the _created samples: Prometheus 2.x
  /// (and 3.x unless created-timestamp-zero-ingestion is on) stores each as
  /// a series of its own, one more per counter and histogram series, which
  /// is why client_golang writes them only on request.
  explicit OpenMetricsWriter(size_t reserve = 0, bool created_lines = true);

  void BeginFamily(const FamilyDesc& family) override;
  void Counter(const LabelSet& labels, ExtraLabel extra, double value, double created) override;
  void Gauge(const LabelSet& labels, ExtraLabel extra, double value) override;
  void Histogram(const LabelSet& labels, const HistogramView& histogram) override;
  void EndFamily() override;
  void Finish() override;
  std::string& output() override { return out_; }

 private:
  // family + `suffix` + {labels[,extra]} + " ".
  void Head(std::string_view suffix, const LabelSet& labels, const ExtraLabel& extra);
  void AppendExemplar(const Exemplar& exemplar);
  // `created` and a line feed.
  void AppendCreated(double created);

  std::string out_;
  std::string family_;  // the current family's OpenMetrics name
  BoundsCache bounds_{&AppendCanonicalDouble};
  std::string bucket_prefix_;  // `family_bucket{labels,le="` of the current histogram
  bool created_lines_;
  double last_created_ = 0;  // the last created timestamp written, and its text
  std::string last_created_text_;
};

}  // namespace hx::metrics
