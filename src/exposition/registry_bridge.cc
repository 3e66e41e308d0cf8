#include "exposition/registry_bridge.h"

#include <cmath>
#include <string>
#include <string_view>
#include <utility>

namespace hx::metrics {

namespace {

std::string_view UnitOf(std::string_view name, MetricType type) {
  if (type == MetricType::kCounter && name.ends_with("_total")) {
    name.remove_suffix(std::string_view("_total").size());
  }
  for (std::string_view unit : {"seconds", "bytes"}) {
    if (name.size() > unit.size() + 1 && name.ends_with(unit) &&
        name[name.size() - unit.size() - 1] == '_') {
      return unit;
    }
  }
  return {};
}

LabelSet LabelsOf(const prometheus::ClientMetric& metric) {
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(metric.label.size());
  for (const auto& label : metric.label) pairs.emplace_back(label.name, label.value);
  return LabelSet(std::move(pairs));
}

void WriteHistogram(const prometheus::ClientMetric& metric, ExpositionWriter& writer) {
  const auto& buckets = metric.histogram.bucket;
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  bounds.reserve(buckets.size());
  counts.reserve(buckets.size());
  for (const auto& bucket : buckets) {
    // The writers add +Inf themselves (with the sample count).
    if (std::isinf(bucket.upper_bound) && bucket.upper_bound > 0) continue;
    bounds.push_back(bucket.upper_bound);
    counts.push_back(bucket.cumulative_count);
  }
  HistogramView view;
  view.count = metric.histogram.sample_count;
  view.sum = metric.histogram.sample_sum;
  view.upper_bounds = bounds;
  view.cumulative_counts = counts;
  writer.Histogram(LabelsOf(metric), view);
}

}  // namespace

void SerializeRegistry(const std::vector<prometheus::MetricFamily>& families,
                       ExpositionWriter& writer) {
  for (const prometheus::MetricFamily& family : families) {
    if (family.metric.empty()) continue;
    MetricType type;
    switch (family.type) {
      case prometheus::MetricType::Counter:
        type = MetricType::kCounter;
        break;
      case prometheus::MetricType::Gauge:
        type = MetricType::kGauge;
        break;
      case prometheus::MetricType::Untyped:
        type = MetricType::kUnknown;
        break;
      case prometheus::MetricType::Histogram:
        type = MetricType::kHistogram;
        break;
      default:  // Summary: see the header.
        continue;
    }
    writer.BeginFamily({family.name, type, family.help, UnitOf(family.name, type)});
    for (const prometheus::ClientMetric& metric : family.metric) {
      switch (type) {
        case MetricType::kCounter:
          writer.Counter(LabelsOf(metric), {}, metric.counter.value, 0);
          break;
        case MetricType::kGauge:
          writer.Gauge(LabelsOf(metric), {}, metric.gauge.value);
          break;
        case MetricType::kUnknown:
          writer.Gauge(LabelsOf(metric), {}, metric.untyped.value);
          break;
        case MetricType::kHistogram:
          WriteHistogram(metric, writer);
          break;
      }
    }
    writer.EndFamily();
  }
}

}  // namespace hx::metrics
