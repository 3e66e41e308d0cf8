#include "exposition/protobuf_writer.h"

#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>

#include "exposition/protobuf_wire.h"

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

uint64_t ZigZag(int64_t v) {
  // (v << 1) ^ (v >> 63), without shifting a signed value.
  const auto u = static_cast<uint64_t>(v);
  return (u << 1) ^ (0 - (u >> 63));
}

// The encoder writes through a raw pointer into space the caller has made
// room for (Room below): appending each few bytes to a std::string was half
// of all instructions (capacity check and copy per call).

char* Varint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

char* Tag(char* p, uint32_t field, uint32_t wire_type) {
  return Varint(p, (field << 3) | wire_type);
}

char* Uint(char* p, uint32_t field, uint64_t v) { return Varint(Tag(p, field, kVarint), v); }

char* Double(char* p, uint32_t field, double v) {
  p = Tag(p, field, kFixed64);
  std::memcpy(p, &v, 8);
  return p + 8;
}

char* Bytes(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

char* String(char* p, uint32_t field, std::string_view s) {
  return Bytes(Varint(Tag(p, field, kLengthDelimited), s.size()), s);
}

/// Most bytes String() writes (tag <= 2 bytes, length <= 10).
size_t StringRoom(std::string_view s) { return 12 + s.size(); }

/// Starts a length-delimited field: tag and `reserve` bytes for the length.
char* Open(char* p, uint32_t field, size_t reserve, char** length_at) {
  p = Tag(p, field, kLengthDelimited);
  *length_at = p;
  return p + reserve;
}

/// Ends it at `end`: writes the length, moving the content when it needs
/// more or fewer bytes than were reserved (the room includes slack for
/// that). Returns the new end.
char* Close(char* length_at, size_t reserve, const char* end) {
  const auto length = static_cast<size_t>(end - length_at) - reserve;
  const size_t size = VarintSize(length);
  if (size != reserve) std::memmove(length_at + size, length_at + reserve, length);
  Varint(length_at, length);
  return length_at + size + length;
}

/// A google.protobuf.Timestamp field for unix seconds `t`; nothing for 0
/// (unknown) or a time no clock gives (negative, NaN, past year 30000),
/// which could not be converted to whole seconds safely. At most 15 bytes.
char* Timestamp(char* p, uint32_t field, double t) {
  if (!(t > 0 && t < 1e12)) return p;
  double whole = std::floor(t);
  auto nanos = static_cast<int64_t>(std::llround((t - whole) * 1e9));
  if (nanos >= 1'000'000'000) {  // rounding up to the next second
    whole += 1;
    nanos = 0;
  }
  const auto seconds = static_cast<uint64_t>(whole);
  // seconds (tag + <= 6 bytes below 1e12) and nanos (tag + <= 5 bytes): the
  // length always fits one byte. Timestamp is proto3: zero fields are left
  // out, as libprotobuf does.
  p = Tag(p, field, kLengthDelimited);
  char* length_at = p++;
  if (seconds != 0) p = Uint(p, timestamp::kSeconds, seconds);
  if (nanos != 0) p = Uint(p, timestamp::kNanos, static_cast<uint64_t>(nanos));
  *length_at = static_cast<char>(p - length_at - 1);
  return p;
}
constexpr size_t kTimestampRoom = 16;

/// Most bytes an exemplar field takes.
size_t ExemplarRoom(const Exemplar& e) {
  return 2 + 2 + (2 + 2 + StringRoom("attempt_id") + StringRoom(e.attempt_id)) + 9 + kTimestampRoom;
}

char* PutExemplar(char* p, uint32_t field, const Exemplar& e) {
  char* at;
  p = Open(p, field, 1, &at);
  char* label_at;
  p = Open(p, exemplar::kLabel, 1, &label_at);
  p = String(p, label::kName, "attempt_id");
  p = String(p, label::kValue, e.attempt_id);
  p = Close(label_at, 1, p);
  p = Double(p, exemplar::kValue, e.value);
  p = Timestamp(p, exemplar::kTimestamp, e.timestamp);
  return Close(at, 1, p);
}

/// Metric.label: the label set's pre-encoded pairs, then `extra` if named.
size_t LabelsRoom(const LabelSet& labels, ExtraLabel extra) {
  return labels.proto().size() + 4 + StringRoom(extra.name) + StringRoom(extra.value);
}

char* PutLabels(char* p, const LabelSet& labels, ExtraLabel extra) {
  p = Bytes(p, labels.proto());
  if (!extra.name.empty()) {
    char* at;
    p = Open(p, metric::kLabel, 1, &at);
    p = String(p, label::kName, extra.name);
    p = String(p, label::kValue, extra.value);
    p = Close(at, 1, p);
  }
  return p;
}

/// Slack for lengths that outgrow their reserved bytes (up to 4 bytes for
/// each of the at most ten nested messages of a series).
constexpr size_t kSlack = 64;

}  // namespace

