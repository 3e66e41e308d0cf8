#include "exposition/openmetrics_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdlib>
#include <string>

#include "exposition/registry_bridge.h"
#include "metrics/process_collector.h"
#include "support/daemon_process.h"
#include "support/exposition_fixture.h"

namespace hx::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr char kGolden[] = "fixed_snapshot.om";

std::string Render() {
  OpenMetricsWriter writer;
  test::WriteFixedSnapshot(writer);
  return writer.output();
}

// What python3-prometheus-client's OpenMetrics parser reads from `text`.
CommandResult Parse(const std::string& text) {
  return RunCommand(
      {"/usr/bin/python3", std::string(HX_TESTDATA) + "/exposition/parse_openmetrics.py"}, text);
}

TEST(OpenMetricsWriterTest, FixedSnapshotMatchesGolden) {
  const std::string text = Render();
  if (std::getenv("HX_UPDATE_GOLDEN") != nullptr) test::WriteGolden(kGolden, text);
  EXPECT_EQ(text, test::ReadGolden(kGolden));
}

TEST(OpenMetricsWriterTest, ARealParserReadsTheFixedSnapshot) {
  auto parsed = Parse(Render());
  ASSERT_EQ(parsed.exit_code, 0) << parsed.output;
  const std::string& out = parsed.output;
  // Counters: family without _total, samples _total and _created.
  EXPECT_THAT(out, HasSubstr("family health_check_runs counter"));
  EXPECT_THAT(out, HasSubstr("health_check_runs_total{check='api',status='healthy'} 5"));
  EXPECT_THAT(out,
              HasSubstr("health_check_runs_created{check='api',status='healthy'} 1700000000.5"));
  EXPECT_THAT(out, Not(HasSubstr("health_check_runs_created{check='db")));  // created unknown
  EXPECT_THAT(out, HasSubstr("family process_cpu_seconds counter unit='seconds'"));
  // The exemplar (0.0825 s) sits on the le="0.1" bucket, with its timestamp.
  EXPECT_THAT(out, HasSubstr("health_check_duration_seconds_bucket{check='api',le='0.1'} 4 "
                             "exemplar{attempt_id='api-42'} 0.0825 1700000123.250000000"));
  EXPECT_THAT(out, HasSubstr("health_check_duration_seconds_created{check='api'} 1700000000.5"));
  EXPECT_THAT(out, HasSubstr("family health_check_duration_seconds histogram unit='seconds'"));
  // Escaped label values come back as they went in.
  EXPECT_THAT(out, HasSubstr("check='db \"primary\" C:\\\\data\\nline2'"));
  EXPECT_THAT(out,
              HasSubstr("help='An untyped family; help with a backslash \\\\ and \"quotes\".'"));
  // Native-only histogram: a +Inf bucket carries the count.
  EXPECT_THAT(out, HasSubstr("test_native_only_seconds_bucket{le='+Inf'} 9"));
  EXPECT_THAT(out, HasSubstr("family test_untyped unknown"));
}

TEST(OpenMetricsWriterTest, TheParserRejectsWhatTheSpecForbids) {
  // The validator is not a rubber stamp: the same snapshot without "# EOF",
  // or with a counter's family named with its "_total", is refused.
  const std::string text = Render();
  ASSERT_EQ(Parse(text).exit_code, 0);
  EXPECT_NE(Parse(text.substr(0, text.size() - 6)).exit_code, 0);
  std::string total = text;
  const std::string type = "# TYPE health_check_runs counter";
  total.replace(total.find(type), type.size(), "# TYPE health_check_runs_total counter");
  EXPECT_NE(Parse(total).exit_code, 0);
}

TEST(OpenMetricsWriterTest, ExemplarOnInfBucketAboveAllBounds) {
  OpenMetricsWriter writer;
  const double bounds[] = {0.5, 1};
  const uint64_t counts[] = {0, 0};
  Exemplar exemplar{"slow-1", 3.5, 0};
  HistogramView view;
  view.count = 1;
  view.sum = 3.5;
  view.upper_bounds = bounds;
  view.cumulative_counts = counts;
  view.exemplar = &exemplar;
  writer.BeginFamily({"x_seconds", MetricType::kHistogram, "", "seconds"});
  writer.Histogram(LabelSet(Pairs{{"check", "a"}}), view);
  writer.EndFamily();
  writer.Finish();
  EXPECT_EQ(writer.output(),
            "# TYPE x_seconds histogram\n"
            "# UNIT x_seconds seconds\n"
            "x_seconds_bucket{check=\"a\",le=\"0.5\"} 0\n"
            "x_seconds_bucket{check=\"a\",le=\"1.0\"} 0\n"
            "x_seconds_bucket{check=\"a\",le=\"+Inf\"} 1 # {attempt_id=\"slow-1\"} 3.5\n"
            "x_seconds_count{check=\"a\"} 1\n"
            "x_seconds_sum{check=\"a\"} 3.5\n"
            "# EOF\n");
  auto parsed = Parse(writer.output());
  EXPECT_EQ(parsed.exit_code, 0) << parsed.output;
}

