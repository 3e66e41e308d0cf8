#pragma once
// Content negotiation for /metrics, as Prometheus specifies it
// (https://prometheus.io/docs/instrumenting/content_negotiation/): parse the
// Accept header with its q-values, pick the acceptable format with the
// highest weight among those we write, fall back to text 0.0.4, and answer
// with the full Content-Type (version; for text formats >= 1.0 the escaping
// scheme). Pure: no I/O, no state.

#include <cstdint>
#include <string>
#include <string_view>

namespace hx::metrics {

enum class ExpositionFormat : uint8_t {
  kText004,           ///< text/plain; version=0.0.4
  kOpenMetrics100,    ///< application/openmetrics-text; version=1.0.0
  kOpenMetrics001,    ///< application/openmetrics-text; version=0.0.1 (same writer)
  kProtobufDelimited  ///< io.prometheus.client.MetricFamily, length-delimited
};

struct NegotiatedFormat {
  ExpositionFormat format = ExpositionFormat::kText004;
  /// The Content-Type to answer with, e.g.
  /// "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores".
  std::string content_type;
};

/// Picks the format for `accept` (the request's Accept header, "" when
/// absent). Ties in q go to the entry listed first, an explicit type before a
/// wildcard; q=0 entries and entries we cannot parse are not acceptable.
/// `protobuf` = false leaves protobuf out (e.g. until it is served).
/// OpenMetrics without a version is 1.0.0 (the spec's default); a wildcard
/// (*/*, text/*) means text 0.0.4. The escaping scheme echoed for
/// OpenMetrics 1.0.0 is the one the chosen entry asks for when it is one of
/// allow-utf-8, underscores, dots, values, else "underscores"; every name we
/// expose is a legacy name, which all four schemes leave as it is.
NegotiatedFormat NegotiateFormat(std::string_view accept, bool protobuf = true);

}  // namespace hx::metrics
