#include "exposition/negotiation.h"

#include <algorithm>
#include <array>
#include <optional>

#include "util/ascii.h"

namespace hx::metrics {

namespace {

constexpr std::string_view kText004ContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kOpenMetrics100ContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
constexpr std::string_view kOpenMetrics001ContentType =
    "application/openmetrics-text; version=0.0.1; charset=utf-8";
constexpr std::string_view kProtobufContentType =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
    "encoding=delimited";
constexpr std::string_view kDefaultEscaping = "underscores";
constexpr std::array<std::string_view, 4> kEscapingSchemes = {"allow-utf-8", "underscores", "dots",
                                                              "values"};

// RFC 9110 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")], as thousandths.
std::optional<int> ParseQ(std::string_view q) {
  if (q.empty() || q.size() > 5 || (q[0] != '0' && q[0] != '1')) return std::nullopt;
  int value = (q[0] - '0') * 1000;
  if (q.size() > 1) {
    if (q[1] != '.') return std::nullopt;
    int scale = 100;
    for (char c : q.substr(2)) {
      if (c < '0' || c > '9') return std::nullopt;
      value += (c - '0') * scale;
      scale /= 10;
    }
  }
  if (value > 1000) return std::nullopt;
  return value;
}

// One element of the Accept list, reduced to what we decide on.
struct MediaRange {
  std::string_view type;  // "type/subtype", trimmed
  std::string_view version, proto, encoding, escaping;
  int q = 1000;
  bool valid = true;
};

MediaRange ParseMediaRange(std::string_view element) {
  MediaRange range;
  size_t semicolon = element.find(';');
  range.type = TrimOws(element.substr(0, semicolon));
  if (range.type.find('/') == std::string_view::npos) range.valid = false;
  while (semicolon != std::string_view::npos) {
    element.remove_prefix(semicolon + 1);
    semicolon = element.find(';');
    std::string_view param = element.substr(0, semicolon);
    const size_t equals = param.find('=');
    if (equals == std::string_view::npos) {
      if (!TrimOws(param).empty()) range.valid = false;
      continue;
    }
    const std::string_view name = TrimOws(param.substr(0, equals));
    std::string_view value = TrimOws(param.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (EqualsIgnoreAsciiCase(name, "q")) {
      const std::optional<int> q = ParseQ(value);
      if (!q) range.valid = false;
      range.q = q.value_or(0);
    } else if (EqualsIgnoreAsciiCase(name, "version")) {
      range.version = value;
    } else if (EqualsIgnoreAsciiCase(name, "proto")) {
      range.proto = value;
    } else if (EqualsIgnoreAsciiCase(name, "encoding")) {
      range.encoding = value;
    } else if (EqualsIgnoreAsciiCase(name, "escaping")) {
      range.escaping = value;
    }
  }
  return range;
}

// The format a media range asks for, if we write it; `specific` is false for
// wildcards.
std::optional<ExpositionFormat> FormatFor(const MediaRange& range, bool protobuf, bool& specific) {
  specific = true;
  if (EqualsIgnoreAsciiCase(range.type, "application/vnd.google.protobuf")) {
    if (protobuf && range.proto == "io.prometheus.client.MetricFamily" &&
        range.encoding == "delimited") {
      return ExpositionFormat::kProtobufDelimited;
    }
    return std::nullopt;
  }
  if (EqualsIgnoreAsciiCase(range.type, "application/openmetrics-text")) {
    if (range.version.empty() || range.version == "1.0.0") return ExpositionFormat::kOpenMetrics100;
    if (range.version == "0.0.1") return ExpositionFormat::kOpenMetrics001;
    return std::nullopt;
  }
  if (EqualsIgnoreAsciiCase(range.type, "text/plain")) {
    if (range.version.empty() || range.version == "0.0.4") return ExpositionFormat::kText004;
    return std::nullopt;
  }
  if (range.type == "*/*" || EqualsIgnoreAsciiCase(range.type, "text/*")) {
    specific = false;
    return ExpositionFormat::kText004;
  }
  return std::nullopt;
}

std::string ContentType(ExpositionFormat format, std::string_view escaping) {
  switch (format) {
    case ExpositionFormat::kOpenMetrics100: {
      std::string type(kOpenMetrics100ContentType);
      const bool known = std::find(kEscapingSchemes.begin(), kEscapingSchemes.end(), escaping) !=
                         kEscapingSchemes.end();
      type.append("; escaping=");
      type.append(known ? escaping : kDefaultEscaping);
      return type;
    }
    case ExpositionFormat::kOpenMetrics001:
      return std::string(kOpenMetrics001ContentType);
    case ExpositionFormat::kProtobufDelimited:
      return std::string(kProtobufContentType);
    case ExpositionFormat::kText004:
      break;
  }
  return std::string(kText004ContentType);
}

}  // namespace

NegotiatedFormat NegotiateFormat(std::string_view accept, bool protobuf) {
  std::optional<ExpositionFormat> best;
  std::string_view best_escaping;
  int best_q = 0;
  bool best_specific = false;
  while (!accept.empty()) {
    const size_t comma = accept.find(',');
    const MediaRange range = ParseMediaRange(accept.substr(0, comma));
    accept.remove_prefix(comma == std::string_view::npos ? accept.size() : comma + 1);
    if (!range.valid || range.q == 0) continue;
    bool specific = true;
    const std::optional<ExpositionFormat> format = FormatFor(range, protobuf, specific);
    if (!format) continue;
    // Strictly better only: an equal q keeps the earlier entry, unless the
    // earlier one is a wildcard and this one is explicit.
    if (!best || range.q > best_q || (range.q == best_q && specific && !best_specific)) {
      best = format;
      best_q = range.q;
      best_specific = specific;
      best_escaping = range.escaping;
    }
  }
  const ExpositionFormat format = best.value_or(ExpositionFormat::kText004);
  return {format, ContentType(format, best_escaping)};
}

}  // namespace hx::metrics