TEST(OpenMetricsWriterTest, ExemplarOnTheBoundItEquals) {
  OpenMetricsWriter writer;
  const double bounds[] = {0.5, 1};
  const uint64_t counts[] = {0, 1};
  Exemplar exemplar{"edge", 1, 1700000000};
  HistogramView view{1, 1, bounds, counts, nullptr, 0, &exemplar};
  writer.BeginFamily({"x_seconds", MetricType::kHistogram, "", ""});
  writer.Histogram(LabelSet(), view);
  EXPECT_THAT(writer.output(),
              HasSubstr("x_seconds_bucket{le=\"1.0\"} 1 # {attempt_id=\"edge\"} 1 1700000000\n"));
}

TEST(OpenMetricsWriterTest, TooLongExemplarIsLeftOut) {
  OpenMetricsWriter writer;
  const double bounds[] = {1};
  const uint64_t counts[] = {1};
  // "attempt_id" (10) + 118 characters = 128: allowed; one more is not.
  // Multi-byte characters count once.
  std::string fits;
  for (int i = 0; i < 118; ++i) fits += "é";
  const std::string longer = fits + "x";  // outlives the Exemplar's string_view
  Exemplar ok{fits, 0.5, 0};
  Exemplar too_long{longer, 0.5, 0};
  writer.BeginFamily({"x", MetricType::kHistogram, "", ""});
  writer.Histogram(LabelSet(Pairs{{"n", "ok"}}), {1, 0.5, bounds, counts, nullptr, 0, &ok});
  writer.Histogram(LabelSet(Pairs{{"n", "long"}}), {1, 0.5, bounds, counts, nullptr, 0, &too_long});
  writer.EndFamily();
  writer.Finish();
  EXPECT_THAT(writer.output(), HasSubstr("x_bucket{n=\"ok\",le=\"1.0\"} 1 # {attempt_id=\""));
  EXPECT_THAT(writer.output(), HasSubstr("x_bucket{n=\"long\",le=\"1.0\"} 1\n"));
  auto parsed = Parse(writer.output());
  EXPECT_EQ(parsed.exit_code, 0) << parsed.output;
}

TEST(OpenMetricsWriterTest, CreatedLinesCanBeLeftOut) {
  OpenMetricsWriter writer(0, /*created_lines=*/false);
  test::WriteFixedSnapshot(writer);
  EXPECT_THAT(writer.output(), Not(HasSubstr("_created")));
  EXPECT_THAT(writer.output(),
              HasSubstr("health_check_runs_total{check=\"api\",status=\"healthy\"} 5\n"));
  auto parsed = Parse(writer.output());
  EXPECT_EQ(parsed.exit_code, 0) << parsed.output;
  // With them (the default), every counter and histogram with a known
  // creation time has one.
  EXPECT_THAT(Render(), HasSubstr("health_check_runs_created{check=\"api\",status=\"healthy\"} "
                                  "1700000000.5\n"));
}

TEST(OpenMetricsWriterTest, UnitThatIsNotTheNamesSuffixIsLeftOut) {
  OpenMetricsWriter writer;
  writer.BeginFamily({"queue_length", MetricType::kGauge, "", "seconds"});
  writer.Gauge(LabelSet(), {}, 1);
  writer.EndFamily();
  writer.Finish();
  EXPECT_EQ(writer.output(), "# TYPE queue_length gauge\nqueue_length 1\n# EOF\n");
}

TEST(OpenMetricsWriterTest, DaemonRegistryThroughTheBridgeParses) {
  prometheus::Registry registry;
  prometheus::BuildCounter()
      .Name("health_exporter_config_reloads_total")
      .Help("Reloads by result.")
      .Register(registry)
      .Add({{"result", "success"}})
      .Increment(2);
  auto& lateness = prometheus::BuildHistogram()
                       .Name("health_exporter_scheduler_lateness_seconds")
                       .Help("Lateness.")
                       .Register(registry)
                       .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.01, 0.1, 1});
  lateness.Observe(0.005);
  lateness.Observe(3);
  prometheus::BuildGauge()
      .Name("health_exporter_build_info")
      .Help("Build information; value 1.")
      .Register(registry)
      .Add({{"version", "0.1.0"}, {"revision", "abc"}})
      .Set(1);
  OpenMetricsWriter writer;
  SerializeRegistry(registry.Collect(), writer);
  SerializeRegistry(ProcessCollector().Collect(), writer);
  writer.Finish();
  auto parsed = Parse(writer.output());
  ASSERT_EQ(parsed.exit_code, 0) << parsed.output << "\n" << writer.output();
  EXPECT_THAT(parsed.output, HasSubstr("family health_exporter_config_reloads counter"));
  // A gauge named *_info stays a gauge (OpenMetrics' info type is another thing).
  EXPECT_THAT(parsed.output, HasSubstr("family health_exporter_build_info gauge"));
  EXPECT_THAT(parsed.output,
              HasSubstr("health_exporter_scheduler_lateness_seconds_bucket{le='0.01'} 1"));
  EXPECT_THAT(parsed.output, HasSubstr("family process_cpu_seconds counter unit='seconds'"));
  EXPECT_THAT(parsed.output, HasSubstr("family process_resident_memory_bytes gauge unit='bytes'"));
}

}  // namespace
}  // namespace hx::metrics
