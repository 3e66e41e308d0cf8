#include "http/request_parser.h"

#include <algorithm>
#include <cctype>

#include "util/ascii.h"

namespace hx {
namespace {

// Longest chunk-size line (size plus extensions) accepted.
constexpr size_t kMaxChunkLine = 1024;

bool IsTchar(unsigned char c) {
  return std::isalnum(c) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return IsTchar(static_cast<unsigned char>(c));
  });
}

// Field values: visible ASCII, obs-text, space and tab (RFC 9110 5.5).
bool IsFieldValue(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
  });
}

// Calls `each` with every trimmed element of a comma-separated list.
template <typename Each>
void ForEachListElement(std::string_view list, Each each) {
  while (true) {
    const size_t comma = list.find(',');
    each(TrimOws(list.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

std::string_view ParsedRequest::path() const {
  const std::string_view t(target);
  return t.substr(0, t.find('?'));
}

const std::string* ParsedRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreAsciiCase(key, name)) return &value;
  }
  return nullptr;
}

void RequestParser::Reset() { *this = RequestParser(limits_); }

bool RequestParser::Fail(int status, std::string reason) {
  state_ = State::kError;
  error_status_ = status;
  error_reason_ = std::move(reason);
  return false;
}

size_t RequestParser::Feed(std::string_view data) {
  size_t used = 0;
  while (state_ == State::kNeedMore && used < data.size()) {
    switch (phase_) {
      case Phase::kHead: {
        const size_t limit = limits_.max_head_bytes - std::min(limits_.max_head_bytes, skipped_);
        const size_t old_size = head_.size();
        const size_t take = std::min(data.size() - used, limit + 1 - std::min(limit, old_size));
        head_.append(data.substr(used, take));
        // Empty lines before the request line are ignored (RFC 9112 2.2);
        // they still count against the limit.
        size_t skipped = 0;
        while (head_.size() - skipped >= 2 && head_.compare(skipped, 2, "\r\n") == 0) skipped += 2;
        if (skipped > 0) {
          head_.erase(0, skipped);
          skipped_ += skipped;
        }
        const size_t search_from = old_size >= skipped + 3 ? old_size - skipped - 3 : 0;
        const size_t end = head_.find("\r\n\r\n", search_from);
        // A bare LF is refused as soon as it arrives, however the bytes
        // were cut (before any size limit is looked at).
        const size_t scan_end = end == std::string::npos ? head_.size() : end;
        for (size_t i = search_from; i < scan_end; ++i) {
          if (head_[i] == '\n' && (i == 0 || head_[i - 1] != '\r')) {
            used += end == std::string::npos ? take : take - (head_.size() - end - 4);
            return Fail(400, "bare LF"), used;
          }
        }
        if (end == std::string::npos) {
          used += take;
          if (head_.size() + skipped > limit) return Fail(431, "request head too large"), used;
          break;
        }
        // Give back what belongs after the head.
        const size_t head_size = end + 4;
        used += take - (head_.size() - head_size);
        head_.resize(head_size);
        if (head_size + skipped > limit) return Fail(431, "request head too large"), used;
        head_bytes_ = head_size;
        ParseHead();
        break;
      }
      case Phase::kBody:
      case Phase::kChunkData: {
        const size_t take = std::min(data.size() - used, body_left_);
        request_.body.append(data.substr(used, take));
        used += take;
        body_left_ -= take;
        if (body_left_ == 0) {
          if (phase_ == Phase::kBody) {
            phase_ = Phase::kDone;
            state_ = State::kComplete;
          } else {
            phase_ = Phase::kChunkDataEnd;
          }
        }
        break;
      }
      case Phase::kChunkSize:
        if (TakeLine(data, &used, kMaxChunkLine)) ParseChunkSize(line_);
        break;
      case Phase::kChunkDataEnd:
        if (TakeLine(data, &used, 0)) {
          if (!line_.empty()) return Fail(400, "chunk not followed by CR LF"), used;
          line_.clear();
          phase_ = Phase::kChunkSize;
        }
        break;
      case Phase::kTrailers: {
        const size_t left =
            limits_.max_head_bytes > head_bytes_ ? limits_.max_head_bytes - head_bytes_ : 0;
        if (!TakeLine(data, &used, left)) break;
        head_bytes_ += line_.size() + 2;
        const std::string line = std::move(line_);
        line_.clear();
        if (line.empty()) {
          phase_ = Phase::kDone;
          state_ = State::kComplete;
          break;
        }
        // Trailers are checked like headers and then dropped.
        const size_t colon = line.find(':');
        if (colon == std::string::npos || !IsToken(std::string_view(line).substr(0, colon)) ||
            !IsFieldValue(std::string_view(line).substr(colon + 1))) {
          return Fail(400, "malformed trailer line"), used;
        }
        break;
      }
      case Phase::kDone:
        return used;
    }
  }
  return used;
}

bool RequestParser::TakeLine(std::string_view data, size_t* used, size_t limit) {
  const std::string_view rest = data.substr(*used);
  const size_t newline = rest.find('\n');
  const size_t take = newline == std::string_view::npos ? rest.size() : newline + 1;
  line_.append(rest.substr(0, take));
  *used += take;
  if (newline == std::string_view::npos) {
    // Longer than limit + CR LF can no longer become a valid line.
    if (line_.size() > limit + 1) {
      if (phase_ == Phase::kTrailers) return Fail(431, "request head too large");
      return Fail(400, "line too long in chunked body");
    }
    return false;
  }
  // Too long before a bare LF: the same answer however the bytes were cut.
  if (line_.size() - 1 > limit + 1) {
    if (phase_ == Phase::kTrailers) return Fail(431, "request head too large");
    return Fail(400, "line too long in chunked body");
  }
  if (line_.size() < 2 || line_[line_.size() - 2] != '\r') return Fail(400, "bare LF");
  line_.resize(line_.size() - 2);
  if (line_.size() > limit) {
    if (phase_ == Phase::kTrailers) return Fail(431, "request head too large");
    return Fail(400, "line too long in chunked body");
  }
  if (line_.find('\r') != std::string::npos) return Fail(400, "bare CR");
  return true;  // the caller reads line_ and clears it
}

bool RequestParser::ParseChunkSize(std::string_view line) {
  // chunk-size [ chunk-ext ]: hex digits, then optionally ';' extensions,
  // which are ignored (whitespace before ';' is tolerated, RFC 9112 7.1.1).
  size_t digits = 0;
  size_t size = 0;
  while (digits < line.size() && std::isxdigit(static_cast<unsigned char>(line[digits])) != 0) {
    if (digits == 15) return Fail(400, "chunk size too large");
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(line[digits])));
    size = size * 16 + static_cast<size_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    ++digits;
  }
  if (digits == 0) return Fail(400, "invalid chunk size");
  head_bytes_ += line.size() + 2;
  std::string_view rest = line.substr(digits);
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  if (!rest.empty() && (rest.front() != ';' || !IsFieldValue(rest))) {
    return Fail(400, "invalid chunk size");
  }
  line_.clear();
  if (size == 0) {
    phase_ = Phase::kTrailers;
    return true;
  }
  if (size > limits_.max_body_bytes - request_.body.size()) {
    return Fail(413, "request body too large");
  }
  body_left_ = size;
  phase_ = Phase::kChunkData;
  return true;
}

