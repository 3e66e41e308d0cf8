#include "metrics/protobuf_writer.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace hx::metrics {
namespace {

static_assert(std::endian::native == std::endian::little,
              "doubles are copied as protobuf's little-endian fixed64");

// Wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;

// io.prometheus.client field numbers (proto/metrics.proto).
namespace family {
constexpr uint32_t kName = 1, kHelp = 2, kType = 3, kMetric = 4, kUnit = 5;
}
namespace metric {
constexpr uint32_t kLabel = 1, kGauge = 2, kCounter = 3, kUntyped = 5, kHistogram = 7;
}
namespace label {
constexpr uint32_t kName = 1, kValue = 2;
}
namespace counter {
constexpr uint32_t kValue = 1, kCreated = 3;
}
namespace histogram {
constexpr uint32_t kSampleCount = 1, kSampleSum = 2, kBucket = 3, kSchema = 5, kZeroThreshold = 6,
                   kZeroCount = 7, kPositiveSpan = 12, kPositiveDelta = 13, kCreated = 15,
                   kExemplars = 16;
}
namespace bucket {
constexpr uint32_t kCumulativeCount = 1, kUpperBound = 2, kExemplar = 3;
}
namespace span {
constexpr uint32_t kOffset = 1, kLength = 2;
}
namespace exemplar {
constexpr uint32_t kLabel = 1, kValue = 2, kTimestamp = 3;
}
namespace timestamp {
constexpr uint32_t kSeconds = 1, kNanos = 2;
}
// MetricType enum values.
constexpr uint64_t kTypeCounter = 0, kTypeGauge = 1, kTypeUntyped = 3, kTypeHistogram = 4;

size_t VarintSize(uint64_t v) {
  // 1 + floor(log2(v) / 7), and 1 for 0.
  return static_cast<size_t>(std::bit_width(v | 1) + 6) / 7;
}

void PutVarint(std::string& out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

/// Writes `v` as exactly `size` varint bytes at `p` (size == VarintSize(v)).
void WriteVarintAt(char* p, uint64_t v, size_t size) {
  for (size_t i = 0; i + 1 < size; ++i) {
    p[i] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  p[size - 1] = static_cast<char>(v);
}

void PutTag(std::string& out, uint32_t field, uint32_t wire_type) {
  PutVarint(out, (field << 3) | wire_type);
}

void PutUint(std::string& out, uint32_t field, uint64_t v) {
  PutTag(out, field, kVarint);
  PutVarint(out, v);
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

void PutDouble(std::string& out, uint32_t field, double v) {
  PutTag(out, field, kFixed64);
  char buf[8];
  std::memcpy(buf, &v, 8);
  out.append(buf, 8);
}

void PutString(std::string& out, uint32_t field, std::string_view s) {
  PutTag(out, field, kLengthDelimited);
  PutVarint(out, s.size());
  out.append(s);
}

/// A google.protobuf.Timestamp's content for unix seconds `t` (> 0).
void PutTimestampContent(std::string& out, double t) {
  double whole = std::floor(t);
  auto nanos = static_cast<int64_t>(std::llround((t - whole) * 1e9));
  if (nanos >= 1'000'000'000) {  // rounding up to the next second
    whole += 1;
    nanos = 0;
  }
  const auto seconds = static_cast<int64_t>(whole);
  // Timestamp is proto3: zero fields are left out, as libprotobuf does.
  if (seconds != 0) PutUint(out, timestamp::kSeconds, static_cast<uint64_t>(seconds));
  if (nanos != 0) PutUint(out, timestamp::kNanos, static_cast<uint64_t>(nanos));
}

/// Writes a Timestamp field for unix seconds `t`; nothing for 0 (unknown)
/// or a time no clock gives (negative, NaN, past year 30000), which could not
/// be converted to whole seconds safely.
void PutTimestamp(std::string& out, uint32_t field, double t) {
  if (!(t > 0 && t < 1e12)) return;
  // seconds (tag + <= 6 bytes below 1e12) and nanos (tag + <= 5 bytes): the
  // length always fits one byte.
  PutTag(out, field, kLengthDelimited);
  const size_t at = out.size();
  out.push_back(0);
  PutTimestampContent(out, t);
  out[at] = static_cast<char>(out.size() - at - 1);
}

}  // namespace

ProtobufWriter::ProtobufWriter(ProtobufWriterOptions options) : options_(options) {}

size_t ProtobufWriter::OpenLength(uint32_t field, size_t reserve) {
  PutTag(out_, field, kLengthDelimited);
  const size_t at = out_.size();
  out_.append(reserve, '\0');
  return at;
}

void ProtobufWriter::CloseLength(size_t at, size_t reserve) {
  const size_t length = out_.size() - at - reserve;
  const size_t size = VarintSize(length);
  if (size > reserve) {
    out_.insert(at + reserve, size - reserve, '\0');
  } else if (size < reserve) {
    out_.erase(at + size, reserve - size);
  }
  WriteVarintAt(out_.data() + at, length, size);
}

void ProtobufWriter::BeginFamily(const FamilyDesc& family) {
  // The delimited stream's length prefix has no tag. A family of 10,000
  // histograms is a few MB: three bytes cover up to 2 MiB without moving it.
  family_at_ = out_.size();
  out_.append(3, '\0');
  family_type_ = family.type;
  family_unit_.assign(family.unit);
  PutString(out_, family::kName, family.name);
  if (!family.help.empty()) PutString(out_, family::kHelp, family.help);
  uint64_t type = kTypeUntyped;
  switch (family.type) {
    case MetricType::kCounter:
      type = kTypeCounter;
      break;
    case MetricType::kGauge:
      type = kTypeGauge;
      break;
    case MetricType::kHistogram:
      type = kTypeHistogram;
      break;
    case MetricType::kUnknown:
      type = kTypeUntyped;
      break;
  }
  PutUint(out_, family::kType, type);
}

void ProtobufWriter::EndFamily() {
  if (!family_unit_.empty()) PutString(out_, family::kUnit, family_unit_);
  const size_t length = out_.size() - family_at_ - 3;
  const size_t size = VarintSize(length);
  if (size > 3) {
    out_.insert(family_at_ + 3, size - 3, '\0');
  } else if (size < 3) {
    out_.erase(family_at_ + size, 3 - size);
  }
  WriteVarintAt(out_.data() + family_at_, length, size);
}

void ProtobufWriter::Labels(const LabelSet& labels, ExtraLabel extra) {
  out_.append(labels.proto());
  if (!extra.name.empty()) {
    const size_t at = OpenLength(metric::kLabel, 1);
    PutString(out_, label::kName, extra.name);
    PutString(out_, label::kValue, extra.value);
    CloseLength(at, 1);
  }
}

void ProtobufWriter::Counter(const LabelSet& labels, ExtraLabel extra, double value,
                             double created) {
  const size_t metric_at = OpenLength(family::kMetric, 1);
  Labels(labels, extra);
  const size_t counter_at = OpenLength(metric::kCounter, 1);
  PutDouble(out_, counter::kValue, value);
  PutTimestamp(out_, counter::kCreated, created);
  CloseLength(counter_at, 1);
  CloseLength(metric_at, 1);
}

void ProtobufWriter::Gauge(const LabelSet& labels, ExtraLabel extra, double value) {
  const size_t metric_at = OpenLength(family::kMetric, 1);
  Labels(labels, extra);
  // Gauge and Untyped are both { double value = 1; }.
  PutTag(out_, family_type_ == MetricType::kUnknown ? metric::kUntyped : metric::kGauge,
         kLengthDelimited);
  PutVarint(out_, 9);
  PutDouble(out_, 1, value);
  CloseLength(metric_at, 1);
}

void ProtobufWriter::Exemplar(uint32_t field, const metrics::Exemplar& e) {
  const size_t at = OpenLength(field, 1);
  {
    const size_t label_at = OpenLength(exemplar::kLabel, 1);
    PutString(out_, label::kName, "attempt_id");
    PutString(out_, label::kValue, e.attempt_id);
    CloseLength(label_at, 1);
  }
  PutDouble(out_, exemplar::kValue, e.value);
  PutTimestamp(out_, exemplar::kTimestamp, e.timestamp);
  CloseLength(at, 1);
}

void ProtobufWriter::Histogram(const LabelSet& labels, const HistogramView& h) {
  const size_t metric_at = OpenLength(family::kMetric, 2);
  Labels(labels, {});
  const size_t hist_at = OpenLength(metric::kHistogram, 2);
  PutUint(out_, histogram::kSampleCount, h.count);
  PutDouble(out_, histogram::kSampleSum, h.sum);

  const bool classic = h.native == nullptr || options_.classic_buckets;
  if (classic) {
    const size_t n = std::min(h.upper_bounds.size(), h.cumulative_counts.size());
    // The exemplar goes on the first bucket whose bound holds its value; one
    // above every bound needs the +Inf bucket, which protobuf otherwise
    // leaves implicit (client_golang does the same).
    size_t exemplar_bucket = n + 1;  // none
    if (h.exemplar != nullptr) {
      exemplar_bucket = n;
      for (size_t i = 0; i < n; ++i) {
        if (h.exemplar->value <= h.upper_bounds[i]) {
          exemplar_bucket = i;
          break;
        }
      }
    }
    for (size_t i = 0; i < n || i == exemplar_bucket; ++i) {
      const bool inf = i == n;
      const size_t at = OpenLength(histogram::kBucket, 1);
      PutUint(out_, bucket::kCumulativeCount, inf ? h.count : h.cumulative_counts[i]);
      PutDouble(out_, bucket::kUpperBound,
                inf ? std::numeric_limits<double>::infinity() : h.upper_bounds[i]);
      if (i == exemplar_bucket) Exemplar(bucket::kExemplar, *h.exemplar);
      CloseLength(at, 1);
      if (inf) break;
    }
  }

  if (h.native != nullptr) {
    const NativeBuckets& nb = *h.native;
    PutUint(out_, histogram::kSchema, ZigZag(nb.schema));
    PutDouble(out_, histogram::kZeroThreshold, nb.zero_threshold);
    PutUint(out_, histogram::kZeroCount, nb.zero_count);
    auto put_span = [this](int32_t offset, uint32_t length) {
      PutTag(out_, histogram::kPositiveSpan, kLengthDelimited);
      const uint64_t zz = ZigZag(offset);
      // Each present field: tag (1) + varint; libprotobuf writes proto2
      // optional fields that are set, zeros included, and so do we.
      PutVarint(out_, 2 + VarintSize(zz) + VarintSize(length));
      PutUint(out_, span::kOffset, zz);
      PutUint(out_, span::kLength, length);
    };
    if (nb.positive_spans.empty() && nb.zero_threshold == 0 && nb.zero_count == 0) {
      // Without any bucket or zero bucket a native histogram would look
      // classic to Prometheus; an empty span marks it native.
      put_span(0, 0);
    }
    for (const BucketSpan& s : nb.positive_spans) put_span(s.offset, s.length);
    if (!nb.positive_deltas.empty()) {
      size_t size = 0;
      for (int64_t d : nb.positive_deltas) size += VarintSize(ZigZag(d));
      PutTag(out_, histogram::kPositiveDelta, kLengthDelimited);
      PutVarint(out_, size);
      for (int64_t d : nb.positive_deltas) PutVarint(out_, ZigZag(d));
    }
  }
  PutTimestamp(out_, histogram::kCreated, h.created);
  if (h.native != nullptr && h.exemplar != nullptr) Exemplar(histogram::kExemplars, *h.exemplar);
  CloseLength(hist_at, 2);
  CloseLength(metric_at, 2);
}

}  // namespace hx::metrics
