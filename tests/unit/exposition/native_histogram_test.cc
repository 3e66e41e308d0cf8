#include "exposition/native_histogram.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>

namespace hx::metrics {

// For ElementsAre on spans (found by argument-dependent lookup, so outside
// the anonymous namespace).
bool operator==(const BucketSpan& a, const BucketSpan& b) {
  return a.offset == b.offset && a.length == b.length;
}

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

/// The bucket factor that selects exactly `schema`.
double FactorOf(int32_t schema) { return std::exp2(std::exp2(-schema)); }

NativeHistogram Unlimited(int32_t schema, double zero_threshold = 0) {
  return NativeHistogram({FactorOf(schema), 0, zero_threshold});
}

/// The index of the bucket one observation of `v` lands in at `schema`.
int32_t IndexOf(double v, int32_t schema) {
  NativeHistogram h = Unlimited(schema);
  h.Observe(v);
  NativeBuckets b;
  h.FillBuckets(&b);
  EXPECT_EQ(b.positive_spans.size(), 1u) << v;
  EXPECT_EQ(b.schema, schema);
  return b.positive_spans.empty() ? INT32_MIN : b.positive_spans[0].offset;
}

/// Per bucket index, its count (expands spans and deltas back).
std::vector<std::pair<int32_t, int64_t>> Expand(const NativeBuckets& b) {
  std::vector<std::pair<int32_t, int64_t>> out;
  int32_t index = 0;
  int64_t count = 0;
  size_t d = 0;
  for (const BucketSpan& span : b.positive_spans) {
    index += span.offset;
    for (uint32_t k = 0; k < span.length; ++k) {
      count += b.positive_deltas.at(d++);
      if (count != 0) out.emplace_back(index, count);
      ++index;
    }
  }
  EXPECT_EQ(d, b.positive_deltas.size());
  return out;
}

TEST(SchemaForFactorTest, CoarsestSchemaWhoseFactorFits) {
  EXPECT_EQ(SchemaForFactor(1.1), 3);  // 2^(1/8) = 1.0905 <= 1.1 < 2^(1/4)
  EXPECT_EQ(SchemaForFactor(2), 0);
  EXPECT_EQ(SchemaForFactor(1.5), 1);
  EXPECT_EQ(SchemaForFactor(4), -1);
  EXPECT_EQ(SchemaForFactor(65536), -4);
  EXPECT_EQ(SchemaForFactor(1e300), -4);
  EXPECT_EQ(SchemaForFactor(1.001), 8);  // finer than schema 8 can be
  EXPECT_EQ(SchemaForFactor(1.0), 8);
  EXPECT_EQ(SchemaForFactor(NAN), 8);
  for (int32_t s = -4; s <= 8; ++s) {
    EXPECT_EQ(SchemaForFactor(FactorOf(s)), s);
    EXPECT_EQ(SchemaForFactor(std::nextafter(FactorOf(s), 0.0)), std::min(s + 1, 8)) << s;
  }
}

TEST(NativeHistogramTest, PowersOfTwoCloseTheirBucket) {
  // Bucket i of schema s is (2^((i-1)/2^s), 2^(i/2^s)]: 2^k is the upper
  // bound of bucket k*2^s, for every schema that has k*2^s whole.
  for (int32_t s = 0; s <= 8; ++s) {
    for (int k = -20; k <= 20; ++k) {
      EXPECT_EQ(IndexOf(std::ldexp(1.0, k), s), k * (1 << s)) << "schema " << s << " 2^" << k;
      EXPECT_EQ(IndexOf(std::nextafter(std::ldexp(1.0, k), INFINITY), s), k * (1 << s) + 1)
          << "schema " << s << " just above 2^" << k;
    }
  }
  // Negative schemas: bucket i is (2^((i-1)*2^-s), 2^(i*2^-s)].
  EXPECT_EQ(IndexOf(1, -1), 0);
  EXPECT_EQ(IndexOf(2, -1), 1);
  EXPECT_EQ(IndexOf(4, -1), 1);
  EXPECT_EQ(IndexOf(std::nextafter(4.0, 5.0), -1), 2);
  EXPECT_EQ(IndexOf(0.25, -1), -1);
  EXPECT_EQ(IndexOf(0.3, -1), 0);
  EXPECT_EQ(IndexOf(65536, -4), 1);
  EXPECT_EQ(IndexOf(std::nextafter(65536.0, INFINITY), -4), 2);
  EXPECT_EQ(IndexOf(1.0 / 65536, -4), -1);
  EXPECT_EQ(IndexOf(std::nextafter(1.0 / 65536, 1.0), -4), 0);
}

TEST(NativeHistogramTest, KnownIndexesInsideAPowerOfTwo) {
  EXPECT_EQ(IndexOf(1.5, 0), 1);
  EXPECT_EQ(IndexOf(3, 0), 2);
  EXPECT_EQ(IndexOf(0.75, 1), 0);  // (2^-0.5, 1]
  EXPECT_EQ(IndexOf(0.7, 1), -1);  // (2^-1, 2^-0.5]
  EXPECT_EQ(IndexOf(1.1, 3), 2);   // (2^(1/8), 2^(2/8)] = (1.0905, 1.1892]
  EXPECT_EQ(IndexOf(1.09, 3), 1);
  EXPECT_EQ(IndexOf(0.1, 3), -26);    // log2(0.1) * 8 = -26.58
  EXPECT_EQ(IndexOf(0.015, 3), -48);  // -48.47
  EXPECT_EQ(IndexOf(DBL_MAX, 0), 1024);
  EXPECT_EQ(IndexOf(INFINITY, 0), 1025);
}

TEST(NativeHistogramTest, IrrationalBoundsAreTheNearestDoubles) {
  // Bucket i's upper bound 2^(i/2^s) has no exact double; the nearest one
  // belongs to bucket i and the next double above it to bucket i + 1, so a
  // reported bound and the bucket a value lands in agree.
  for (int32_t s = 1; s <= 8; ++s) {
    for (int32_t i = -(1 << s); i <= (1 << s) * 2; ++i) {
      const double bound = static_cast<double>(std::exp2(static_cast<long double>(i) / (1 << s)));
      EXPECT_EQ(IndexOf(bound, s), i) << "schema " << s << " bound " << i;
      EXPECT_EQ(IndexOf(std::nextafter(bound, INFINITY), s), i + 1) << "schema " << s << " " << i;
    }
  }
}

TEST(NativeHistogramTest, IndexesAgreeWithLogarithmsAwayFromBounds) {
  std::mt19937 rng(13);
  for (int32_t s = -4; s <= 8; ++s) {
    for (int n = 0; n < 2000; ++n) {
      const double v = std::ldexp(0.5 + rng() / 8589934592.0, static_cast<int>(rng() % 80) - 40);
      const long double exact =
          std::log2(static_cast<long double>(v)) * std::exp2(static_cast<long double>(s));
      if (std::fabs(exact - std::round(exact)) < 1e-9L) continue;
      EXPECT_EQ(IndexOf(v, s), static_cast<int32_t>(std::ceil(exact))) << v << " schema " << s;
    }
  }
}

TEST(NativeHistogramTest, SpansKeepGapsOfUpToTwoAndSplitOnThree) {
  NativeHistogram h = Unlimited(0);
  for (double v : {1.0, 2.0, 2.0, 16.0, 1024.0, 0.25}) h.Observe(v);
  NativeBuckets b;
  h.FillBuckets(&b);
  EXPECT_EQ(b.schema, 0);
  EXPECT_EQ(b.zero_count, 0u);
  // Indexes -2:1, 0:1, 1:2, 4:1, 10:1. -2 to 0 is a gap of one (index -1)
  // and 1 to 4 a gap of two: both stay in the span as zero buckets. 4 to 10
  // is a gap of five: a new span 5 buckets on.
  EXPECT_THAT(b.positive_spans, ElementsAre(BucketSpan{-2, 7}, BucketSpan{5, 1}));
  EXPECT_THAT(b.positive_deltas, ElementsAre(1, -1, 1, 1, -2, 0, 1, 0));

  NativeHistogram three = Unlimited(0);
  three.Observe(1);   // index 0
  three.Observe(16);  // index 4: indexes 1, 2, 3 empty
  three.FillBuckets(&b);
  EXPECT_THAT(b.positive_spans, ElementsAre(BucketSpan{0, 1}, BucketSpan{3, 1}));
  EXPECT_THAT(b.positive_deltas, ElementsAre(1, 0));
}

TEST(NativeHistogramTest, EmptyHasNoSpans) {
  NativeHistogram h;
  NativeBuckets b;
  b.positive_spans.push_back({1, 1});  // overwritten
  b.positive_deltas.push_back(3);
  h.FillBuckets(&b);
  EXPECT_EQ(b.schema, 3);
  EXPECT_EQ(b.zero_threshold, std::ldexp(1.0, -128));
  EXPECT_THAT(b.positive_spans, IsEmpty());
  EXPECT_THAT(b.positive_deltas, IsEmpty());
  EXPECT_EQ(h.count(), 0u);
}

TEST(NativeHistogramTest, ZeroBucketTakesValuesAtOrBelowTheThreshold) {
  NativeHistogram h = Unlimited(0, 0.001);
  for (double v : {0.0, 0.001, -1.0, 0.0011}) h.Observe(v);
  h.Observe(NAN);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 0.0021 - 1.0);
  NativeBuckets b;
  h.FillBuckets(&b);
  EXPECT_EQ(b.zero_threshold, 0.001);
  EXPECT_EQ(b.zero_count, 3u);
  EXPECT_THAT(b.positive_spans, ElementsAre(BucketSpan{-9, 1}));  // 0.0011: 2^-9.8
  EXPECT_THAT(b.positive_deltas, ElementsAre(1));
}

