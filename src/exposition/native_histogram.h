#pragma once
// A native (sparse, exponential-bucket) histogram, as Prometheus defines it:
// bucket i of schema s holds values in (2^((i-1)/2^s), 2^(i/2^s)]; values at
// or below the zero threshold go to the zero bucket. Written to protobuf by
// the exposition writers (see exposition.h, NativeBuckets).

#include <cstdint>
#include <vector>

#include "exposition/exposition.h"

namespace hx::metrics {

/// global.native_histograms in the config, in the style of client_golang.
struct NativeHistogramOptions {
  /// Largest ratio between a bucket's upper and lower bound; picks the schema
  /// (the coarsest, i.e. lowest, in [-4, 8] whose factor 2^(2^-s) is not
  /// above it: 1.1 gives schema 3, factor 1.0905). > 1.
  double bucket_factor = 1.1;
  /// Most populated buckets; past it the schema is lowered (two buckets
  /// merge into one) until the count fits again. >= 1.
  uint32_t max_buckets = 160;
  /// Values with |v| at or below this count in the zero bucket. >= 0.
  double zero_threshold = 2.938735877055719e-39;  // 2^-128, as client_golang
};

/// The schema NativeHistogramOptions::bucket_factor selects.
int32_t SchemaForFactor(double bucket_factor);

/// Accumulates observations. A value type: copying is O(populated buckets),
/// which is how a store publishes immutable snapshots of it.
///
/// Thread-safety: none; one writer at a time, copies are independent.
class NativeHistogram {
 public:
  explicit NativeHistogram(NativeHistogramOptions options = {});

  /// Adds one observation (negative values are counted in the zero bucket's
  /// place: durations are never negative; NaN is ignored).
  void Observe(double value);

  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  int32_t schema() const { return schema_; }

  /// The buckets in protobuf form (spans and deltas); `out` is overwritten.
  void FillBuckets(NativeBuckets* out) const;

 private:
  /// One populated bucket.
  struct Bucket {
    int32_t index;
    uint64_t count;
  };

  void AddToBucket(int32_t index, uint64_t count);
  /// Lowers the schema by one: buckets 2j-1 and 2j become bucket j.
  void HalveResolution();

  NativeHistogramOptions options_;
  int32_t schema_;
  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t zero_count_ = 0;
  /// The populated buckets only, by increasing index (sparse: memory and
  /// copies follow the populated count, not the range of indexes observed,
  /// which at schema 8 can be thousands of buckets wide).
  std::vector<Bucket> buckets_;
};

}  // namespace hx::metrics
