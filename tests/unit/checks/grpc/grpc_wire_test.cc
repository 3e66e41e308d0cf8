// The gRPC frame codec, the response reader and the verdict (no network).
#include <gtest/gtest.h>

#include <string>

#include "checks/grpc/grpc_check.h"

namespace hx {
namespace {

using namespace std::string_literals;
namespace wire = grpc_wire;

std::string Frame(const std::string& message, char flag = '\0') {
  const auto n = static_cast<uint32_t>(message.size());
  return std::string{flag, static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)} +
         message;
}

TEST(GrpcWireTest, EncodesHealthCheckRequest) {
  EXPECT_EQ(wire::EncodeHealthCheckRequest(""), "\0\0\0\0\0"s);
  EXPECT_EQ(wire::EncodeHealthCheckRequest("svc"), "\0\0\0\0\x05\x0a\x03svc"s);
  // A name of 300 bytes: a two-byte varint length (300 = 0xac 0x02).
  const std::string long_name(300, 'n');
  EXPECT_EQ(wire::EncodeHealthCheckRequest(long_name), "\0\0\0\x01\x2f\x0a\xac\x02"s + long_name);
}

TEST(GrpcWireTest, ParsesOneUnaryMessage) {
  std::string error;
  // The message is a view into the body: the body must outlive it.
  const std::string serving = Frame("\x08\x01");
  auto m = wire::ParseUnaryResponse(serving, &error);
  ASSERT_TRUE(m.has_value()) << error;
  EXPECT_EQ(*m, "\x08\x01");
  const std::string empty = Frame("");
  m = wire::ParseUnaryResponse(empty, &error);
  ASSERT_TRUE(m.has_value()) << error;
  EXPECT_EQ(*m, "");
}

TEST(GrpcWireTest, RejectsBadFrames) {
  struct Case {
    std::string body;
    std::string error;
  };
  const Case cases[] = {
      {"", "no response message"},
      {"\0\0\0"s, "response frame truncated (3 of 5 header bytes)"},
      {Frame("\x08\x01", '\x01'), "compressed response message (the check asks for none)"},
      {Frame("\x08\x01", '\x80'), "invalid response frame (flag byte 0x80)"},
      {"\0\0\0\0\x07\x08\x01"s, "response message truncated (2 of 7 bytes)"},
      {"\0\x7f\xff\xff\xff"s, "response message of 2147483647 bytes exceeds 16KiB"},
      {Frame("\x08\x01") + Frame("\x08\x02"), "more than one response message"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(wire::ParseUnaryResponse(c.body, &error).has_value()) << c.error;
    EXPECT_EQ(error, c.error);
  }
}

TEST(GrpcWireTest, DecodesServingStatus) {
  std::string error;
  EXPECT_EQ(wire::DecodeServingStatus("", &error), 0);  // proto3 default: UNKNOWN
  EXPECT_EQ(wire::DecodeServingStatus("\x08\x01", &error), 1);
  EXPECT_EQ(wire::DecodeServingStatus("\x08\x02", &error), 2);
  EXPECT_EQ(wire::DecodeServingStatus("\x08\x03", &error), 3);
  // Unknown fields of every wire type are skipped; the last status counts.
  EXPECT_EQ(wire::DecodeServingStatus("\x08\x02\x10\x05\x19"
                                      "12345678\x22\x02xy\x2d"
                                      "1234\x08\x01"s,
                                      &error),
            1);
  // A negative enum value arrives as ten bytes.
  EXPECT_EQ(wire::DecodeServingStatus("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s, &error), -1);
  // A large value keeps its low 32 bits, as an int32 enum does.
  EXPECT_EQ(wire::DecodeServingStatus("\x08\x87\x80\x80\x80\x10"s, &error), 7);
}

TEST(GrpcWireTest, RejectsBadProtobuf) {
  struct Case {
    std::string message;
    std::string error;
  };
  const Case cases[] = {
      {"\x08", "invalid HealthCheckResponse: truncated or overlong varint"},
      {"\x08\x80", "invalid HealthCheckResponse: truncated or overlong varint"},
      {"\x0a\x01x", "invalid HealthCheckResponse: status is not a varint"},
      {"\x12\x05xy", "invalid HealthCheckResponse: truncated field"},
      {"\x15\x01", "invalid HealthCheckResponse: truncated field"},
      {"\x0f", "invalid HealthCheckResponse: status is not a varint"},
      {"\x17", "invalid HealthCheckResponse: wire type 7"},
      {"\x00\x01"s, "invalid HealthCheckResponse: field number 0"},
      {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"s,
       "invalid HealthCheckResponse: truncated or overlong varint"},
      {"\x80", "invalid HealthCheckResponse: truncated field"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(wire::DecodeServingStatus(c.message, &error).has_value()) << c.error;
    EXPECT_EQ(error, c.error);
  }
}

TEST(GrpcWireTest, Names) {
  EXPECT_EQ(wire::StatusCodeName(0), "OK");
  EXPECT_EQ(wire::StatusCodeName(12), "UNIMPLEMENTED");
  EXPECT_EQ(wire::StatusCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(wire::StatusCodeName(17), "");
  EXPECT_EQ(wire::StatusCodeName(-1), "");
  EXPECT_EQ(wire::ServingStatusName(1), "SERVING");
  EXPECT_EQ(wire::ServingStatusName(3), "SERVICE_UNKNOWN");
  EXPECT_EQ(wire::ServingStatusName(4), "");
}

TEST(GrpcWireTest, PercentDecoding) {
  EXPECT_EQ(wire::PercentDecode("no%20such%20method"), "no such method");
  EXPECT_EQ(wire::PercentDecode("caf%C3%A9"), "caf\xc3\xa9");
  EXPECT_EQ(wire::PercentDecode("100%"), "100%");
  EXPECT_EQ(wire::PercentDecode("%zz%4"), "%zz%4");
}

// ---------------------------------------------------------------------------
// Response reading and the verdict

class GrpcVerdictTest : public ::testing::Test {
 protected:
  GrpcVerdictTest() {
    spec_.host = "127.0.0.1";
    spec_.port = 50051;
    spec_.service = "orders";
    spec_.metadata = {{"authorization", "Bearer tok-secret"}};
  }

  /// Feeds a response as curl would: status line, headers, blank line,
  /// body, trailers.
  GrpcResponse Feed(const std::vector<std::string>& headers, const std::string& body,
                    const std::vector<std::string>& trailers = {"grpc-status: 0"}) {
    GrpcResponse r;
    r.OnHeaderLine("HTTP/2 200 \r\n");
    for (const auto& h : headers) r.OnHeaderLine(h + "\r\n");
    r.OnHeaderLine("\r\n");
    r.OnBodyData(body);
    for (const auto& t : trailers) r.OnHeaderLine(t + "\r\n");
    return r;
  }

  CheckResult Verdict(const GrpcResponse& r) { return EvaluateGrpcResponse(r, spec_); }

  static const Observation* Find(const CheckResult& r, ObservationId id) {
    for (const auto& o : r.observations) {
      if (o.id == id) return &o;
    }
    return nullptr;
  }

  GrpcCheckSpec spec_;
  const std::vector<std::string> grpc_ = {"content-type: application/grpc"};
};

TEST_F(GrpcVerdictTest, ServingIsHealthy) {
  const CheckResult r = Verdict(Feed(grpc_, Frame("\x08\x01")));
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "SERVING");
  EXPECT_EQ(r.reason, FailureReason::kNone);
  ASSERT_NE(Find(r, ObservationId::kGrpcStatusCode), nullptr);
  EXPECT_EQ(Find(r, ObservationId::kGrpcStatusCode)->value, 0);
  ASSERT_NE(Find(r, ObservationId::kGrpcServingStatus), nullptr);
  EXPECT_EQ(Find(r, ObservationId::kGrpcServingStatus)->value, 1);
}

TEST_F(GrpcVerdictTest, OtherServingStatusesAreUnhealthyAndNamed) {
  const struct {
    std::string message;
    std::string detail;
    FailureReason reason;
  } cases[] = {
      {"\x08\x02", "NOT_SERVING", FailureReason::kNotServing},
      {"", "UNKNOWN", FailureReason::kNotServing},
      {"\x08\x00"s, "UNKNOWN", FailureReason::kNotServing},
      {"\x08\x03", "SERVICE_UNKNOWN", FailureReason::kNotServing},
      {"\x08\x09", "serving status 9 (not a grpc.health.v1 status)", FailureReason::kProtocolError},
  };
  for (const auto& c : cases) {
    const CheckResult r = Verdict(Feed(grpc_, Frame(c.message)));
    EXPECT_EQ(r.health, Health::kUnhealthy) << c.detail;
    EXPECT_EQ(r.detail, c.detail);
    EXPECT_EQ(r.reason, c.reason) << c.detail;
  }
}

TEST_F(GrpcVerdictTest, ContentTypeVariantsAreAccepted) {
  for (const char* type :
       {"application/grpc", "application/grpc+proto", "Application/GRPC; charset=binary"}) {
    const CheckResult r = Verdict(Feed({"Content-Type: "s + type}, Frame("\x08\x01")));
    EXPECT_EQ(r.health, Health::kHealthy) << type << ": " << r.detail;
  }
}

TEST_F(GrpcVerdictTest, TrailersOnlyErrorsAreNamedWithTheirMessage) {
  GrpcResponse r;
  r.OnHeaderLine("HTTP/2 200\r\n");
  r.OnHeaderLine("content-type: application/grpc\r\n");
  r.OnHeaderLine("grpc-status: 12\r\n");
  r.OnHeaderLine("grpc-message: Method%20not%20found!\r\n");
  r.OnHeaderLine("\r\n");
  CheckResult v = Verdict(r);
  EXPECT_EQ(v.detail,
            "grpc-status 12 UNIMPLEMENTED: the server has no health service (\"Method not "
            "found!\")");
  EXPECT_EQ(Find(v, ObservationId::kGrpcStatusCode)->value, 12);
  EXPECT_EQ(Find(v, ObservationId::kGrpcServingStatus), nullptr);
  EXPECT_EQ(v.reason, FailureReason::kProtocolError);

  v = Verdict(Feed(grpc_, "", {"grpc-status: 5", "grpc-message: unknown service"}));
  EXPECT_EQ(v.detail, "grpc-status 5 NOT_FOUND: unknown service \"orders\" (\"unknown service\")");
  EXPECT_EQ(v.reason, FailureReason::kNotServing);  // the health service's SERVICE_UNKNOWN
  v = Verdict(Feed(grpc_, "", {"grpc-status: 14"}));
  EXPECT_EQ(v.detail, "grpc-status 14 UNAVAILABLE");
  EXPECT_EQ(v.reason, FailureReason::kProtocolError);
  v = Verdict(Feed(grpc_, "", {"grpc-status: 99", "grpc-message: odd"}));
  EXPECT_EQ(v.detail, "grpc-status 99: \"odd\"");
  EXPECT_EQ(v.reason, FailureReason::kProtocolError);
  spec_.service = "";
  v = Verdict(Feed(grpc_, "", {"grpc-status: 5"}));
  EXPECT_EQ(v.detail, "grpc-status 5 NOT_FOUND: the server reports no overall health");
}

TEST_F(GrpcVerdictTest, ServerTextIsEscapedCutAndNeverShowsMetadata) {
  const CheckResult r = Verdict(Feed(
      grpc_, "", {"grpc-status: 16", "grpc-message: bad token Bearer%20tok-secret%0A%22x%22"}));
  EXPECT_EQ(r.detail, "grpc-status 16 UNAUTHENTICATED: \"bad token <redacted>\\x0a\\\"x\\\"\"");
  EXPECT_EQ(r.reason, FailureReason::kAuthFailed);
  // "\xff" followed by the rest of a value would spell the value again.
  spec_.metadata = {{"x-key", "fuzz-secret"}};
  const CheckResult spelled =
      Verdict(Feed(grpc_, "", {"grpc-status: 7", "grpc-message: a%FFuzz-secret%FFuzz-secret"}));
  EXPECT_EQ(spelled.detail, "grpc-status 7 PERMISSION_DENIED: \"<redacted>\"");
  EXPECT_EQ(spelled.reason, FailureReason::kAuthFailed);
  const CheckResult long_message =
      Verdict(Feed(grpc_, "", {"grpc-status: 2", "grpc-message: " + std::string(500, 'm')}));
  EXPECT_EQ(long_message.detail, "grpc-status 2 UNKNOWN: \"" + std::string(128, 'm') + "\"...");
}

TEST_F(GrpcVerdictTest, NotAGrpcResponse) {
  EXPECT_EQ(Verdict(Feed({"content-type: text/html"}, "<html>", {})).detail,
            "not a gRPC response: content-type \"text/html\"");
  EXPECT_EQ(Verdict(Feed({}, "", {})).detail, "not a gRPC response: no content-type");
  EXPECT_EQ(Verdict(Feed({"content-type: application/grpcx"}, "", {})).detail,
            "not a gRPC response: content-type \"application/grpcx\"");

  GrpcResponse r404;
  r404.OnHeaderLine("HTTP/2 404\r\n");
  r404.OnHeaderLine("content-type: text/plain\r\n");
  EXPECT_EQ(Verdict(r404).detail, "HTTP 404, expected 200 with a gRPC response");
  EXPECT_EQ(Verdict(r404).reason, FailureReason::kHttpStatus);

  GrpcResponse http1;
  http1.OnHeaderLine("HTTP/1.1 200 OK\r\n");
  http1.OnHeaderLine("content-type: application/grpc\r\n");
  EXPECT_EQ(Verdict(http1).detail, "the server answered with HTTP/1, gRPC needs HTTP/2");
  EXPECT_EQ(Verdict(http1).reason, FailureReason::kProtocolError);

  EXPECT_EQ(Verdict(GrpcResponse{}).detail, "no HTTP response");
  EXPECT_EQ(Verdict(GrpcResponse{}).reason, FailureReason::kProtocolError);
  EXPECT_EQ(Verdict(Feed({"content-type: text/html"}, "<html>", {})).reason,
            FailureReason::kProtocolError);
}

TEST_F(GrpcVerdictTest, MissingOrBadGrpcStatus) {
  EXPECT_EQ(Verdict(Feed(grpc_, Frame("\x08\x01"), {})).detail,
            "no grpc-status in the response (trailers missing)");
  EXPECT_EQ(Verdict(Feed(grpc_, Frame("\x08\x01"), {"grpc-status: -1"})).detail,
            "invalid grpc-status \"-1\"");
  EXPECT_EQ(Verdict(Feed(grpc_, Frame("\x08\x01"), {"grpc-status: 99999999999"})).detail,
            "invalid grpc-status \"99999999999\"");
  // grpc-status is 1*DIGIT (PROTOCOL-HTTP2.md): leading zeros are still a
  // number, and "000" is OK (the fuzzer once asserted only "0" could be).
  EXPECT_EQ(Verdict(Feed(grpc_, Frame("\x08\x01"), {"grpc-status: 000"})).detail, "SERVING");
  EXPECT_EQ(Verdict(Feed(grpc_, Frame("\x08\x01"), {"grpc-status: 007"})).detail,
            "grpc-status 7 PERMISSION_DENIED");
  // The last grpc-status counts (a trailer after a header).
  const CheckResult r =
      Verdict(Feed({"content-type: application/grpc", "grpc-status: 0"}, "", {"grpc-status: 7"}));
  EXPECT_EQ(r.detail, "grpc-status 7 PERMISSION_DENIED");
}

TEST_F(GrpcVerdictTest, OkWithABadBody) {
  EXPECT_EQ(Verdict(Feed(grpc_, "")).detail, "no response message");
  EXPECT_EQ(Verdict(Feed(grpc_, Frame("\x0f\xff"))).detail,
            "invalid HealthCheckResponse: status is not a varint");
  EXPECT_EQ(Verdict(Feed(grpc_, Frame("\x08\x01") + "x")).detail, "more than one response message");
  EXPECT_EQ(Verdict(Feed(grpc_, "")).reason, FailureReason::kProtocolError);
}

TEST_F(GrpcVerdictTest, OversizedMessageStopsReadingAndIsNamed) {
  GrpcResponse r;
  r.OnHeaderLine("HTTP/2 200\r\n");
  r.OnHeaderLine("content-type: application/grpc\r\n");
  const std::string big = Frame(std::string(1 << 20, 'x'));
  EXPECT_TRUE(r.OnBodyData(big.substr(0, 1000)));
  EXPECT_FALSE(r.OnBodyData(big.substr(1000)));
  EXPECT_TRUE(r.body_too_large);
  EXPECT_EQ(r.body.size(), wire::kFrameHeaderBytes + wire::kMaxMessageBytes);
  EXPECT_EQ(Verdict(r).detail, "response message of 1048576 bytes exceeds 16KiB");

  // Many small messages add up past the limit.
  GrpcResponse many;
  many.OnHeaderLine("HTTP/2 200\r\n");
  std::string frames;
  while (frames.size() <= wire::kFrameHeaderBytes + wire::kMaxMessageBytes) {
    frames += Frame("\x08\x01");
  }
  EXPECT_FALSE(many.OnBodyData(frames));
  EXPECT_EQ(Verdict(many).detail, "response exceeds one message of 16KiB");
}

TEST_F(GrpcVerdictTest, HeaderValuesAreBounded) {
  GrpcResponse r;
  r.OnHeaderLine("HTTP/2 200\r\n");
  r.OnHeaderLine("content-type: " + std::string(100000, 'c') + "\r\n");
  r.OnHeaderLine("grpc-message: " + std::string(100000, 'm') + "\r\n");
  EXPECT_LE(r.content_type.size(), 1024u);
  EXPECT_LE(r.grpc_message.size(), 1024u);
}

TEST_F(GrpcVerdictTest, NewStatusLineStartsOver) {
  GrpcResponse r;
  r.OnHeaderLine("HTTP/1.1 100 Continue\r\n");
  r.OnHeaderLine("grpc-status: 3\r\n");
  r.OnHeaderLine("HTTP/2 200\r\n");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.http_major, 2);
  EXPECT_FALSE(r.grpc_status.has_value());
}

}  // namespace
}  // namespace hx
