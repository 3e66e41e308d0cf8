#include "exposition/native_histogram.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace hx::metrics {
namespace {

constexpr int32_t kMinSchema = -4;
constexpr int32_t kMaxSchema = 8;

/// For schema s in 1..8, the 2^s lower edges of the buckets within one power
/// of two, as frexp fractions in [0.5, 1): entry j is 2^(j/2^s - 1). Bucket
/// j's upper bound (times 2^exp) is entry j + 1, entry 0 closing the previous
/// power's last bucket. Computed in long double and rounded once to double so
/// that each entry is the double nearest to the real bound; an even entry of
/// schema s is computed from the same exact exponent as entry j/2 of schema
/// s-1, so the tables agree and halving the resolution merges exactly.
struct BoundTables {
  std::vector<std::vector<double>> by_schema;  // index: schema; 0 unused
  BoundTables() : by_schema(kMaxSchema + 1) {
    for (int32_t s = 1; s <= kMaxSchema; ++s) {
      const int n = 1 << s;
      auto& bounds = by_schema[s];
      bounds.resize(n);
      for (int j = 0; j < n; ++j) {
        bounds[j] = static_cast<double>(std::exp2(static_cast<long double>(j) / n - 1.0L));
      }
    }
  }
};

const BoundTables& Bounds() {
  static const BoundTables tables;
  return tables;
}

/// The index of the bucket of schema `schema` that holds `v` (> 0): bucket i
/// holds (2^((i-1)/2^s), 2^(i/2^s)]. frexp splits v exactly into frac * 2^exp
/// with frac in [0.5, 1), so a power of two (frac == 0.5) lands in the bucket
/// it closes without any rounding of logarithms.
int32_t BucketIndex(double v, int32_t schema) {
  bool inf = false;
  if (std::isinf(v)) {
    // +Inf goes one bucket past the largest finite value's, as in
    // client_golang.
    v = DBL_MAX;
    inf = true;
  }
  int exp = 0;
  const double frac = std::frexp(v, &exp);
  int32_t index;
  if (schema > 0) {
    const auto& bounds = Bounds().by_schema[schema];
    // The first entry >= frac: a frac equal to an edge belongs to the bucket
    // that edge closes (upper bounds are inclusive).
    const auto it = std::lower_bound(bounds.begin(), bounds.end(), frac);
    index =
        static_cast<int32_t>(it - bounds.begin()) + (exp - 1) * static_cast<int32_t>(bounds.size());
  } else {
    // Schema 0: bucket exp, or exp - 1 for an exact power of two. Coarser
    // schemas group 2^-s of those: ceil(index / 2^-s), with an arithmetic
    // shift rounding towards -inf.
    index = frac == 0.5 ? exp - 1 : exp;
    const int32_t shift = -schema;
    index = (index + (1 << shift) - 1) >> shift;
  }
  return inf ? index + 1 : index;
}

}  // namespace

int32_t SchemaForFactor(double bucket_factor) {
  // Schema s grows each bucket by 2^(2^-s); the coarsest schema whose factor
  // is not above bucket_factor is wanted (client_golang's pickSchema,
  // floor(-log2(log2(factor))) clamped to [-4, 8]). Comparing against the
  // factors themselves, not through two logarithms, keeps a factor given as
  // exactly 2^(2^-s) on schema s. A factor at or below 1 (or NaN) cannot be
  // met: the finest schema is the closest. The config rejects those first.
  for (int32_t s = kMinSchema; s < kMaxSchema; ++s) {
    if (std::exp2(std::exp2(-s)) <= bucket_factor) return s;
  }
  return kMaxSchema;
}

// By value as the header declares it; the options are three numbers.
// cppcheck-suppress passedByValue
NativeHistogram::NativeHistogram(NativeHistogramOptions options)
    : options_(options), schema_(SchemaForFactor(options.bucket_factor)) {
  if (!(options_.zero_threshold >= 0)) options_.zero_threshold = 0;
}

void NativeHistogram::Observe(double value) {
  if (std::isnan(value)) return;
  ++count_;
  sum_ += value;
  if (!(value > options_.zero_threshold)) {
    // Negative durations do not happen; if one did, it is counted here rather
    // than in negative buckets nobody reads.
    ++zero_count_;
    return;
  }
  AddToBucket(BucketIndex(value, schema_), 1);
  // max_buckets 0 = no limit, as in client_golang.
  while (options_.max_buckets != 0 && buckets_.size() > options_.max_buckets &&
         schema_ > kMinSchema) {
    HalveResolution();
  }
}

void NativeHistogram::AddToBucket(int32_t index, uint64_t count) {
  // Observations mostly land in or beside the busiest buckets, so the
  // binary search is over at most max_buckets entries and inserts are rare.
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), index,
                             [](const Bucket& b, int32_t i) { return b.index < i; });
  if (it != buckets_.end() && it->index == index) {
    it->count += count;
  } else {
    buckets_.insert(it, Bucket{index, count});
  }
}

void NativeHistogram::HalveResolution() {
  --schema_;
  // Bucket j of schema s-1 is (2^((2j-2)/2^s), 2^(2j/2^s)]: buckets 2j-1 and
  // 2j of schema s, so i goes to ceil(i/2). The mapping keeps order, so
  // merging is one pass over the sorted buckets.
  size_t out = 0;
  for (size_t in = 0; in < buckets_.size(); ++in) {
    const int32_t index = (buckets_[in].index + 1) >> 1;
    if (out > 0 && buckets_[out - 1].index == index) {
      buckets_[out - 1].count += buckets_[in].count;
    } else {
      buckets_[out++] = Bucket{index, buckets_[in].count};
    }
  }
  buckets_.resize(out);
}

void NativeHistogram::FillBuckets(NativeBuckets* out) const {
  out->schema = schema_;
  out->zero_threshold = options_.zero_threshold;
  out->zero_count = zero_count_;
  out->positive_spans.clear();
  out->positive_deltas.clear();
  // A gap of one or two empty buckets costs less as zero deltas inside one
  // span than as a new span (offset and length); longer gaps start a new
  // span. This is client_golang's rule, so our output looks like its.
  constexpr int32_t kMaxGapInSpan = 2;
  int64_t previous_count = 0;
  int32_t next_index = 0;
  for (size_t n = 0; n < buckets_.size(); ++n) {
    const Bucket& b = buckets_[n];
    const int32_t gap = b.index - next_index;
    if (n == 0 || gap > kMaxGapInSpan) {
      out->positive_spans.push_back(BucketSpan{gap, 0});
    } else {
      for (int32_t k = 0; k < gap; ++k) {
        out->positive_deltas.push_back(-previous_count);
        previous_count = 0;
        ++out->positive_spans.back().length;
      }
    }
    const auto count = static_cast<int64_t>(b.count);
    out->positive_deltas.push_back(count - previous_count);
    previous_count = count;
    ++out->positive_spans.back().length;
    next_index = b.index + 1;
  }
}

}  // namespace hx::metrics
