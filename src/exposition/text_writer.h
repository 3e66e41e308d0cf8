#pragma once
// Prometheus text exposition format 0.0.4, byte for byte as prometheus-cpp
// 1.0's TextSerializer writes it (the output dashboards and alerts were built
// on): "# HELP" then "# TYPE" per family, histograms as _count, _sum, then
// _bucket{...,le="..."} with a final le="+Inf", numbers as number_format.h
// says. The only differences: NaN is "NaN" (not "Nan"), and HELP texts are
// escaped (backslash, line feed) as the format requires.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "exposition/exposition.h"
#include "exposition/number_format.h"
#include "exposition/text_format.h"

namespace hx::metrics {

/// Writes one text 0.0.4 exposition into one string.
///
/// Thread-safety: not thread-safe; one instance per scrape.
class TextWriter final : public ExpositionWriter {
 public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  /// `reserve` bytes are reserved up front (e.g. the previous scrape's size)
  /// so that the string grows rarely or never.
  explicit TextWriter(size_t reserve = 0);

  void BeginFamily(const FamilyDesc& family) override;
  void Counter(const LabelSet& labels, ExtraLabel extra, double value, double created) override;
  void Gauge(const LabelSet& labels, ExtraLabel extra, double value) override;
  void Histogram(const LabelSet& labels, const HistogramView& histogram) override;
  void EndFamily() override;
  void Finish() override;
  std::string& output() override { return out_; }

 private:
  // `name` + `suffix` + {labels[,extra]} + " ".
  void Head(std::string_view suffix, const LabelSet& labels, const ExtraLabel& extra);

  std::string out_;
  std::string name_;  // the current family's name
  BoundsCache bounds_{&AppendDouble};
  std::string bucket_prefix_;  // `name_bucket{labels,le="` of the current histogram
};

}  // namespace hx::metrics
