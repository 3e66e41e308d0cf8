#include "exposition/negotiation.h"

#include <gtest/gtest.h>

#include <string>

namespace hx::metrics {
namespace {

constexpr char kText[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kOpenMetrics[] =
    "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores";
constexpr char kOpenMetricsUtf8[] =
    "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8";
constexpr char kOpenMetrics001[] = "application/openmetrics-text; version=0.0.1; charset=utf-8";
constexpr char kProtobuf[] =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

// What Prometheus sends, by version. 2.42 (Debian 12) was read off the wire
// on this machine (a real prometheus scraping a header-logging server);
// later ones are built by scrape.go's acceptHeader() from
// config.ScrapeProtocolsHeaders and the default protocol lists.
constexpr char kPrometheus2_42[] =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
constexpr char kPrometheus2_42NativeHistograms[] =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
    "application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
// 2.49 - 2.55: scrape_protocols, four protocols, weights from 0.5 down.
constexpr char kPrometheus2_49[] =
    "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;"
    "q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
constexpr char kPrometheus2_49ProtoFirst[] =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
    "q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,application/openmetrics-text;"
    "version=0.0.1;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
// 3.0: five protocols (text 1.0.0 added), escaping=allow-utf-8 on every one.
constexpr char kPrometheus3_0[] =
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2";
// Later 3.x: escaping only on the 1.0.0 text formats.
constexpr char kPrometheus3[] =
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
constexpr char kPrometheus3ProtoFirst[] =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
    "q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
    "application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
// 3.x with metric_name_escaping_scheme: underscores.
constexpr char kPrometheus3Underscores[] =
    "application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=underscores;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

void ExpectFormat(std::string_view accept, ExpositionFormat format, const std::string& type,
                  bool protobuf = true) {
  const NegotiatedFormat negotiated = NegotiateFormat(accept, protobuf);
  EXPECT_EQ(negotiated.format, format) << accept;
  EXPECT_EQ(negotiated.content_type, type) << accept;
}

TEST(NegotiationTest, PrometheusDefaultsGetOpenMetrics) {
  ExpectFormat(kPrometheus2_42, ExpositionFormat::kOpenMetrics100, kOpenMetrics);
  ExpectFormat(kPrometheus2_49, ExpositionFormat::kOpenMetrics100, kOpenMetrics);
  ExpectFormat(kPrometheus3_0, ExpositionFormat::kOpenMetrics100, kOpenMetricsUtf8);
  ExpectFormat(kPrometheus3, ExpositionFormat::kOpenMetrics100, kOpenMetricsUtf8);
  ExpectFormat(kPrometheus3Underscores, ExpositionFormat::kOpenMetrics100, kOpenMetrics);
}

TEST(NegotiationTest, NativeHistogramScrapesGetProtobuf) {
  ExpectFormat(kPrometheus2_42NativeHistograms, ExpositionFormat::kProtobufDelimited, kProtobuf);
  ExpectFormat(kPrometheus2_49ProtoFirst, ExpositionFormat::kProtobufDelimited, kProtobuf);
  ExpectFormat(kPrometheus3ProtoFirst, ExpositionFormat::kProtobufDelimited, kProtobuf);
}

TEST(NegotiationTest, WithoutProtobufTheNextBestIsChosen) {
  ExpectFormat(kPrometheus2_42NativeHistograms, ExpositionFormat::kOpenMetrics100, kOpenMetrics,
               /*protobuf=*/false);
  ExpectFormat(kPrometheus3ProtoFirst, ExpositionFormat::kOpenMetrics100, kOpenMetricsUtf8,
               /*protobuf=*/false);
}

TEST(NegotiationTest, FallsBackToText004) {
  ExpectFormat("", ExpositionFormat::kText004, kText);
  ExpectFormat("*/*", ExpositionFormat::kText004, kText);  // curl
  ExpectFormat("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8",
               ExpositionFormat::kText004, kText);  // a browser
  ExpectFormat("application/json", ExpositionFormat::kText004, kText);
  ExpectFormat("application/openmetrics-text;version=2.0.0", ExpositionFormat::kText004, kText);
  ExpectFormat("text/plain;version=1.0.0", ExpositionFormat::kText004, kText);
  // Protobuf in another encoding than delimited, or another message.
  ExpectFormat(
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=text",
      ExpositionFormat::kText004, kText);
  ExpectFormat("application/vnd.google.protobuf;proto=other.Message;encoding=delimited",
               ExpositionFormat::kText004, kText);
}

TEST(NegotiationTest, QValuesDecideNotOrder) {
  // OpenMetrics has the implicit q=1, above text's 0.9, though listed later.
  ExpectFormat("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0",
               ExpositionFormat::kOpenMetrics100, kOpenMetrics);
  ExpectFormat("application/openmetrics-text;version=1.0.0;q=0.2,text/plain;version=0.0.4;q=0.3",
               ExpositionFormat::kText004, kText);
  ExpectFormat("application/openmetrics-text;q=0.3,text/plain;q=0.2",
               ExpositionFormat::kOpenMetrics100, kOpenMetrics);
  // q=0 means "not acceptable".
  ExpectFormat("application/openmetrics-text;version=1.0.0;q=0,text/plain;q=0.1",
               ExpositionFormat::kText004, kText);
  ExpectFormat("application/openmetrics-text;version=1.0.0;q=0.000", ExpositionFormat::kText004,
               kText);
}

TEST(NegotiationTest, EqualWeightsKeepTheFirstAndPreferExplicitTypes) {
  ExpectFormat(
      "application/openmetrics-text;version=0.0.1,application/openmetrics-text;"
      "version=1.0.0",
      ExpositionFormat::kOpenMetrics001, kOpenMetrics001);
  ExpectFormat("*/*;q=0.5,application/openmetrics-text;q=0.5", ExpositionFormat::kOpenMetrics100,
               kOpenMetrics);
}

TEST(NegotiationTest, ToleratesSpacesCaseAndQuotes) {
  ExpectFormat(" Application/OpenMetrics-Text ; Version=\"1.0.0\" ; Q=0.9 , text/plain ; q=0.5",
               ExpositionFormat::kOpenMetrics100, kOpenMetrics);
  ExpectFormat("application/openmetrics-text; version=1.0.0; escaping=values",
               ExpositionFormat::kOpenMetrics100,
               "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=values");
}

TEST(NegotiationTest, UnknownEscapingIsNotEchoed) {
  // Only the four schemes of the spec are answered; anything else (which
  // would also be a way to put bytes of our choosing into a header) falls
  // back to underscores.
  ExpectFormat("application/openmetrics-text;version=1.0.0;escaping=allow-utf8",
               ExpositionFormat::kOpenMetrics100, kOpenMetrics);
  ExpectFormat("application/openmetrics-text;version=1.0.0;escaping=x\r\nSet-Cookie: a=b",
               ExpositionFormat::kOpenMetrics100, kOpenMetrics);
}

TEST(NegotiationTest, MalformedEntriesAreSkippedNotFatal) {
  ExpectFormat("application/openmetrics-text;q=abc,text/plain;q=0.1", ExpositionFormat::kText004,
               kText);
  ExpectFormat("application/openmetrics-text;q=1.5", ExpositionFormat::kText004, kText);
  ExpectFormat("garbage,,;;,=,application/openmetrics-text", ExpositionFormat::kOpenMetrics100,
               kOpenMetrics);
  ExpectFormat(std::string(100000, ','), ExpositionFormat::kText004, kText);
  ExpectFormat(";q=1", ExpositionFormat::kText004, kText);
}

}  // namespace
}  // namespace hx::metrics