TEST(NativeHistogramTest, TooManyBucketsHalvesTheResolution) {
  NativeHistogram h({FactorOf(0), 4, 0});
  for (double v : {1.0, 2.0, 4.0, 8.0}) h.Observe(v);
  EXPECT_EQ(h.schema(), 0);
  h.Observe(16);  // a fifth bucket: schema -1 merges (2j-1, 2j) into j
  EXPECT_EQ(h.schema(), -1);
  NativeBuckets b;
  h.FillBuckets(&b);
  // Schema 0 indexes 0,1,2,3,4 become ceil(i/2): 0, 1, 1, 2, 2.
  EXPECT_THAT(b.positive_spans, ElementsAre(BucketSpan{0, 3}));
  EXPECT_THAT(b.positive_deltas, ElementsAre(1, 1, 0));
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.sum(), 31.0);
}

TEST(NativeHistogramTest, ReducedHistogramEqualsOneObservedAtTheLowerSchema) {
  // Values spread over 2^-20..2^20 need ~ 40 * 2^s buckets: max_buckets 30
  // forces schema 3 down to -1 (20 buckets); 0 would need 40.
  std::mt19937 rng(7);
  std::vector<double> values;
  for (int n = 0; n < 5000; ++n) {
    values.push_back(std::ldexp(0.5 + rng() / 8589934592.0, static_cast<int>(rng() % 40) - 20));
  }
  NativeHistogram limited({FactorOf(3), 30, 0});
  for (double v : values) limited.Observe(v);
  EXPECT_EQ(limited.schema(), -1);
  NativeHistogram direct = Unlimited(limited.schema());
  for (double v : values) direct.Observe(v);
  NativeBuckets a, b;
  limited.FillBuckets(&a);
  direct.FillBuckets(&b);
  EXPECT_EQ(Expand(a), Expand(b));
  EXPECT_EQ(a.positive_spans.size(), b.positive_spans.size());
  EXPECT_EQ(a.positive_deltas, b.positive_deltas);
  EXPECT_LE(Expand(a).size(), 30u);
}

