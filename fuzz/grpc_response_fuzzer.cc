// Fuzzes the grpc check's reading of a response (checks/grpc/grpc_check.h):
// the status line, headers and trailers as curl hands them to the header
// callback, the DATA bytes in pieces to the write callback, then the verdict.
// Input: header lines up to the first blank line ("\r\n\r\n"), the body, and
// after the last blank line the trailers; the first byte picks the size of
// the body's pieces. Checked: fields stay bounded; a detail is one non-empty
// line of printable ASCII within a fixed size that never shows the check's
// metadata value; healthy only for grpc-status 0 and SERVING; the frame and
// protobuf readers agree with the frame's own header.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "checks/grpc/grpc_check.h"
#include "fuzz_check.h"
#include "util/ascii.h"

namespace {

constexpr std::string_view kSecret = "fuzz-secret-token";

void FeedLines(hx::GrpcResponse& response, std::string_view block) {
  while (!block.empty()) {
    const size_t nl = block.find('\n');
    const std::string_view line =
        block.substr(0, nl == std::string_view::npos ? block.size() : nl + 1);
    response.OnHeaderLine(line);
    block.remove_prefix(line.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = static_cast<size_t>(data[0]) * 64 + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  static const hx::GrpcCheckSpec* spec = [] {
    auto* s = new hx::GrpcCheckSpec();
    s->host = "127.0.0.1";
    s->port = 50051;
    s->service = "orders.v1.Orders";
    s->metadata = {{"authorization", std::string(kSecret)}};
    return s;
  }();

  constexpr std::string_view kBlank = "\r\n\r\n";
  std::string_view headers = input;
  std::string_view body;
  std::string_view trailers;
  if (const size_t end = input.find(kBlank); end != std::string_view::npos) {
    headers = input.substr(0, end + kBlank.size());
    std::string_view rest = input.substr(end + kBlank.size());
    if (const size_t last = rest.rfind(kBlank); last != std::string_view::npos) {
      body = rest.substr(0, last);
      trailers = rest.substr(last + kBlank.size());
    } else {
      body = rest;
    }
  }

  hx::GrpcResponse response;
  FeedLines(response, headers);
  for (size_t at = 0; at < body.size() && !response.body_too_large; at += piece) {
    const bool more = response.OnBodyData(body.substr(at, piece));
    HX_FUZZ_CHECK(more == !response.body_too_large);
  }
  FeedLines(response, trailers);

  constexpr size_t kBodyLimit = hx::grpc_wire::kFrameHeaderBytes + hx::grpc_wire::kMaxMessageBytes;
  HX_FUZZ_CHECK(response.body.size() <= kBodyLimit);
  HX_FUZZ_CHECK(response.content_type.size() <= 1024);
  HX_FUZZ_CHECK(response.grpc_message.size() <= 1024);
  HX_FUZZ_CHECK(!response.grpc_status || response.grpc_status->size() <= 1024);

  const hx::CheckResult result = hx::EvaluateGrpcResponse(response, *spec);
  HX_FUZZ_CHECK(!result.detail.empty());
  HX_FUZZ_CHECK(result.detail.size() <= 700);
  for (char c : result.detail) {
    const auto byte = static_cast<unsigned char>(c);
    HX_FUZZ_CHECK(byte >= 0x20 && byte < 0x7f);
  }
  HX_FUZZ_CHECK(result.detail.find(kSecret) == std::string::npos);
  if (result.health == hx::Health::kHealthy) {
    HX_FUZZ_CHECK(result.detail == "SERVING");
    HX_FUZZ_CHECK(response.http_major == 2 && response.http_status == 200);
    // grpc-status is 1*DIGIT: "0", or "000" with leading zeros.
    HX_FUZZ_CHECK(response.grpc_status && hx::IsAsciiDigits(*response.grpc_status) &&
                  response.grpc_status->find_first_not_of('0') == std::string::npos);
  } else {
    HX_FUZZ_CHECK(result.health == hx::Health::kUnhealthy);
  }

  // The frame reader against the frame's own header.
  std::string error;
  if (auto message = hx::grpc_wire::ParseUnaryResponse(response.body, &error)) {
    HX_FUZZ_CHECK(response.body.size() >= hx::grpc_wire::kFrameHeaderBytes);
    HX_FUZZ_CHECK(message->size() == response.body.size() - hx::grpc_wire::kFrameHeaderBytes);
    HX_FUZZ_CHECK(message->size() <= hx::grpc_wire::kMaxMessageBytes);
    HX_FUZZ_CHECK(response.body[0] == '\0');
  } else {
    HX_FUZZ_CHECK(!error.empty());
  }
  // The protobuf reader on raw bytes; and the request encoder round trip.
  error.clear();
  if (!hx::grpc_wire::DecodeServingStatus(input, &error)) HX_FUZZ_CHECK(!error.empty());
  HX_FUZZ_CHECK(hx::grpc_wire::PercentDecode(input).size() <= input.size());
  const std::string_view service = input.substr(0, hx::grpc_wire::kMaxMessageBytes / 2);
  const std::string request = hx::grpc_wire::EncodeHealthCheckRequest(service);
  error.clear();
  auto framed = hx::grpc_wire::ParseUnaryResponse(request, &error);
  HX_FUZZ_CHECK(framed.has_value());
  HX_FUZZ_CHECK(framed->ends_with(service));
  return 0;
}
