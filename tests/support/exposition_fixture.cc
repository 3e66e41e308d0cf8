#include "support/exposition_fixture.h"

#include <array>
#include <fstream>
#include <limits>
#include <sstream>

namespace hx::test {

using metrics::BucketSpan;
using metrics::Exemplar;
using metrics::FamilyDesc;
using metrics::HistogramView;
using metrics::LabelSet;
using metrics::MetricType;
using metrics::NativeBuckets;

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::string GoldenPath(const std::string& name) {
  return std::string(HX_TESTDATA) + "/exposition/" + name;
}

}  // namespace

void WriteFixedSnapshot(metrics::ExpositionWriter& writer) {
  // Labels in the order prometheus-cpp sorts them (by name), as the store
  // renders them to keep today's output.
  static const LabelSet api_status({{"check", "api"}, {"critical", "true"}, {"type", "http"}});
  static const LabelSet db_status({{"check", "db \"primary\" C:\\data\nline2"},
                                   {"critical", "false"},
                                   {"team", "payments"},
                                   {"type", "postgres"}});
  static const LabelSet api(Pairs{{"check", "api"}});
  static const LabelSet db(Pairs{{"check", "db \"primary\" C:\\data\nline2"}});
  static const LabelSet none;
  static const std::array<double, 11> bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                0.5,   1,    2.5,   5,    10};
  static const std::array<uint64_t, 11> api_counts = {0, 0, 1, 2, 4, 6, 6, 7, 7, 7, 7};
  static const std::array<uint64_t, 11> db_counts = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  static const NativeBuckets api_native = {/*schema=*/3, /*zero_threshold=*/2.938735877055719e-39,
                                           /*zero_count=*/0,
                                           /*positive_spans=*/{{-43, 2}, {5, 3}, {2, 1}},
                                           /*positive_deltas=*/{1, 0, 0, 1, -1, 0}};
  static const Exemplar api_exemplar = {"api-42", 0.0825, 1700000123.25};

  writer.BeginFamily({"health_check_status", MetricType::kGauge,
                      "State of the check after thresholds: 1 healthy, 0.5 degraded, 0 unhealthy.",
                      ""});
  writer.Gauge(api_status, {}, 1);
  writer.Gauge(db_status, {}, 0.5);
  writer.EndFamily();

  writer.BeginFamily({"health_check_duration_seconds", MetricType::kHistogram,
                      "Duration of check attempts.", "seconds"});
  HistogramView histogram;
  histogram.count = 7;
  histogram.sum = 1.2345;
  histogram.upper_bounds = bounds;
  histogram.cumulative_counts = api_counts;
  histogram.native = &api_native;
  histogram.created = 1700000000.5;
  histogram.exemplar = &api_exemplar;
  writer.Histogram(api, histogram);
  HistogramView empty;
  empty.upper_bounds = bounds;
  empty.cumulative_counts = db_counts;
  empty.created = 1700000001;
  writer.Histogram(db, empty);
  writer.EndFamily();

  writer.BeginFamily({"health_check_runs_total", MetricType::kCounter,
                      "Finished attempts by raw result (healthy, degraded, unhealthy).", ""});
  writer.Counter(api, {"status", "healthy"}, 5, 1700000000.5);
  writer.Counter(api, {"status", "unhealthy"}, 2, 1700000000.5);
  writer.Counter(db, {"status", "healthy"}, 0, 0);
  writer.EndFamily();

  writer.BeginFamily({"health_check_http_phase_seconds", MetricType::kGauge,
                      "Duration of each phase of the last HTTP request.", "seconds"});
  writer.Gauge(api, {"phase", "connect"}, 0.0123);
  writer.Gauge(api, {"phase", "tls \"handshake\""}, 2.5e-05);
  writer.EndFamily();

  writer.BeginFamily({"health_check_tls_cert_expiry_timestamp_seconds", MetricType::kGauge,
                      "Unix time at which the peer's leaf certificate expires.", "seconds"});
  writer.Gauge(api, {}, 1767225600);
  writer.Gauge(db, {}, std::numeric_limits<double>::infinity());
  writer.EndFamily();

  static const NativeBuckets native_only = {0, 0.001, 3, {{0, 2}}, {4, -2}};
  writer.BeginFamily({"test_native_only_seconds", MetricType::kHistogram,
                      "A histogram with native buckets only (classic ones turned off).",
                      "seconds"});
  HistogramView native;
  native.count = 9;
  native.sum = 4.5;
  native.native = &native_only;
  native.created = 1700000002.125;
  writer.Histogram(none, native);
  writer.EndFamily();

  writer.BeginFamily({"health_checks", MetricType::kGauge, "Checks by current state.", ""});
  writer.Gauge(none, {"state", "healthy"}, 1);
  writer.Gauge(none, {"state", "pending"}, 0);
  writer.EndFamily();

  writer.BeginFamily({"health_overall_status", MetricType::kGauge,
                      "Overall status: 1 healthy, 0.5 degraded, 0 unhealthy.", ""});
  writer.Gauge(none, {}, 0);
  writer.EndFamily();

  writer.BeginFamily({"process_cpu_seconds_total", MetricType::kCounter,
                      "Total user and system CPU time spent in seconds.", "seconds"});
  writer.Counter(none, {}, 12.34, 0);
  writer.EndFamily();

  writer.BeginFamily({"test_untyped", MetricType::kUnknown,
                      "An untyped family; help with a backslash \\ and \"quotes\".", ""});
  writer.Gauge(none, {}, std::numeric_limits<double>::quiet_NaN());
  writer.Gauge(api, {}, -std::numeric_limits<double>::infinity());
  writer.EndFamily();

  writer.Finish();
}

std::string ReadGolden(const std::string& name) {
  std::ifstream in(GoldenPath(name), std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void WriteGolden(const std::string& name, const std::string& content) {
  std::ofstream(GoldenPath(name), std::ios::binary) << content;
}

}  // namespace hx::test