ProtobufWriter::ProtobufWriter(ProtobufWriterOptions options) : options_(options) {}

char* ProtobufWriter::Room(size_t bytes) {
  const size_t at = out_.size();
  out_.resize(at + bytes);
  return out_.data() + at;
}

void ProtobufWriter::Commit(char* end) {
  // The room was an upper bound; writing past it would be a bug here.
  assert(end <= out_.data() + out_.size());
  out_.resize(static_cast<size_t>(end - out_.data()));
}

void ProtobufWriter::BeginFamily(const FamilyDesc& family) {
  // The delimited stream's length prefix has no tag. A family of 10,000
  // histograms is a few MB: three bytes cover up to 2 MiB without moving it.
  family_at_ = out_.size();
  family_type_ = family.type;
  family_unit_.assign(family.unit);
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
  char* p = Room(3 + StringRoom(family.name) + StringRoom(family.help) + 11);
  p += 3;
  p = String(p, family::kName, family.name);
  if (!family.help.empty()) p = String(p, family::kHelp, family.help);
  p = Uint(p, family::kType, type);
  Commit(p);
}

void ProtobufWriter::EndFamily() {
  if (!family_unit_.empty())
    Commit(String(Room(StringRoom(family_unit_)), family::kUnit, family_unit_));
  const size_t length = out_.size() - family_at_ - 3;
  const size_t size = VarintSize(length);
  if (size > 3) {
    out_.insert(family_at_ + 3, size - 3, '\0');
  } else if (size < 3) {
    out_.erase(family_at_ + size, 3 - size);
  }
  Varint(out_.data() + family_at_, length);
}

void ProtobufWriter::Counter(const LabelSet& labels, ExtraLabel extra, double value,
                             double created) {
  char* p = Room(2 + 2 + LabelsRoom(labels, extra) + 2 + 9 + kTimestampRoom + kSlack);
  char* metric_at;
  p = Open(p, family::kMetric, 1, &metric_at);
  p = PutLabels(p, labels, extra);
  char* counter_at;
  p = Open(p, metric::kCounter, 1, &counter_at);
  p = Double(p, counter::kValue, value);
  p = Timestamp(p, counter::kCreated, created);
  p = Close(counter_at, 1, p);
  Commit(Close(metric_at, 1, p));
}

void ProtobufWriter::Gauge(const LabelSet& labels, ExtraLabel extra, double value) {
  char* p = Room(2 + 2 + LabelsRoom(labels, extra) + 2 + 9 + kSlack);
  char* metric_at;
  p = Open(p, family::kMetric, 1, &metric_at);
  p = PutLabels(p, labels, extra);
  // Gauge and Untyped are both { double value = 1; }.
  p = Tag(p, family_type_ == MetricType::kUnknown ? metric::kUntyped : metric::kGauge,
          kLengthDelimited);
  *p++ = 9;
  p = Double(p, 1, value);
  Commit(Close(metric_at, 1, p));
}

