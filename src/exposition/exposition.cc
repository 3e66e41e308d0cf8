#include "exposition/exposition.h"

#include <cstdint>

#include "exposition/protobuf_wire.h"
#include "exposition/text_format.h"

namespace hx::metrics {

namespace {

// Protobuf wire format: a length-delimited field is its tag byte
// (field number << 3 | wire type 2), the length as a varint, then the bytes.
// Field numbers here are all below 16, so a tag is one byte.
constexpr uint8_t LengthDelimitedTag(uint32_t field) {
  return static_cast<uint8_t>(field << 3 | 2);
}

void AppendVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void AppendBytesField(std::string& out, uint32_t field, std::string_view bytes) {
  out.push_back(static_cast<char>(LengthDelimitedTag(field)));
  AppendVarint(out, bytes.size());
  out.append(bytes);
}

// io.prometheus.client.Metric: `repeated LabelPair label = 1;`
// io.prometheus.client.LabelPair: `optional string name = 1; optional string
// value = 2;`. Both fields are always written (proto2: an empty value is
// still "set"), as libprotobuf does for a LabelPair whose fields were set.
constexpr uint32_t kMetricLabelField = 1;
constexpr uint32_t kLabelPairNameField = 1;
constexpr uint32_t kLabelPairValueField = 2;

void AppendLabelPair(std::string& out, std::string_view name, std::string_view value) {
  const size_t inner =
      1 + VarintSize(name.size()) + name.size() + 1 + VarintSize(value.size()) + value.size();
  out.push_back(static_cast<char>(LengthDelimitedTag(kMetricLabelField)));
  AppendVarint(out, inner);
  AppendBytesField(out, kLabelPairNameField, name);
  AppendBytesField(out, kLabelPairValueField, value);
}

}  // namespace

LabelSet::LabelSet(std::vector<std::pair<std::string, std::string>> pairs)
    : pairs_(std::move(pairs)) {
  for (const auto& [name, value] : pairs_) {
    if (!text_.empty()) text_.push_back(',');
    text_.append(name);
    text_.append("=\"");
    AppendEscapedLabelValue(text_, value);
    text_.push_back('"');
    AppendLabelPair(proto_, name, value);
  }
}

}  // namespace hx::metrics