TEST(NativeHistogramTest, ResolutionStopsAtSchemaMinusFour) {
  NativeHistogram h({FactorOf(0), 1, 0});
  h.Observe(1);
  h.Observe(1e300);  // ~997 powers of two apart: still 2 buckets at -4
  EXPECT_EQ(h.schema(), -4);
  NativeBuckets b;
  h.FillBuckets(&b);
  EXPECT_EQ(Expand(b).size(), 2u);
}

/// The q-quantile as Prometheus estimates it from native buckets: the
/// bucket where the cumulative count reaches q * count, interpolated
/// linearly between its bounds.
double EstimateQuantile(const NativeBuckets& b, uint64_t count, double q) {
  const double rank = q * count;
  double cumulative = b.zero_count;
  for (const auto& [index, n] : Expand(b)) {
    if (cumulative + n >= rank) {
      const double lower = std::exp2((index - 1) / std::exp2(b.schema));
      const double upper = std::exp2(index / std::exp2(b.schema));
      return lower + (upper - lower) * (rank - cumulative) / n;
    }
    cumulative += n;
  }
  return NAN;
}

TEST(NativeHistogramTest, QuantilesWithinTheSchemasBucketWidth) {
  // 10,000 latencies between 5 ms and 2 s, log-uniform: a probe's range.
  std::mt19937 rng(42);
  std::vector<double> values;
  for (int n = 0; n < 10000; ++n) {
    values.push_back(0.005 * std::exp(6.0 * (rng() + 0.5) / 4294967296.0));
  }
  for (uint32_t max_buckets : {0u, 160u, 40u}) {
    NativeHistogram h({1.1, max_buckets});
    for (double v : values) h.Observe(v);
    NativeBuckets b;
    h.FillBuckets(&b);
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    const double width = std::exp2(std::exp2(-b.schema)) - 1;
    for (double q : {0.1, 0.5, 0.9, 0.99, 0.999}) {
      const double truth = sorted[static_cast<size_t>(std::ceil(q * sorted.size())) - 1];
      const double estimate = EstimateQuantile(b, h.count(), q);
      EXPECT_LE(std::fabs(estimate - truth) / truth, width)
          << "q " << q << " schema " << b.schema << " max_buckets " << max_buckets;
    }
  }
}

}  // namespace
}  // namespace hx::metrics
