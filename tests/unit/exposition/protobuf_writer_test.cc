#include "exposition/protobuf_writer.h"

#include <gmock/gmock.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "exposition/native_histogram.h"
#include "proto/metrics.pb.h"

namespace hx::metrics {
namespace {

namespace pb = ::io::prometheus::client;
using ::testing::ElementsAre;

struct Decoded {
  std::vector<pb::MetricFamily> families;
  /// Each family's own bytes (without the length prefix), to compare with
  /// libprotobuf's serialisation of what it decoded.
  std::vector<std::string> raw;
};

/// Reads a delimited MetricFamily stream the way Prometheus does: varint
/// length, then that many bytes of message. Fails the test on any error.
Decoded Decode(const std::string& bytes) {
  Decoded out;
  google::protobuf::io::ArrayInputStream stream(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream in(&stream);
  in.SetTotalBytesLimit(std::numeric_limits<int>::max());
  while (in.CurrentPosition() < static_cast<int>(bytes.size())) {
    uint32_t length = 0;
    EXPECT_TRUE(in.ReadVarint32(&length));
    const int start = in.CurrentPosition();
    const auto limit = in.PushLimit(static_cast<int>(length));
    pb::MetricFamily family;
    EXPECT_TRUE(family.ParseFromCodedStream(&in));
    EXPECT_TRUE(in.ConsumedEntireMessage());
    in.PopLimit(limit);
    EXPECT_EQ(in.CurrentPosition() - start, static_cast<int>(length));
    out.raw.push_back(bytes.substr(start, length));
    out.families.push_back(std::move(family));
    if (::testing::Test::HasFailure()) break;
  }
  return out;
}

/// Decodes and checks that the bytes are exactly what libprotobuf writes for
/// the decoded messages: canonical encoding, nothing unknown or left over.
Decoded DecodeCanonical(const std::string& bytes) {
  Decoded d = Decode(bytes);
  for (size_t i = 0; i < d.families.size(); ++i) {
    EXPECT_EQ(d.families[i].unknown_fields().field_count(), 0);
    std::string again;
    d.families[i].SerializeToString(&again);
    EXPECT_EQ(again, d.raw[i]) << "family " << d.families[i].name();
  }
  return d;
}

const LabelSet kNoLabels;

TEST(ProtobufWriterTest, CounterWithCreatedTimestamp) {
  ProtobufWriter w;
  w.BeginFamily({"health_check_runs_total", MetricType::kCounter, "Runs by result.", ""});
  w.Counter(kNoLabels, {"result", "healthy"}, 42, 1764982800.25);
  w.Counter(kNoLabels, {"result", "timeout"}, 0, 0);
  w.EndFamily();
  w.Finish();
  Decoded d = DecodeCanonical(w.output());
  ASSERT_EQ(d.families.size(), 1u);
  const pb::MetricFamily& f = d.families[0];
  EXPECT_EQ(f.name(), "health_check_runs_total");
  EXPECT_EQ(f.help(), "Runs by result.");
  EXPECT_EQ(f.type(), pb::COUNTER);
  EXPECT_FALSE(f.has_unit());
  ASSERT_EQ(f.metric_size(), 2);
  const pb::Metric& m = f.metric(0);
  ASSERT_EQ(m.label_size(), 1);
  EXPECT_EQ(m.label(0).name(), "result");
  EXPECT_EQ(m.label(0).value(), "healthy");
  ASSERT_TRUE(m.has_counter());
  EXPECT_FALSE(m.has_gauge());
  EXPECT_FALSE(m.has_histogram());
  EXPECT_EQ(m.counter().value(), 42);
  ASSERT_TRUE(m.counter().has_created_timestamp());
  EXPECT_EQ(m.counter().created_timestamp().seconds(), 1764982800);
  EXPECT_EQ(m.counter().created_timestamp().nanos(), 250000000);
  EXPECT_FALSE(m.has_timestamp_ms());
  const pb::Metric& zero = f.metric(1);
  EXPECT_EQ(zero.label(0).value(), "timeout");
  ASSERT_TRUE(zero.counter().has_value());
  EXPECT_EQ(zero.counter().value(), 0);
  EXPECT_FALSE(zero.counter().has_created_timestamp());
}

TEST(ProtobufWriterTest, GaugesUntypedAndUnit) {
  ProtobufWriter w;
  w.BeginFamily({"health_check_cert_expiry_seconds", MetricType::kGauge, "", "seconds"});
  w.Gauge(kNoLabels, {}, -1.5);
  w.Gauge(kNoLabels, {"phase", "tls"}, std::numeric_limits<double>::infinity());
  w.EndFamily();
  w.BeginFamily({"process_thing", MetricType::kUnknown, "Untyped.", ""});
  w.Gauge(kNoLabels, {}, 7);
  w.EndFamily();
  w.Finish();
  Decoded d = DecodeCanonical(w.output());
  ASSERT_EQ(d.families.size(), 2u);
  EXPECT_EQ(d.families[0].type(), pb::GAUGE);
  EXPECT_FALSE(d.families[0].has_help());
  EXPECT_EQ(d.families[0].unit(), "seconds");
  ASSERT_EQ(d.families[0].metric_size(), 2);
  EXPECT_EQ(d.families[0].metric(0).label_size(), 0);
  EXPECT_EQ(d.families[0].metric(0).gauge().value(), -1.5);
  EXPECT_EQ(d.families[0].metric(1).label(0).name(), "phase");
  EXPECT_TRUE(std::isinf(d.families[0].metric(1).gauge().value()));
  EXPECT_EQ(d.families[1].type(), pb::UNTYPED);
  ASSERT_TRUE(d.families[1].metric(0).has_untyped());
  EXPECT_FALSE(d.families[1].metric(0).has_gauge());
  EXPECT_EQ(d.families[1].metric(0).untyped().value(), 7);
}

constexpr double kBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
constexpr uint64_t kCumulative[] = {0, 1, 3, 3, 8, 9, 9, 9, 9, 9, 9};

TEST(ProtobufWriterTest, ClassicHistogramWithExemplar) {
  ProtobufWriter w;
  Exemplar e{"a1b2-17", 0.031, 1764982805.5};
  HistogramView h;
  h.count = 10;
  h.sum = 12.5;
  h.upper_bounds = kBounds;
  h.cumulative_counts = kCumulative;
  h.created = 1764982800;
  h.exemplar = &e;
  w.BeginFamily({"health_check_duration_seconds", MetricType::kHistogram, "Durations.", "seconds"});
  w.Histogram(kNoLabels, h);
  w.EndFamily();
  Decoded d = DecodeCanonical(w.output());
  ASSERT_EQ(d.families.size(), 1u);
  EXPECT_EQ(d.families[0].type(), pb::HISTOGRAM);
  const pb::Histogram& ph = d.families[0].metric(0).histogram();
  EXPECT_EQ(ph.sample_count(), 10u);
  EXPECT_EQ(ph.sample_sum(), 12.5);
  ASSERT_EQ(ph.bucket_size(), 11);  // +Inf stays implicit
  for (int i = 0; i < 11; ++i) {
    EXPECT_EQ(ph.bucket(i).upper_bound(), kBounds[i]);
    EXPECT_EQ(ph.bucket(i).cumulative_count(), kCumulative[i]);
    EXPECT_EQ(ph.bucket(i).has_exemplar(), i == 3) << i;  // 0.031 <= 0.05
  }
  const pb::Exemplar& pe = ph.bucket(3).exemplar();
  ASSERT_EQ(pe.label_size(), 1);
  EXPECT_EQ(pe.label(0).name(), "attempt_id");
  EXPECT_EQ(pe.label(0).value(), "a1b2-17");
  EXPECT_EQ(pe.value(), 0.031);
  EXPECT_EQ(pe.timestamp().seconds(), 1764982805);
  EXPECT_EQ(pe.timestamp().nanos(), 500000000);
  EXPECT_EQ(ph.created_timestamp().seconds(), 1764982800);
  EXPECT_EQ(ph.created_timestamp().nanos(), 0);
  // Not a native histogram: none of its fields.
  EXPECT_FALSE(ph.has_schema());
  EXPECT_FALSE(ph.has_zero_threshold());
  EXPECT_FALSE(ph.has_zero_count());
  EXPECT_EQ(ph.positive_span_size(), 0);
  EXPECT_EQ(ph.positive_delta_size(), 0);
  EXPECT_EQ(ph.exemplars_size(), 0);
}

TEST(ProtobufWriterTest, ExemplarAboveEveryBoundGetsAnInfBucket) {
  ProtobufWriter w;
  Exemplar e{"x", 30, 0};
  HistogramView h;
  h.count = 10;
  h.sum = 40;
  h.upper_bounds = kBounds;
  h.cumulative_counts = kCumulative;
  h.exemplar = &e;
  w.BeginFamily({"d", MetricType::kHistogram, "", ""});
  w.Histogram(kNoLabels, h);
  w.EndFamily();
  Decoded d = DecodeCanonical(w.output());
  const pb::Histogram& ph = d.families[0].metric(0).histogram();
  ASSERT_EQ(ph.bucket_size(), 12);
  EXPECT_TRUE(std::isinf(ph.bucket(11).upper_bound()));
  EXPECT_EQ(ph.bucket(11).cumulative_count(), 10u);
  EXPECT_EQ(ph.bucket(11).exemplar().value(), 30);
  EXPECT_FALSE(ph.bucket(11).exemplar().has_timestamp());
  EXPECT_FALSE(ph.has_created_timestamp());
  for (int i = 0; i < 11; ++i) EXPECT_FALSE(ph.bucket(i).has_exemplar());
}

TEST(ProtobufWriterTest, NativeBesideClassic) {
  NativeBuckets nb;
  nb.schema = -1;  // negative: sint32 zigzag
  nb.zero_threshold = 0.001;
  nb.zero_count = 2;
  nb.positive_spans = {{-3, 2}, {5, 1}};
  nb.positive_deltas = {4, -3, 70};  // counts 4, 1, 71
  Exemplar e{"run-9", 0.3, 1764982805};
  HistogramView h;
  h.count = 78;
  h.sum = 3.25;
  h.upper_bounds = kBounds;
  h.cumulative_counts = kCumulative;
  h.native = &nb;
  h.created = 1764982800.5;
  h.exemplar = &e;
  for (bool classic : {true, false}) {
    ProtobufWriter w({.classic_buckets = classic});
    w.BeginFamily({"health_check_duration_seconds", MetricType::kHistogram, "D.", "seconds"});
    w.Histogram(kNoLabels, h);
    w.EndFamily();
    Decoded d = DecodeCanonical(w.output());
    const pb::Histogram& ph = d.families[0].metric(0).histogram();
    EXPECT_EQ(ph.sample_count(), 78u);
    EXPECT_EQ(ph.sample_sum(), 3.25);
    EXPECT_EQ(ph.bucket_size(), classic ? 11 : 0);
    if (classic) {
      EXPECT_EQ(ph.bucket(6).exemplar().label(0).value(), "run-9");  // 0.3 <= 0.5
    }
    ASSERT_TRUE(ph.has_schema());
    EXPECT_EQ(ph.schema(), -1);
    EXPECT_EQ(ph.zero_threshold(), 0.001);
    EXPECT_EQ(ph.zero_count(), 2u);
    ASSERT_EQ(ph.positive_span_size(), 2);
    EXPECT_EQ(ph.positive_span(0).offset(), -3);
    EXPECT_EQ(ph.positive_span(0).length(), 2u);
    EXPECT_EQ(ph.positive_span(1).offset(), 5);
    EXPECT_EQ(ph.positive_span(1).length(), 1u);
    EXPECT_THAT(ph.positive_delta(), ElementsAre(4, -3, 70));
    EXPECT_EQ(ph.negative_span_size(), 0);
    EXPECT_EQ(ph.negative_delta_size(), 0);
    EXPECT_EQ(ph.created_timestamp().seconds(), 1764982800);
    EXPECT_EQ(ph.created_timestamp().nanos(), 500000000);
    ASSERT_EQ(ph.exemplars_size(), 1);
    EXPECT_EQ(ph.exemplars(0).label(0).name(), "attempt_id");
    EXPECT_EQ(ph.exemplars(0).label(0).value(), "run-9");
    EXPECT_EQ(ph.exemplars(0).value(), 0.3);
    EXPECT_EQ(ph.exemplars(0).timestamp().seconds(), 1764982805);
  }
}

TEST(ProtobufWriterTest, WithoutNativeBucketsClassicOnesStayWhenSwitchedOff) {
  ProtobufWriter w({.classic_buckets = false});
  HistogramView h;
  h.count = 9;
  h.upper_bounds = kBounds;
  h.cumulative_counts = kCumulative;
  w.BeginFamily({"d", MetricType::kHistogram, "", ""});
  w.Histogram(kNoLabels, h);
  w.EndFamily();
  Decoded d = DecodeCanonical(w.output());
  EXPECT_EQ(d.families[0].metric(0).histogram().bucket_size(), 11);
}

TEST(ProtobufWriterTest, EmptyNativeHistogramIsMarkedNative) {
  // No observation and a zero threshold of 0 would look classic: Prometheus
  // tells them apart by spans, zero threshold or zero count.
  NativeBuckets nb;
  nb.schema = 3;
  HistogramView h;
  h.native = &nb;
  ProtobufWriter w;
  w.BeginFamily({"d", MetricType::kHistogram, "", ""});
  w.Histogram(kNoLabels, h);
  nb.zero_threshold = 1e-9;  // with a threshold it is native already
  w.Histogram(kNoLabels, h);
  w.EndFamily();
  Decoded d = DecodeCanonical(w.output());
  const pb::Histogram& a = d.families[0].metric(0).histogram();
  EXPECT_EQ(a.sample_count(), 0u);
  ASSERT_EQ(a.positive_span_size(), 1);
  EXPECT_EQ(a.positive_span(0).offset(), 0);
  EXPECT_EQ(a.positive_span(0).length(), 0u);
  EXPECT_EQ(a.positive_delta_size(), 0);
  const pb::Histogram& b = d.families[0].metric(1).histogram();
  EXPECT_EQ(b.positive_span_size(), 0);
  EXPECT_EQ(b.zero_threshold(), 1e-9);
}

TEST(ProtobufWriterTest, NativeHistogramRoundTrips) {
  NativeHistogram nh;  // defaults: factor 1.1 (schema 3), 160 buckets
  for (double v : {0.012, 0.013, 0.02, 0.5, 0.5, 3.0, 0.0}) nh.Observe(v);
  NativeBuckets nb;
  nh.FillBuckets(&nb);
  HistogramView h;
  h.count = nh.count();
  h.sum = nh.sum();
  h.native = &nb;
  ProtobufWriter w;
  w.BeginFamily({"d", MetricType::kHistogram, "", ""});
  w.Histogram(kNoLabels, h);
  w.EndFamily();
  Decoded d = DecodeCanonical(w.output());
  const pb::Histogram& ph = d.families[0].metric(0).histogram();
  EXPECT_EQ(ph.schema(), 3);
  EXPECT_EQ(ph.zero_count(), 1u);
  EXPECT_EQ(ph.zero_threshold(), std::ldexp(1.0, -128));
  // Rebuild the absolute counts and check them against the buckets.
  ASSERT_EQ(ph.positive_span_size(), static_cast<int>(nb.positive_spans.size()));
  uint64_t total = ph.zero_count();
  int64_t count = 0;
  int d_i = 0;
  for (int s = 0; s < ph.positive_span_size(); ++s) {
    EXPECT_EQ(ph.positive_span(s).offset(), nb.positive_spans[s].offset);
    for (uint32_t k = 0; k < ph.positive_span(s).length(); ++k) {
      count += ph.positive_delta(d_i++);
      total += static_cast<uint64_t>(count);
    }
  }
  EXPECT_EQ(d_i, ph.positive_delta_size());
  EXPECT_EQ(total, ph.sample_count());
}

TEST(ProtobufWriterTest, LongMessagesGetLongerLengthPrefixes) {
  // A histogram of 2,000 classic buckets is > 16 KiB (three length bytes for
  // the metric, reserved two) and 150,000 gauges > 2 MiB (four bytes for the
  // family, reserved three); a family of one short gauge needs fewer.
  std::vector<double> bounds(2000);
  std::vector<uint64_t> counts(2000);
  for (size_t i = 0; i < bounds.size(); ++i) {
    bounds[i] = static_cast<double>(i + 1);
    counts[i] = i * 1000;
  }
  HistogramView h;
  h.count = 2'000'000;
  h.upper_bounds = bounds;
  h.cumulative_counts = counts;
  ProtobufWriter w;
  w.BeginFamily({"big", MetricType::kHistogram, std::string(300, 'h'), ""});
  w.Histogram(kNoLabels, h);
  w.EndFamily();
  w.BeginFamily({"many", MetricType::kGauge, "", ""});
  for (int i = 0; i < 150'000; ++i) w.Gauge(kNoLabels, {"i", std::to_string(i)}, i);
  w.EndFamily();
  w.BeginFamily({"one", MetricType::kGauge, "", ""});
  w.Gauge(kNoLabels, {}, 1);
  w.EndFamily();
  EXPECT_GT(w.output().size(), 2u << 20);
  Decoded d = DecodeCanonical(w.output());
  ASSERT_EQ(d.families.size(), 3u);
  EXPECT_EQ(d.families[0].help(), std::string(300, 'h'));
  const pb::Histogram& ph = d.families[0].metric(0).histogram();
  ASSERT_EQ(ph.bucket_size(), 2000);
  EXPECT_EQ(ph.bucket(1999).cumulative_count(), 1999000u);
  EXPECT_EQ(ph.bucket(1999).upper_bound(), 2000);
  ASSERT_EQ(d.families[1].metric_size(), 150'000);
  EXPECT_EQ(d.families[1].metric(149'999).label(0).value(), "149999");
  EXPECT_EQ(d.families[1].metric(149'999).gauge().value(), 149'999);
  EXPECT_EQ(d.families[2].metric(0).gauge().value(), 1);
}

TEST(ProtobufWriterTest, LabelSetPairsThenTheExtraLabelRawUtf8) {
  // Protobuf carries label values as they are: no text escaping.
  const LabelSet labels({{"check", "db \"main\"\n"}, {"team", "\xc3\xa9quipe"}});
  ProtobufWriter w;
  w.BeginFamily({"health_check_runs_total", MetricType::kCounter, "", ""});
  w.Counter(labels, {"result", "healthy"}, 1, 0);
  w.EndFamily();
  w.BeginFamily({"health_check_duration_seconds", MetricType::kHistogram, "", ""});
  HistogramView h;
  h.count = 1;
  w.Histogram(labels, h);
  w.EndFamily();
  Decoded d = DecodeCanonical(w.output());
  ASSERT_EQ(d.families.size(), 2u);
  const pb::Metric& c = d.families[0].metric(0);
  ASSERT_EQ(c.label_size(), 3);
  EXPECT_EQ(c.label(0).name(), "check");
  EXPECT_EQ(c.label(0).value(), "db \"main\"\n");
  EXPECT_EQ(c.label(1).name(), "team");
  EXPECT_EQ(c.label(1).value(), "\xc3\xa9quipe");
  EXPECT_EQ(c.label(2).name(), "result");
  EXPECT_EQ(c.label(2).value(), "healthy");
  const pb::Metric& m = d.families[1].metric(0);
  ASSERT_EQ(m.label_size(), 2);
  EXPECT_EQ(m.label(1).value(), "\xc3\xa9quipe");
  EXPECT_EQ(m.histogram().sample_count(), 1u);
  EXPECT_EQ(m.histogram().bucket_size(), 0);
}

TEST(ProtobufWriterTest, LongStringsOutgrowOneByteLengths) {
  // Label values and attempt ids of 200 and 20,000 bytes need two and three
  // length bytes in every message around them (reserved: one or two).
  for (size_t n : {200u, 20000u}) {
    const std::string long_value(n, 'v');
    const LabelSet labels({{"check", long_value}});
    Exemplar e{long_value, 0.02, 1764982805};
    NativeBuckets nb;
    nb.positive_spans = {{-40, 1}};
    nb.positive_deltas = {5};
    HistogramView h;
    h.count = 5;
    h.upper_bounds = kBounds;
    h.cumulative_counts = kCumulative;
    h.native = &nb;
    h.exemplar = &e;
    ProtobufWriter w;
    w.BeginFamily({"d", MetricType::kHistogram, long_value, ""});
    w.Histogram(labels, h);
    w.EndFamily();
    w.BeginFamily({"c", MetricType::kCounter, "", ""});
    w.Counter(labels, {"result", long_value}, 3, 1764982800);
    w.EndFamily();
    Decoded d = DecodeCanonical(w.output());
    ASSERT_EQ(d.families.size(), 2u);
    EXPECT_EQ(d.families[0].help(), long_value);
    const pb::Metric& m = d.families[0].metric(0);
    EXPECT_EQ(m.label(0).value(), long_value);
    EXPECT_EQ(m.histogram().bucket(2).exemplar().label(0).value(), long_value);
    EXPECT_EQ(m.histogram().exemplars(0).label(0).value(), long_value);
    EXPECT_EQ(m.histogram().positive_span(0).offset(), -40);
    EXPECT_EQ(d.families[1].metric(0).label(1).value(), long_value);
    EXPECT_EQ(d.families[1].metric(0).counter().value(), 3);
  }
}

TEST(ProtobufWriterTest, NoFamiliesNoBytes) {
  ProtobufWriter w;
  w.Finish();
  EXPECT_EQ(w.output(), "");
}

}  // namespace
}  // namespace hx::metrics