void ProtobufWriter::Histogram(const LabelSet& labels, const HistogramView& h) {
  const bool classic = h.native == nullptr || options_.classic_buckets;
  const size_t buckets = classic ? std::min(h.upper_bounds.size(), h.cumulative_counts.size()) : 0;
  const NativeBuckets* nb = h.native;
  const size_t exemplar_room = h.exemplar != nullptr ? ExemplarRoom(*h.exemplar) : 0;
  // Most bytes this series can take: each bucket is tag, length, count
  // (<= 11) and bound (9); a span tag, length and two varints (<= 12); a
  // delta <= 10; the exemplar at most twice, plus the +Inf bucket.
  const size_t room = 3 + 3 + LabelsRoom(labels, {}) + 11 + 9 + (buckets + 1) * 23 +
                      2 * exemplar_room +
                      (nb != nullptr ? 6 + 9 + 11 + (nb->positive_spans.size() + 1) * 14 + 12 +
                                           nb->positive_deltas.size() * 10
                                     : 0) +
                      kTimestampRoom + kSlack;
  char* p = Room(room);
  char* metric_at;
  p = Open(p, family::kMetric, 2, &metric_at);
  p = PutLabels(p, labels, {});
  char* hist_at;
  p = Open(p, metric::kHistogram, 2, &hist_at);
  p = Uint(p, histogram::kSampleCount, h.count);
  p = Double(p, histogram::kSampleSum, h.sum);

  if (classic) {
    // The exemplar goes on the first bucket whose bound holds its value; one
    // above every bound needs the +Inf bucket, which protobuf otherwise
    // leaves implicit (client_golang does the same).
    size_t exemplar_bucket = buckets + 1;  // none
    if (h.exemplar != nullptr) {
      exemplar_bucket = buckets;
      for (size_t i = 0; i < buckets; ++i) {
        if (h.exemplar->value <= h.upper_bounds[i]) {
          exemplar_bucket = i;
          break;
        }
      }
    }
    for (size_t i = 0; i < buckets || i == exemplar_bucket; ++i) {
      const bool inf = i == buckets;
      char* at;
      p = Open(p, histogram::kBucket, 1, &at);
      p = Uint(p, bucket::kCumulativeCount, inf ? h.count : h.cumulative_counts[i]);
      p = Double(p, bucket::kUpperBound,
                 inf ? std::numeric_limits<double>::infinity() : h.upper_bounds[i]);
      if (i == exemplar_bucket) p = PutExemplar(p, bucket::kExemplar, *h.exemplar);
      p = Close(at, 1, p);
      if (inf) break;
    }
  }

  if (nb != nullptr) {
    p = Uint(p, histogram::kSchema, ZigZag(nb->schema));
    p = Double(p, histogram::kZeroThreshold, nb->zero_threshold);
    p = Uint(p, histogram::kZeroCount, nb->zero_count);
    auto span = [](char* p, int32_t offset, uint32_t length) {
      const uint64_t zz = ZigZag(offset);
      p = Tag(p, histogram::kPositiveSpan, kLengthDelimited);
      // Both fields: libprotobuf writes set proto2 optionals, zeros too.
      *p++ = static_cast<char>(2 + VarintSize(zz) + VarintSize(length));
      p = Uint(p, span::kOffset, zz);
      return Uint(p, span::kLength, length);
    };
    if (nb->positive_spans.empty() && nb->zero_threshold == 0 && nb->zero_count == 0) {
      // Without any bucket or zero bucket a native histogram would look
      // classic to Prometheus; an empty span marks it native.
      p = span(p, 0, 0);
    }
    for (const BucketSpan& s : nb->positive_spans) p = span(p, s.offset, s.length);
    if (!nb->positive_deltas.empty()) {
      char* at;
      p = Open(p, histogram::kPositiveDelta, 1, &at);
      for (int64_t d : nb->positive_deltas) p = Varint(p, ZigZag(d));
      p = Close(at, 1, p);
    }
  }
  p = Timestamp(p, histogram::kCreated, h.created);
  if (nb != nullptr && h.exemplar != nullptr) {
    p = PutExemplar(p, histogram::kExemplars, *h.exemplar);
  }
  p = Close(hist_at, 2, p);
  Commit(Close(metric_at, 2, p));
}

}  // namespace hx::metrics
