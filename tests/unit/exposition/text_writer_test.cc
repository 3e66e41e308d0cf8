#include "exposition/text_writer.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cstdlib>
#include <sstream>

#include "exposition/registry_bridge.h"
#include "metrics/process_collector.h"
#include "support/daemon_process.h"
#include "support/exposition_fixture.h"

namespace hx::metrics {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr char kGolden[] = "fixed_snapshot.prom";

std::string Render() {
  TextWriter writer;
  test::WriteFixedSnapshot(writer);
  return writer.output();
}

std::string PrometheusCppText(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

std::string BridgeText(const std::vector<prometheus::MetricFamily>& families) {
  TextWriter writer;
  SerializeRegistry(families, writer);
  writer.Finish();
  return writer.output();
}

TEST(TextWriterTest, FixedSnapshotMatchesGolden) {
  const std::string text = Render();
  if (std::getenv("HX_UPDATE_GOLDEN") != nullptr) test::WriteGolden(kGolden, text);
  EXPECT_EQ(text, test::ReadGolden(kGolden));
}

TEST(TextWriterTest, PromtoolAcceptsTheGolden) {
  auto promtool = RunCommand({"promtool", "check", "metrics"}, Render());
  EXPECT_EQ(promtool.exit_code, 0) << promtool.output;
}

TEST(TextWriterTest, HistogramLinesInPrometheusCppOrder) {
  TextWriter writer;
  LabelSet labels(Pairs{{"check", "a"}});
  const double bounds[] = {0.1, 1};
  const uint64_t counts[] = {1, 3};
  HistogramView view;
  view.count = 4;
  view.sum = 2.5;
  view.upper_bounds = bounds;
  view.cumulative_counts = counts;
  writer.BeginFamily({"x_seconds", MetricType::kHistogram, "", "seconds"});
  writer.Histogram(labels, view);
  writer.Histogram(LabelSet(), view);
  writer.EndFamily();
  writer.Finish();
  EXPECT_EQ(writer.output(),
            "# TYPE x_seconds histogram\n"
            "x_seconds_count{check=\"a\"} 4\n"
            "x_seconds_sum{check=\"a\"} 2.5\n"
            "x_seconds_bucket{check=\"a\",le=\"0.1\"} 1\n"
            "x_seconds_bucket{check=\"a\",le=\"1\"} 3\n"
            "x_seconds_bucket{check=\"a\",le=\"+Inf\"} 4\n"
            "x_seconds_count 4\n"
            "x_seconds_sum 2.5\n"
            "x_seconds_bucket{le=\"0.1\"} 1\n"
            "x_seconds_bucket{le=\"1\"} 3\n"
            "x_seconds_bucket{le=\"+Inf\"} 4\n");
}

TEST(TextWriterTest, BoundsFormattedOnceAreNotReusedForOtherBounds) {
  // The le texts are cached between histograms with equal bounds; a
  // histogram with other bounds of the same count must get its own.
  TextWriter writer;
  const double a[] = {0.1, 1};
  const double b[] = {0.25, 2.5};
  const uint64_t counts[] = {0, 0};
  writer.BeginFamily({"a", MetricType::kHistogram, "", ""});
  writer.Histogram(LabelSet(), {0, 0, a, counts, nullptr, 0, nullptr});
  writer.EndFamily();
  writer.BeginFamily({"b", MetricType::kHistogram, "", ""});
  writer.Histogram(LabelSet(), {0, 0, b, counts, nullptr, 0, nullptr});
  writer.Histogram(LabelSet(Pairs{{"x", "y"}}), {0, 0, b, counts, nullptr, 0, nullptr});
  writer.EndFamily();
  const std::string& out = writer.output();
  EXPECT_NE(out.find("a_bucket{le=\"0.1\"} 0\na_bucket{le=\"1\"} 0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("b_bucket{le=\"0.25\"} 0\nb_bucket{le=\"2.5\"} 0\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("b_bucket{x=\"y\",le=\"2.5\"} 0\n"), std::string::npos) << out;
}

TEST(TextWriterTest, ExtraLabelComesAfterTheSetAndIsEscaped) {
  TextWriter writer;
  writer.BeginFamily({"g", MetricType::kGauge, "h", ""});
  writer.Gauge(LabelSet(Pairs{{"check", "a"}}), {"phase", "x\"\\\n"}, 1);
  writer.Gauge(LabelSet(), {"phase", "y"}, 2);
  writer.EndFamily();
  EXPECT_EQ(writer.output(),
            "# HELP g h\n# TYPE g gauge\n"
            "g{check=\"a\",phase=\"x\\\"\\\\\\n\"} 1\n"
            "g{phase=\"y\"} 2\n");
}

TEST(TextWriterTest, ReserveKeepsTheBufferFromGrowing) {
  TextWriter writer(1 << 20);
  const char* data = writer.output().data();
  test::WriteFixedSnapshot(writer);
  EXPECT_EQ(writer.output().data(), data);
}

// The daemon's own families through the bridge come out exactly as
// prometheus-cpp's TextSerializer writes them today.
TEST(TextWriterTest, BridgeOutputIsIdenticalToPrometheusCpp) {
  prometheus::Registry registry;
  auto& reloads = prometheus::BuildCounter()
                      .Name("health_exporter_config_reloads_total")
                      .Help("Reloads by result.")
                      .Register(registry);
  reloads.Add({{"result", "success"}}).Increment(3);
  reloads.Add({{"result", "failure"}});
  prometheus::BuildGauge()
      .Name("health_exporter_build_info")
      .Help("Build information; value 1.")
      .Register(registry)
      .Add({{"version", "0.1.0"}, {"revision", "abc\"def"}, {"compiler", "gcc 12.2.0\\x"}})
      .Set(1);
  auto& gauges = prometheus::BuildGauge().Name("g").Help("values").Register(registry);
  int i = 0;
  for (double v : {0.0, 1.0, 0.1 + 0.2, 1e21, 1700000000.0, 1700000000.123, 2.5e-5, -0.0,
                   123456789012345678.0, 1e16, 1e15, std::numeric_limits<double>::infinity()}) {
    gauges.Add({{"i", std::to_string(i++)}}).Set(v);
  }
  prometheus::BuildGauge().Name("no_series").Help("empty").Register(registry);
  prometheus::BuildGauge().Name("no_help").Register(registry).Add({}).Set(2);
  auto& lateness =
      prometheus::BuildHistogram()
          .Name("health_exporter_scheduler_lateness_seconds")
          .Help("Lateness.")
          .Register(registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.1, 1});
  for (double v : {0.0004, 0.003, 0.003, 0.2, 7.0}) lateness.Observe(v);
  prometheus::BuildHistogram()
      .Name("h_seconds")
      .Help("")
      .Register(registry)
      .Add({{"check", "a\nb"}}, prometheus::Histogram::BucketBoundaries{0.25, 2.5, 10})
      .Observe(0.1 + 0.2);

  const auto families = registry.Collect();
  const std::string expected = PrometheusCppText(families);
  EXPECT_EQ(BridgeText(families), expected);
  // The comparison covers what it claims to.
  EXPECT_NE(expected.find("le=\"+Inf\""), std::string::npos);
  EXPECT_NE(expected.find("revision=\"abc\\\"def\""), std::string::npos);
}

TEST(TextWriterTest, BridgeMatchesPrometheusCppOnTheProcessCollector) {
  ProcessCollector collector;
  const auto families = collector.Collect();
  ASSERT_FALSE(families.empty());
  EXPECT_EQ(BridgeText(families), PrometheusCppText(families));
}

TEST(TextWriterTest, BridgeSkipsSummariesAndEmptyFamilies) {
  std::vector<prometheus::MetricFamily> families(3);
  families[0] = {"s", "summary", prometheus::MetricType::Summary, {prometheus::ClientMetric{}}};
  families[1] = {"e", "empty", prometheus::MetricType::Gauge, {}};
  families[2] = {"u", "untyped", prometheus::MetricType::Untyped, {prometheus::ClientMetric{}}};
  families[2].metric[0].untyped.value = 4;
  EXPECT_EQ(BridgeText(families), "# HELP u untyped\n# TYPE u untyped\nu 4\n");
}

}  // namespace
}  // namespace hx::metrics
