// Micro-benchmark of the exposition writers (issue 13): renders a snapshot
// shaped like 10,000 HTTP checks (≈ 30 samples each) and prints ns per
// sample and bytes, for text 0.0.4, OpenMetrics 1.0.0, and today's path
// (prometheus-cpp: Registry::Collect + TextSerializer) on the same series.
//
//   cmake --build build --target exposition_bench
//   build/exposition_bench [checks] [rounds]
//   valgrind --tool=callgrind build/exposition_bench 10000 1   (instruction counts)

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "exposition/openmetrics_writer.h"
#include "exposition/text_writer.h"

namespace {

using hx::metrics::ExpositionWriter;
using hx::metrics::HistogramView;
using hx::metrics::LabelSet;
using hx::metrics::MetricType;

constexpr std::array<double, 11> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,    2.5,   5,    10};
constexpr std::array<const char*, 5> kPhases = {"dns", "connect", "tls", "processing", "transfer"};
constexpr std::array<const char*, 3> kResults = {"healthy", "degraded", "unhealthy"};

struct Check {
  LabelSet check;
  LabelSet status;
  std::array<uint64_t, 11> counts{};
  uint64_t count = 0;
  double sum = 0;
  std::array<double, 3> runs{};
  hx::metrics::Exemplar exemplar;
  std::string attempt_id;
};

std::vector<Check> MakeChecks(size_t n) {
  std::vector<Check> checks(n);
  for (size_t i = 0; i < n; ++i) {
    Check& c = checks[i];
    const std::string name = "http-check-" + std::to_string(i);
    c.check = LabelSet({{"check", name}});
    c.status =
        LabelSet({{"check", name}, {"critical", i % 3 ? "false" : "true"}, {"type", "http"}});
    c.count = 1000 + i % 97;
    for (size_t b = 0; b < kBounds.size(); ++b) c.counts[b] = c.count * (b + 1) / 12;
    c.sum = 12.345 + i * 0.001;
    c.runs = {double(c.count - 3), 1, 2};
    c.attempt_id = name + "-" + std::to_string(c.count);
    c.exemplar = {c.attempt_id, 0.0734, 1764900000.125};
  }
  return checks;
}

// Walks the snapshot as the store's source does; returns the sample count.
size_t Walk(const std::vector<Check>& checks, ExpositionWriter& w) {
  size_t samples = 0;
  const double now = 1764900000.5;
  w.BeginFamily({"health_check_status", MetricType::kGauge, "State of the check.", ""});
  for (const Check& c : checks) w.Gauge(c.status, {}, 1), ++samples;
  w.EndFamily();
  w.BeginFamily({"health_check_duration_seconds", MetricType::kHistogram,
                 "Duration of check attempts.", "seconds"});
  for (const Check& c : checks) {
    HistogramView h;
    h.count = c.count;
    h.sum = c.sum;
    h.upper_bounds = kBounds;
    h.cumulative_counts = c.counts;
    h.created = now - 3600;
    h.exemplar = &c.exemplar;
    w.Histogram(c.check, h);
    samples += kBounds.size() + 3;
  }
  w.EndFamily();
  w.BeginFamily({"health_check_runs_total", MetricType::kCounter, "Finished attempts.", ""});
  for (const Check& c : checks) {
    for (size_t r = 0; r < kResults.size(); ++r) {
      w.Counter(c.check, {"status", kResults[r]}, c.runs[r], now - 3600), ++samples;
    }
  }
  w.EndFamily();
  for (const char* name : {"health_check_timeouts_total", "health_check_skipped_runs_total"}) {
    w.BeginFamily({name, MetricType::kCounter, "A counter.", ""});
    for (const Check& c : checks) w.Counter(c.check, {}, 0, now - 3600), ++samples;
    w.EndFamily();
  }
  for (const char* name :
       {"health_check_last_run_timestamp_seconds", "health_check_state_change_timestamp_seconds"}) {
    w.BeginFamily({name, MetricType::kGauge, "A timestamp.", "seconds"});
    for (const Check& c : checks) w.Gauge(c.check, {}, now - 1.25), ++samples;
    w.EndFamily();
  }
  w.BeginFamily({"health_check_consecutive_failures", MetricType::kGauge, "Failures.", ""});
  for (const Check& c : checks) w.Gauge(c.check, {}, 0), ++samples;
  w.EndFamily();
  w.BeginFamily({"health_check_http_status_code", MetricType::kGauge, "Status code.", ""});
  for (const Check& c : checks) w.Gauge(c.check, {}, 200), ++samples;
  w.EndFamily();
  w.BeginFamily(
      {"health_check_http_phase_seconds", MetricType::kGauge, "Phase durations.", "seconds"});
  for (const Check& c : checks) {
    for (const char* phase : kPhases) w.Gauge(c.check, {"phase", phase}, 0.001234), ++samples;
  }
  w.EndFamily();
  w.Finish();
  return samples;
}

