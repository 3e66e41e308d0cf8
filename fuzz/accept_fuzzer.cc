// Fuzzes NegotiateFormat (exposition/negotiation.h) with an Accept header, which
// any client of /metrics chooses. The answer must always be one of the
// Content-Types we write, agree with the format, never carry a byte of the
// header we did not choose ourselves (no CR/LF: it becomes a response
// header), and protobuf only when it is allowed and was asked for.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "exposition/negotiation.h"
#include "fuzz_check.h"

namespace {

using hx::metrics::ExpositionFormat;

constexpr std::string_view kText = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kOpenMetrics001 =
    "application/openmetrics-text; version=0.0.1; charset=utf-8";
constexpr std::string_view kOpenMetrics100 =
    "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=";
constexpr std::string_view kProtobuf =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
    "encoding=delimited";
constexpr std::array<std::string_view, 4> kSchemes = {"allow-utf-8", "underscores", "dots",
                                                      "values"};

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

void Check(std::string_view accept, bool protobuf) {
  const auto negotiated = hx::metrics::NegotiateFormat(accept, protobuf);
  const std::string& type = negotiated.content_type;
  switch (negotiated.format) {
    case ExpositionFormat::kText004:
      HX_FUZZ_CHECK(type == kText);
      break;
    case ExpositionFormat::kOpenMetrics001:
      HX_FUZZ_CHECK(type == kOpenMetrics001);
      break;
    case ExpositionFormat::kOpenMetrics100: {
      HX_FUZZ_CHECK(std::string_view(type).substr(0, kOpenMetrics100.size()) == kOpenMetrics100);
      const std::string_view scheme = std::string_view(type).substr(kOpenMetrics100.size());
      bool known = false;
      for (std::string_view s : kSchemes) known = known || scheme == s;
      HX_FUZZ_CHECK(known);
      break;
    }
    case ExpositionFormat::kProtobufDelimited:
      HX_FUZZ_CHECK(protobuf);
      HX_FUZZ_CHECK(type == kProtobuf);
      HX_FUZZ_CHECK(Lower(accept).find("application/vnd.google.protobuf") != std::string::npos);
      break;
  }
  HX_FUZZ_CHECK(type.find_first_of("\r\n") == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view accept(reinterpret_cast<const char*>(data), size);
  Check(accept, true);
  Check(accept, false);
  return 0;
}
