#pragma once
// An ExpositionWriter for tests of sources (the board walk, the daemon's own
// families): writes one readable line per call and checks the rules every
// source must keep (exposition.h): families contiguous, each name once, no
// family without series, Finish() once and last. Breaking a rule is a test
// failure at the call that broke it.

#include <gtest/gtest.h>

#include <charconv>
#include <set>
#include <string>
#include <string_view>

#include "exposition/exposition.h"

namespace hx {

class RecordingWriter final : public metrics::ExpositionWriter {
 public:
  void BeginFamily(const metrics::FamilyDesc& family) override {
    EXPECT_TRUE(family_.empty()) << "BeginFamily(" << family.name << ") inside " << family_;
    EXPECT_FALSE(finished_) << "BeginFamily after Finish";
    EXPECT_TRUE(names_.insert(std::string(family.name)).second)
        << "family " << family.name << " begun twice";
    family_ = family.name;
    series_ = 0;
    out_ += "# family " + std::string(family.name) + " " + TypeName(family.type);
    if (!family.unit.empty()) out_ += " unit=" + std::string(family.unit);
    out_ += "\n";
  }
  void Counter(const metrics::LabelSet& labels, metrics::ExtraLabel extra, double value,
               double created) override {
    Series(labels, extra);
    out_ += " " + Number(value);
    if (created != 0) out_ += " created=" + Number(created);
    out_ += "\n";
  }
  void Gauge(const metrics::LabelSet& labels, metrics::ExtraLabel extra, double value) override {
    Series(labels, extra);
    out_ += " " + Number(value) + "\n";
  }
  void Histogram(const metrics::LabelSet& labels, const metrics::HistogramView& h) override {
    Series(labels, {});
    EXPECT_EQ(h.upper_bounds.size(), h.cumulative_counts.size());
    out_ += " count=" + std::to_string(h.count) + " sum=" + Number(h.sum) + " buckets=";
    for (size_t i = 0; i < h.upper_bounds.size() && i < h.cumulative_counts.size(); ++i) {
      out_ +=
          (i ? "," : "") + Number(h.upper_bounds[i]) + ":" + std::to_string(h.cumulative_counts[i]);
    }
    if (h.native != nullptr) {
      out_ += " native=s" + std::to_string(h.native->schema) + "/z" +
              std::to_string(h.native->zero_count) + "/spans";
      for (const auto& span : h.native->positive_spans) {
        out_ += ":" + std::to_string(span.offset) + "+" + std::to_string(span.length);
      }
      out_ += "/deltas";
      for (int64_t d : h.native->positive_deltas) out_ += ":" + std::to_string(d);
    }
    if (h.created != 0) out_ += " created=" + Number(h.created);
    if (h.exemplar != nullptr) {
      out_ += " exemplar=" + std::string(h.exemplar->attempt_id) + "@" + Number(h.exemplar->value) +
              "@" + Number(h.exemplar->timestamp);
    }
    out_ += "\n";
  }
  void EndFamily() override {
    EXPECT_FALSE(family_.empty()) << "EndFamily without BeginFamily";
    EXPECT_GT(series_, 0u) << "family " << family_ << " has no series";
    family_.clear();
  }
  void Finish() override {
    EXPECT_TRUE(family_.empty()) << "Finish inside " << family_;
    EXPECT_FALSE(finished_) << "Finish twice";
    finished_ = true;
    out_ += "# finish\n";
  }
  std::string& output() override { return out_; }

  static std::string Number(double v) {
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), v);
    return std::string(buffer, end);
  }

 private:
  static const char* TypeName(metrics::MetricType type) {
    switch (type) {
      case metrics::MetricType::kCounter:
        return "counter";
      case metrics::MetricType::kGauge:
        return "gauge";
      case metrics::MetricType::kHistogram:
        return "histogram";
      case metrics::MetricType::kUnknown:
        return "unknown";
    }
    return "?";
  }
  void Series(const metrics::LabelSet& labels, metrics::ExtraLabel extra) {
    EXPECT_FALSE(family_.empty()) << "series outside a family";
    ++series_;
    out_ += family_ + "{";
    bool first = true;
    for (const auto& [name, value] : labels.pairs()) {
      out_ += (first ? "" : ",") + name + "=\"" + value + "\"";
      first = false;
    }
    if (!extra.name.empty()) {
      out_ +=
          (first ? "" : ",") + std::string(extra.name) + "=\"" + std::string(extra.value) + "\"";
    }
    out_ += "}";
  }

  std::string out_;
  std::string family_;
  size_t series_ = 0;
  std::set<std::string> names_;
  bool finished_ = false;
};

}  // namespace hx