bool RequestParser::ParseHeaderLine(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') return Fail(400, "folded header line");
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Fail(400, "header line without a colon");
  const std::string_view name = line.substr(0, colon);
  if (!IsToken(name)) return Fail(400, "invalid header name");
  const std::string_view value = TrimOws(line.substr(colon + 1));
  if (!IsFieldValue(value)) return Fail(400, "invalid character in a header value");
  if (static_cast<int>(request_.headers.size()) >= limits_.max_headers) {
    return Fail(431, "too many request headers");
  }
  request_.headers.emplace_back(name, value);
  return true;
}

bool RequestParser::ParseHead() {
  const std::string_view head(head_);
  // Every line ends in CR LF: a bare CR or LF is where parsers disagree.
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) return Fail(400, "bare LF");
    if (head[i] == '\r' && (i + 1 == head.size() || head[i + 1] != '\n')) {
      return Fail(400, "bare CR");
    }
  }
  size_t start = 0;
  size_t end = head.find("\r\n");
  const std::string_view request_line = head.substr(0, end);
  {
    const size_t first = request_line.find(' ');
    const size_t second =
        first == std::string_view::npos ? first : request_line.find(' ', first + 1);
    if (second == std::string_view::npos ||
        request_line.find(' ', second + 1) != std::string_view::npos) {
      return Fail(400, "malformed request line");
    }
    const std::string_view method = request_line.substr(0, first);
    const std::string_view target = request_line.substr(first + 1, second - first - 1);
    const std::string_view version = request_line.substr(second + 1);
    if (!IsToken(method)) return Fail(400, "malformed request line");
    if (target.empty() || !std::all_of(target.begin(), target.end(), [](char c) {
          return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
        })) {
      return Fail(400, "malformed request target");
    }
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" ||
        std::isdigit(static_cast<unsigned char>(version[5])) == 0 || version[6] != '.' ||
        std::isdigit(static_cast<unsigned char>(version[7])) == 0) {
      return Fail(400, "malformed HTTP version");
    }
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
      return Fail(505, "HTTP version not supported");
    }
    request_.method = method;
    request_.target = target;
    request_.minor_version = version[7] - '0';
  }
  while (true) {
    start = end + 2;
    end = head.find("\r\n", start);
    if (end == start) break;  // the empty line that ends the head
    if (!ParseHeaderLine(head.substr(start, end - start))) return false;
  }
  head_.clear();
  head_.shrink_to_fit();

  // Framing (RFC 9112 6.3).
  bool has_transfer_encoding = false;
  std::vector<std::string> codings;
  bool connection_close = false;
  bool connection_keep_alive = false;
  for (const auto& [name, value] : request_.headers) {
    if (EqualsIgnoreAsciiCase(name, "Content-Length")) {
      bool valid = true;
      ForEachListElement(value, [&](std::string_view element) {
        if (!valid) return;
        if (element.empty() || element.size() > 18 ||
            !std::all_of(element.begin(), element.end(),
                         [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
          valid = Fail(400, "invalid Content-Length");
          return;
        }
        const size_t length = std::stoull(std::string(element));
        if (content_length_ && *content_length_ != length) {
          valid = Fail(400, "conflicting Content-Length values");
          return;
        }
        content_length_ = length;
      });
      if (!valid) return false;
    } else if (EqualsIgnoreAsciiCase(name, "Transfer-Encoding")) {
      has_transfer_encoding = true;
      ForEachListElement(value, [&](std::string_view element) {
        std::string lower(element);
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        codings.push_back(std::move(lower));
      });
    } else if (EqualsIgnoreAsciiCase(name, "Connection")) {
      ForEachListElement(value, [&](std::string_view element) {
        if (EqualsIgnoreAsciiCase(element, "close")) connection_close = true;
        if (EqualsIgnoreAsciiCase(element, "keep-alive")) connection_keep_alive = true;
      });
    }
  }
  request_.keep_alive = !connection_close && (request_.minor_version == 1 || connection_keep_alive);
  if (has_transfer_encoding) {
    if (content_length_) return Fail(400, "both Content-Length and Transfer-Encoding");
    if (request_.minor_version == 0) return Fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (codings.empty() || codings.back() != "chunked") {
      return Fail(400, "Transfer-Encoding does not end in chunked");
    }
    if (codings.size() != 1) return Fail(501, "transfer coding not supported");
    request_.chunked = true;
  }
  const bool body_follows = request_.chunked || (content_length_ && *content_length_ > 0);
  if (const std::string* expect = request_.Header("Expect")) {
    request_.expect_continue = body_follows && EqualsIgnoreAsciiCase(*expect, "100-continue");
  }
  if (request_.chunked) {
    phase_ = Phase::kChunkSize;
    return true;
  }
  if (content_length_ && *content_length_ > limits_.max_body_bytes) {
    return Fail(413, "request body too large");
  }
  if (body_follows) {
    body_left_ = *content_length_;
    request_.body.reserve(body_left_);
    phase_ = Phase::kBody;
    return true;
  }
  phase_ = Phase::kDone;
  state_ = State::kComplete;
  return true;
}

std::string RequestParser::Forwardable() const {
  std::string out;
  out.reserve(256 + request_.body.size());
  out += request_.method;
  out += ' ';
  out += request_.target;
  out += request_.minor_version == 1 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n";
  for (const auto& [name, value] : request_.headers) {
    if (EqualsIgnoreAsciiCase(name, "Transfer-Encoding") ||
        EqualsIgnoreAsciiCase(name, "Content-Length") || EqualsIgnoreAsciiCase(name, "Expect")) {
      continue;
    }
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  // Never more headers than the client sent: at least one of those
  // dropped above stood where this one goes.
  if (request_.chunked || content_length_) {
    out += "Content-Length: " + std::to_string(request_.body.size()) + "\r\n";
  }
  out += "\r\n";
  out += request_.body;
  return out;
}

}  // namespace hx