// The same series in a prometheus-cpp registry, as CheckMetrics keeps them.
std::unique_ptr<prometheus::Registry> MakeRegistry(const std::vector<Check>& checks) {
  auto registry = std::make_unique<prometheus::Registry>();
  auto& status = prometheus::BuildGauge().Name("health_check_status").Help("x").Register(*registry);
  auto& duration = prometheus::BuildHistogram()
                       .Name("health_check_duration_seconds")
                       .Help("x")
                       .Register(*registry);
  auto& runs =
      prometheus::BuildCounter().Name("health_check_runs_total").Help("x").Register(*registry);
  auto& timeouts =
      prometheus::BuildCounter().Name("health_check_timeouts_total").Help("x").Register(*registry);
  auto& skipped = prometheus::BuildCounter()
                      .Name("health_check_skipped_runs_total")
                      .Help("x")
                      .Register(*registry);
  auto& last = prometheus::BuildGauge()
                   .Name("health_check_last_run_timestamp_seconds")
                   .Help("x")
                   .Register(*registry);
  auto& change = prometheus::BuildGauge()
                     .Name("health_check_state_change_timestamp_seconds")
                     .Help("x")
                     .Register(*registry);
  auto& failures = prometheus::BuildGauge()
                       .Name("health_check_consecutive_failures")
                       .Help("x")
                       .Register(*registry);
  auto& code =
      prometheus::BuildGauge().Name("health_check_http_status_code").Help("x").Register(*registry);
  auto& phase = prometheus::BuildGauge()
                    .Name("health_check_http_phase_seconds")
                    .Help("x")
                    .Register(*registry);
  const prometheus::Histogram::BucketBoundaries bounds(kBounds.begin(), kBounds.end());
  for (const Check& c : checks) {
    std::map<std::string, std::string> labels;
    for (const auto& [k, v] : c.status.pairs()) labels[k] = v;
    status.Add(labels).Set(1);
    const prometheus::Labels check = {{"check", c.check.pairs()[0].second}};
    auto& h = duration.Add(check, bounds);
    for (int i = 0; i < 20; ++i) h.Observe(0.003 * i);
    for (const char* r : kResults) {
      auto l = check;
      l["status"] = r;
      runs.Add(l).Increment(5);
    }
    timeouts.Add(check);
    skipped.Add(check);
    last.Add(check).Set(1764900000.5);
    change.Add(check).Set(1764900000.5);
    failures.Add(check);
    code.Add(check).Set(200);
    for (const char* p : kPhases) {
      auto l = check;
      l["phase"] = p;
      phase.Add(l).Set(0.001234);
    }
  }
  return registry;
}

struct Timing {
  double median = 0;
  double min = 0;
};

template <typename F>
Timing Time(int rounds, F&& render) {
  std::vector<double> times;
  for (int i = 0; i < rounds; ++i) {
    const auto start = std::chrono::steady_clock::now();
    render();
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], times.front()};
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 15;
  const char* only = argc > 3 ? argv[3] : "";
  const std::vector<Check> checks = MakeChecks(n);

  size_t samples = 0, bytes = 0, reserve = 0;
  // The machine is shared: the median shows the load, the minimum what a
  // render costs when it gets a CPU to itself.
  auto report = [&](const char* name, Timing t) {
    std::printf(
        "%-38s median %7.2f ms (%6.1f ns/sample), min %7.2f ms (%6.1f ns/sample), %zu bytes, %zu "
        "samples\n",
        name, t.median * 1e3, t.median * 1e9 / samples, t.min * 1e3, t.min * 1e9 / samples, bytes,
        samples);
  };
  const std::string mode = only;
  if (mode.empty() || mode == "text") {
    const Timing t = Time(rounds, [&] {
      hx::metrics::TextWriter w(reserve);
      samples = Walk(checks, w);
      bytes = w.output().size();
      reserve = bytes + bytes / 8;
    });
    report("text 0.0.4 (TextWriter)", t);
  }
  if (mode.empty() || mode == "om") {
    reserve = 0;
    const Timing t = Time(rounds, [&] {
      hx::metrics::OpenMetricsWriter w(reserve);
      samples = Walk(checks, w);
      bytes = w.output().size();
      reserve = bytes + bytes / 8;
    });
    report("OpenMetrics 1.0.0 (OpenMetricsWriter)", t);
  }
  if (mode.empty() || mode == "cpp") {
    const auto registry = MakeRegistry(checks);
    const Timing t = Time(std::max(1, rounds / 3), [&] {
      std::ostringstream out;
      prometheus::TextSerializer().Serialize(out, registry->Collect());
      bytes = out.str().size();
    });
    report("prometheus-cpp Collect+Serialize", t);
  }
  return 0;
}
