// Prints one protobuf exposition (ProtobufWriter, delimited MetricFamily
// messages) for native_histograms_test.py to serve to a real Prometheus:
//
//   protobuf_fixture K
//
// is the state after K+1 rounds of the same 100 observations, so successive
// scrapes see counters grow and rate() has something to work on. Families:
//  - hx_fixture_duration_seconds{check="fixed"}: native buckets (default
//    options: schema 3) beside classic buckets, created timestamp, exemplar;
//  - hx_fixture_native_only_seconds{check="fixed"}: the same, written with
//    ProtobufWriterOptions::classic_buckets = false;
//  - hx_fixture_runs_total{check="fixed",result="healthy"}: a counter with a
//    created timestamp; hx_fixture_up: a gauge.
// The observations are 0.01 * 1.05^j s for j = 0..99 (10 ms to 1.25 s): the
// true q-quantile of any whole number of rounds is the same, which the test
// computes itself.

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "exposition/native_histogram.h"
#include "exposition/protobuf_writer.h"

int main(int argc, char** argv) {
  using namespace hx::metrics;
  const long rounds = argc > 1 ? std::stol(argv[1]) + 1 : 1;
  const std::vector<double> bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  std::vector<uint64_t> cumulative(bounds.size(), 0);
  NativeHistogram native;
  for (long r = 0; r < rounds; ++r) {
    for (int j = 0; j < 100; ++j) {
      const double v = 0.01 * std::pow(1.05, j);
      native.Observe(v);
      for (size_t b = 0; b < bounds.size(); ++b) {
        if (v <= bounds[b]) ++cumulative[b];
      }
    }
  }
  NativeBuckets buckets;
  native.FillBuckets(&buckets);
  const double created = 1764982800;  // 2025-12-06, any fixed past time
  const Exemplar exemplar{"fixture-1", 0.2, 0};
  HistogramView h;
  h.count = native.count();
  h.sum = native.sum();
  h.upper_bounds = bounds;
  h.cumulative_counts = cumulative;
  h.native = &buckets;
  h.created = created;
  h.exemplar = &exemplar;
  const LabelSet labels(std::vector<std::pair<std::string, std::string>>{{"check", "fixed"}});

  ProtobufWriter both;
  both.BeginFamily({"hx_fixture_duration_seconds", MetricType::kHistogram,
                    "Fixed observations, native and classic buckets.", "seconds"});
  both.Histogram(labels, h);
  both.EndFamily();
  both.BeginFamily({"hx_fixture_runs_total", MetricType::kCounter, "Rounds.", ""});
  both.Counter(labels, {"result", "healthy"}, static_cast<double>(rounds), created);
  both.EndFamily();
  both.BeginFamily({"hx_fixture_up", MetricType::kGauge, "Always 1.", ""});
  both.Gauge(LabelSet(), {}, 1);
  both.EndFamily();
  both.Finish();

  ProtobufWriter native_only({.classic_buckets = false});
  native_only.BeginFamily({"hx_fixture_native_only_seconds", MetricType::kHistogram,
                           "Fixed observations, native buckets only.", "seconds"});
  native_only.Histogram(labels, h);
  native_only.EndFamily();
  native_only.Finish();

  const std::string out = both.output() + native_only.output();
  return std::fwrite(out.data(), 1, out.size(), stdout) == out.size() ? 0 : 1;
}
