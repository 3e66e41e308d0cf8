#pragma once
// A strict, incremental HTTP/1.x request parser with no I/O: the front door
// (front_door.h) feeds it the bytes a client sent, in whatever pieces they
// arrive, and it says whether it needs more, has one complete request, or
// has found an error and which status answers it.
//
// Strict where leniency lets two parsers disagree about where a request ends
// (request smuggling behind a proxy; RFC 9112 sections 6 and 7):
//   - CR LF line ends only; a bare LF, a bare CR, NUL or another control
//     character, or a folded header line is 400;
//   - two Content-Length values that differ, or one that is not a plain
//     decimal number, is 400 (the same value repeated is accepted);
//   - Transfer-Encoding together with Content-Length is 400, as is any
//     Transfer-Encoding on HTTP/1.0; a coding other than a single "chunked"
//     is 501;
//   - a chunk size that is not hexadecimal, too large, or a chunk not ended by
//     CR LF is 400;
//   - a head over `max_head_bytes` or more than `max_headers` header lines is
//     431; a body (declared or de-chunked) over `max_body_bytes` is 413;
//   - HTTP versions other than 1.0 and 1.1 are 505.
// A request whose body never arrives in full is simply never complete.
//
// Chunked bodies are de-chunked: Forwardable() gives the request with a
// Content-Length in place of the Transfer-Encoding header (trailers are
// dropped), which is all CivetWeb then has to understand.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hx {

struct RequestLimits {
  /// Request line, header lines and (for chunked bodies) chunk-size lines
  /// and trailers together, in bytes.
  size_t max_head_bytes = 16384;
  /// Header lines at most; one more is 431.
  int max_headers = 63;
  /// Body bytes at most (after de-chunking); more is 413.
  size_t max_body_bytes = 64 * 1024;
};

/// One parsed request. Header names keep the client's spelling.
struct ParsedRequest {
  std::string method;
  std::string target;   ///< as sent, e.g. "/readyz?verbose=1"
  int minor_version{};  ///< 0 for HTTP/1.0, 1 for HTTP/1.1
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  ///< de-chunked
  bool chunked = false;
  bool keep_alive = false;       ///< the client may send another request after this one
  bool expect_continue = false;  ///< "Expect: 100-continue" with a body to come

  /// The target without its query string.
  std::string_view path() const;
  /// The first header named `name` (case-insensitive), or null.
  const std::string* Header(std::string_view name) const;
};

/// Parses one request at a time from a byte stream.
///
/// Thread-safety: none; one connection's thread uses it.
class RequestParser {
 public:
  enum class State { kNeedMore, kComplete, kError };

  explicit RequestParser(const RequestLimits& limits = {}) : limits_(limits) {}

  /// Consumes bytes of `data` up to the end of one request (or an error) and
  /// returns how many; the rest belongs to the next request. Call Reset()
  /// before feeding the next request after kComplete.
  size_t Feed(std::string_view data);

  State state() const { return state_; }
  /// True once the head (request line and headers) has been read.
  bool head_complete() const { return phase_ > Phase::kHead; }
  /// With kError: 400, 413, 431, 501 or 505, and a short reason for the body.
  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }
  /// With kComplete (the head fields from head_complete() on).
  const ParsedRequest& request() const { return request_; }

  /// The request as CivetWeb receives it: the request line and headers as
  /// sent, except that a chunked body's Transfer-Encoding becomes a
  /// Content-Length, repeated Content-Length headers become one, and Expect
  /// is dropped (the front door answers it); then the de-chunked body.
  std::string Forwardable() const;

  /// Forgets the request, keeping the limits.
  void Reset();

 private:
  enum class Phase { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kDone };

  bool Fail(int status, std::string reason);
  bool ParseHead();  // on head_ holding the request line and headers
  bool ParseHeaderLine(std::string_view line);
  bool ParseChunkSize(std::string_view line);
  // Takes one CR LF-terminated line from `data` into line_; true when whole.
  bool TakeLine(std::string_view data, size_t* used, size_t limit);

  RequestLimits limits_;
  State state_ = State::kNeedMore;
  Phase phase_ = Phase::kHead;
  int error_status_ = 0;
  std::string error_reason_;
  ParsedRequest request_;
  std::string head_;       // raw head bytes while reading it
  std::string line_;       // a chunk-size or trailer line while reading it
  size_t head_bytes_ = 0;  // head, chunk-size lines and trailers so far
  size_t skipped_ = 0;     // empty lines before the request line
  size_t body_left_ = 0;   // Content-Length or current chunk bytes still to read
  std::optional<size_t> content_length_;
};

}  // namespace hx
