// Fuzzes the front door's strict request parser (http/request_parser.h). The
// first input byte picks limits and how the rest is cut into pieces; the
// rest is the byte stream a client sent.
//
// Properties: the outcome (state, status, bytes consumed, request) does not
// depend on how the stream is cut; errors are only 400/413/431/501/505; a
// complete request respects the limits, and its forwarded form (what CivetWeb
// reads) parses back, complete, to the same request with no more headers, no
// Transfer-Encoding and the same forwarded bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/request_parser.h"

namespace {

struct Outcome {
  hx::RequestParser::State state;
  int status;
  size_t used;
  std::string forwarded;
};

Outcome Parse(std::string_view data, hx::RequestLimits limits, size_t piece) {
  hx::RequestParser parser(limits);
  size_t used = 0;
  while (used < data.size() && parser.state() == hx::RequestParser::State::kNeedMore) {
    const size_t n = parser.Feed(data.substr(used, piece));
    HX_FUZZ_CHECK(n <= piece);
    used += n;
    // A parser that needs more has taken everything it was given.
    if (parser.state() == hx::RequestParser::State::kNeedMore) {
      HX_FUZZ_CHECK(n == std::min(piece, data.size() - (used - n)));
    }
  }
  Outcome outcome{parser.state(), parser.error_status(), used, ""};
  if (parser.state() == hx::RequestParser::State::kComplete) {
    const hx::ParsedRequest& request = parser.request();
    HX_FUZZ_CHECK(request.body.size() <= limits.max_body_bytes);
    HX_FUZZ_CHECK(static_cast<int>(request.headers.size()) <= limits.max_headers);
    outcome.forwarded = parser.Forwardable();
  }
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  hx::RequestLimits limits;
  limits.max_head_bytes = (data[0] & 1) != 0 ? 256 : 16384;
  limits.max_headers = (data[0] & 2) != 0 ? 4 : 63;
  limits.max_body_bytes = (data[0] & 4) != 0 ? 16 : 64 * 1024;
  const size_t piece = 1 + (data[0] >> 3);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  const Outcome whole = Parse(stream, limits, stream.size() + 1);
  const Outcome pieces = Parse(stream, limits, piece);
  HX_FUZZ_CHECK(whole.state == pieces.state);
  HX_FUZZ_CHECK(whole.status == pieces.status);
  HX_FUZZ_CHECK(whole.forwarded == pieces.forwarded);
  if (whole.state != hx::RequestParser::State::kError) HX_FUZZ_CHECK(whole.used == pieces.used);
  if (whole.state == hx::RequestParser::State::kError) {
    HX_FUZZ_CHECK(whole.status == 400 || whole.status == 413 || whole.status == 431 ||
                  whole.status == 501 || whole.status == 505);
  }
  if (whole.state == hx::RequestParser::State::kComplete) {
    hx::RequestParser original(limits);
    original.Feed(stream);
    // The forwarded head may be longer ("Name:v" becomes "Name: v").
    hx::RequestLimits relaxed = limits;
    relaxed.max_head_bytes = 2 * limits.max_head_bytes + 1024;
    hx::RequestParser again(relaxed);
    HX_FUZZ_CHECK(again.Feed(whole.forwarded) == whole.forwarded.size());
    HX_FUZZ_CHECK(again.state() == hx::RequestParser::State::kComplete);
    HX_FUZZ_CHECK(again.request().method == original.request().method);
    HX_FUZZ_CHECK(again.request().target == original.request().target);
    HX_FUZZ_CHECK(again.request().body == original.request().body);
    HX_FUZZ_CHECK(!again.request().chunked);
    HX_FUZZ_CHECK(again.request().headers.size() <= original.request().headers.size());
    HX_FUZZ_CHECK(again.Forwardable() == whole.forwarded);
  }
  return 0;
}
