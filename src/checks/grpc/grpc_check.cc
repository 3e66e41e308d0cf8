#include "checks/grpc/grpc_check.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "checks/common/curl_transfer.h"
#include "checks/common/each_address_check.h"
#include "checks/common/host_port.h"
#include "checks/common/ip_protocol.h"
#include "io/curl_multi.h"
#include "io/io_context.h"
#include "util/ascii.h"
#include "util/quote.h"

namespace hx {

namespace {

constexpr std::string_view kPath = "/grpc.health.v1.Health/Check";

// Server text (grpc-message, content-type) shown in a detail is cut here.
constexpr size_t kMaxServerTextChars = 128;

// Header names the check sets itself (or HTTP/2 forbids): not metadata.
constexpr std::array<std::string_view, 10> kReservedHeaders = {
    "content-type", "te",     "user-agent",        "host",       "connection",
    "upgrade",      "expect", "transfer-encoding", "keep-alive", "content-length"};

// gRPC's Custom-Metadata name characters (lower case; upper case is folded).
bool IsMetadataNameChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '_' || c == '-' || c == '.';
}

bool IsPrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

std::string HostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// Whether curl accepts `url` (so a bad host is a config error, not a
// failure at every attempt).
bool IsValidUrl(const std::string& url) {
  CURLU* u = curl_url();
  const bool ok = curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK;
  curl_url_cleanup(u);
  return ok;
}

void AppendVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

// Reads a varint at data[*at]; false if truncated or longer than 64 bits.
bool ReadVarint(std::string_view data, size_t* at, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*at >= data.size()) return false;
    const auto byte = static_cast<unsigned char>(data[(*at)++]);
    if (shift == 63 && byte > 1) return false;  // the 10th byte holds one bit
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

uint32_t ReadBigEndian32(std::string_view data) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(data[i]);
  return v;
}

// "16KiB" for the limits in details.
std::string FormatBytes(uint64_t bytes) {
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes / 1024) + "KiB";
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

// Server-sent text for a detail: any metadata value of the check replaced
// (a server may echo a token back in its error message), bytes outside
// printable ASCII escaped, cut after kMaxServerTextChars, quoted.
std::string ServerText(std::string text, const GrpcCheckSpec& spec) {
  for (const auto& [name, value] : spec.metadata) {
    // Shorter values would redact ordinary words; they are no secrets.
    if (value.size() < 4) continue;
    for (size_t at = text.find(value); at != std::string::npos; at = text.find(value, at)) {
      text.replace(at, value.size(), "<redacted>");
      at += std::string_view("<redacted>").size();
    }
  }
  std::string out = "\"";
  size_t shown = 0;
  bool cut = false;
  for (unsigned char c : text) {
    if (shown++ == kMaxServerTextChars) {
      cut = true;
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    }
  }
  out += cut ? "\"..." : "\"";
  // An escape next to a value can spell it again ("\xff" + "uzz..." holds
  // "fuzz..."; found by grpc_response_fuzzer): then show nothing of it.
  for (const auto& [name, value] : spec.metadata) {
    if (value.size() >= 4 && out.find(value) != std::string::npos) return "\"<redacted>\"";
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Wire format

namespace grpc_wire {

std::string EncodeHealthCheckRequest(std::string_view service) {
  std::string message;
  if (!service.empty()) {  // proto3 leaves a default (empty) string out
    message += '\x0a';     // field 1, wire type 2 (length-delimited)
    AppendVarint(message, service.size());
    message += service;
  }
  std::string frame(kFrameHeaderBytes, '\0');  // flag 0: not compressed
  const auto size = static_cast<uint32_t>(message.size());
  frame[1] = static_cast<char>(size >> 24);
  frame[2] = static_cast<char>(size >> 16);
  frame[3] = static_cast<char>(size >> 8);
  frame[4] = static_cast<char>(size);
  return frame + message;
}

std::optional<std::string_view> ParseUnaryResponse(std::string_view body, std::string* error) {
  if (body.empty()) {
    *error = "no response message";
    return std::nullopt;
  }
  if (body.size() < kFrameHeaderBytes) {
    *error = "response frame truncated (" + std::to_string(body.size()) + " of " +
             std::to_string(kFrameHeaderBytes) + " header bytes)";
    return std::nullopt;
  }
  const auto flag = static_cast<unsigned char>(body[0]);
  if (flag == 1) {
    *error = "compressed response message (the check asks for none)";
    return std::nullopt;
  }
  if (flag != 0) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02x", flag);
    *error = std::string("invalid response frame (flag byte ") + hex + ")";
    return std::nullopt;
  }
  const uint32_t size = ReadBigEndian32(body.substr(1, 4));
  if (size > kMaxMessageBytes) {
    *error = "response message of " + std::to_string(size) + " bytes exceeds " +
             FormatBytes(kMaxMessageBytes);
    return std::nullopt;
  }
  const size_t available = body.size() - kFrameHeaderBytes;
  if (available < size) {
    *error = "response message truncated (" + std::to_string(available) + " of " +
             std::to_string(size) + " bytes)";
    return std::nullopt;
  }
  if (available > size) {
    *error = "more than one response message";
    return std::nullopt;
  }
  return body.substr(kFrameHeaderBytes, size);
}

std::optional<int64_t> DecodeServingStatus(std::string_view message, std::string* error) {
  int64_t status = 0;
  size_t at = 0;
  auto fail = [error](std::string what) {
    *error = "invalid HealthCheckResponse: " + std::move(what);
    return std::nullopt;
  };
  while (at < message.size()) {
    uint64_t key = 0;
    if (!ReadVarint(message, &at, &key)) return fail("truncated field");
    const uint64_t field = key >> 3;
    const auto wire_type = static_cast<unsigned>(key & 7);
    if (field == 0) return fail("field number 0");
    if (field == 1 && wire_type != 0) return fail("status is not a varint");
    uint64_t value = 0;
    switch (wire_type) {
      case 0:
        if (!ReadVarint(message, &at, &value)) return fail("truncated or overlong varint");
        // An enum is an int32; negative ones arrive sign-extended to 64 bits.
        if (field == 1) status = static_cast<int32_t>(static_cast<uint32_t>(value));
        break;
      case 1:
      case 5: {
        const size_t width = wire_type == 1 ? 8 : 4;
        if (message.size() - at < width) return fail("truncated field");
        at += width;
        break;
      }
      case 2:
        if (!ReadVarint(message, &at, &value)) return fail("truncated length");
        if (value > message.size() - at) return fail("truncated field");
        at += static_cast<size_t>(value);
        break;
      default:
        return fail("wire type " + std::to_string(wire_type));
    }
  }
  return status;
}

std::string_view StatusCodeName(int64_t code) {
  static constexpr std::array<std::string_view, 17> kNames = {"OK",
                                                              "CANCELLED",
                                                              "UNKNOWN",
                                                              "INVALID_ARGUMENT",
                                                              "DEADLINE_EXCEEDED",
                                                              "NOT_FOUND",
                                                              "ALREADY_EXISTS",
                                                              "PERMISSION_DENIED",
                                                              "RESOURCE_EXHAUSTED",
                                                              "FAILED_PRECONDITION",
                                                              "ABORTED",
                                                              "OUT_OF_RANGE",
                                                              "UNIMPLEMENTED",
                                                              "INTERNAL",
                                                              "UNAVAILABLE",
                                                              "DATA_LOSS",
                                                              "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int64_t>(kNames.size())) return "";
  return kNames[static_cast<size_t>(code)];
}

std::string_view ServingStatusName(int64_t status) {
  static constexpr std::array<std::string_view, 4> kNames = {"UNKNOWN", "SERVING", "NOT_SERVING",
                                                             "SERVICE_UNKNOWN"};
  if (status < 0 || status >= static_cast<int64_t>(kNames.size())) return "";
  return kNames[static_cast<size_t>(status)];
}

std::string PercentDecode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];  // not an escape: kept as sent, as gRPC's decoders do
    }
  }
  return out;
}

}  // namespace grpc_wire

// ---------------------------------------------------------------------------
// The response

void GrpcResponse::OnHeaderLine(std::string_view line) {
  line = TrimSpace(line);
  if (line.empty()) return;  // the end of the headers
  if (line.starts_with("HTTP/")) {
    // A new response (curl also hands over a 1xx interim one): start over.
    *this = GrpcResponse{};
    line.remove_prefix(5);
    http_major = !line.empty() && line[0] >= '0' && line[0] <= '9' ? line[0] - '0' : 0;
    const size_t space = line.find(' ');
    if (space != std::string_view::npos) {
      const std::string_view code = line.substr(space + 1, 3);
      if (code.size() == 3 &&
          std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        http_status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
      }
    }
    return;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  const std::string name = AsciiLower(TrimSpace(line.substr(0, colon)));
  const std::string_view value = TrimSpace(line.substr(colon + 1));
  // Kept bounded: the shown parts are cut shorter still.
  constexpr size_t kMaxValue = 1024;
  if (name == "content-type") {
    content_type = value.substr(0, kMaxValue);
  } else if (name == "grpc-status") {
    grpc_status = std::string(value.substr(0, kMaxValue));
  } else if (name == "grpc-message") {
    grpc_message = value.substr(0, kMaxValue);
  }
}

bool GrpcResponse::OnBodyData(std::string_view data) {
  constexpr size_t kLimit = grpc_wire::kFrameHeaderBytes + grpc_wire::kMaxMessageBytes;
  if (body.size() + data.size() > kLimit) {
    body.append(data.substr(0, kLimit - body.size()));
    body_too_large = true;
    return false;
  }
  body.append(data);
  return true;
}

namespace {

bool IsGrpcContentType(std::string_view type) {
  const std::string lower = AsciiLower(type);
  constexpr std::string_view kGrpc = "application/grpc";
  if (!lower.starts_with(kGrpc)) return false;
  return lower.size() == kGrpc.size() || lower[kGrpc.size()] == '+' || lower[kGrpc.size()] == ';';
}

// Why a health check may get this status, where it is more than its name.
std::string ExplainStatus(int64_t code, const GrpcCheckSpec& spec) {
  switch (code) {
    case 12:
      return "the server has no health service";
    case 5:
      return spec.service.empty() ? "the server reports no overall health"
                                  : "unknown service " + Quote(spec.service);
    default:
      return "";
  }
}

// The reason of a call that ended with grpc-status `code` (not OK).
FailureReason ReasonOfGrpcStatus(int64_t code) {
  switch (code) {
    case 5:  // NOT_FOUND: the health service knows no such service (SERVICE_UNKNOWN)
      return FailureReason::kNotServing;
    case 7:   // PERMISSION_DENIED
    case 16:  // UNAUTHENTICATED
      return FailureReason::kAuthFailed;
    default:
      return FailureReason::kProtocolError;
  }
}

}  // namespace

CheckResult EvaluateGrpcResponse(const GrpcResponse& r, const GrpcCheckSpec& spec) {
  // Whatever stops the answer from being read is a protocol error, unless
  // said otherwise below.
  CheckResult result = CheckResult::Unhealthy(FailureReason::kProtocolError, "");
  std::optional<int64_t> status;
  if (r.grpc_status && r.grpc_status->size() <= 9 && IsAsciiDigits(*r.grpc_status)) {
    status = std::stoll(*r.grpc_status);
    result.observations.emplace_back(ObservationId::kGrpcStatusCode, static_cast<double>(*status));
  }

  if (r.http_major == 0) {
    result.detail = "no HTTP response";
  } else if (r.http_major != 2) {
    result.detail = "the server answered with HTTP/" + std::to_string(r.http_major) +
                    (spec.tls ? " (TLS without ALPN h2)" : "") + ", gRPC needs HTTP/2";
  } else if (r.body_too_large) {
    std::string error;
    if (r.body.size() >= grpc_wire::kFrameHeaderBytes &&
        !grpc_wire::ParseUnaryResponse(r.body, &error) &&
        error.find("exceeds") != std::string::npos) {
      result.detail = error;
    } else {
      result.detail = "response exceeds one message of " + FormatBytes(grpc_wire::kMaxMessageBytes);
    }
  } else if (r.http_status != 200) {
    result.reason = FailureReason::kHttpStatus;
    result.detail = "HTTP " + std::to_string(r.http_status) + ", expected 200 with a gRPC response";
  } else if (r.content_type.empty()) {
    result.detail = "not a gRPC response: no content-type";
  } else if (!IsGrpcContentType(r.content_type)) {
    result.detail = "not a gRPC response: content-type " + ServerText(r.content_type, spec);
  } else if (!r.grpc_status) {
    result.detail = "no grpc-status in the response (trailers missing)";
  } else if (!status) {
    result.detail = "invalid grpc-status " + ServerText(*r.grpc_status, spec);
  } else if (*status != 0) {
    result.reason = ReasonOfGrpcStatus(*status);
    result.detail = "grpc-status " + std::to_string(*status);
    const std::string_view name = grpc_wire::StatusCodeName(*status);
    if (!name.empty()) result.detail += " " + std::string(name);
    const std::string why = ExplainStatus(*status, spec);
    const std::string message = grpc_wire::PercentDecode(r.grpc_message);
    if (!why.empty()) result.detail += ": " + why;
    if (!message.empty()) {
      const std::string shown = ServerText(message, spec);
      result.detail += why.empty() ? ": " + shown : " (" + shown + ")";
    }
  } else {
    std::string error;
    const auto message = grpc_wire::ParseUnaryResponse(r.body, &error);
    const auto serving = message ? grpc_wire::DecodeServingStatus(*message, &error) : std::nullopt;
    if (!serving) {
      result.detail = error;
    } else {
      result.observations.emplace_back(ObservationId::kGrpcServingStatus,
                                       static_cast<double>(*serving));
      const std::string_view name = grpc_wire::ServingStatusName(*serving);
      if (*serving == 1) {
        result.health = Health::kHealthy;
        result.reason = FailureReason::kNone;
        result.detail = std::string(name);
      } else if (!name.empty()) {
        // UNKNOWN, NOT_SERVING, SERVICE_UNKNOWN: the server says so itself.
        result.reason = FailureReason::kNotServing;
        result.detail = std::string(name);
      } else {
        result.detail =
            "serving status " + std::to_string(*serving) + " (not a grpc.health.v1 status)";
      }
    }
  }
  return result;
}

// ---------------------------------------------------------------------------
// Parsing

std::shared_ptr<const GrpcCheckSpec> ParseGrpcCheckSpec(config::MapReader& r) {
  auto spec = std::make_shared<GrpcCheckSpec>();

  ReadAddressKey(r, &spec->host, &spec->port);

  if (auto service = r.String("service")) {
    if (std::any_of(service->begin(), service->end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      r.Error("service", "must not contain control characters or line breaks");
    } else {
      spec->service = std::move(*service);
    }
  }

  if (auto metadata = r.StringMap("metadata")) {
    for (const auto& [written_name, value] : *metadata) {
      const std::string name = AsciiLower(written_name);
      // Never quote a value: metadata values are secrets.
      if (name.empty() || !std::all_of(name.begin(), name.end(), IsMetadataNameChar)) {
        r.Error("metadata", "invalid metadata name " + Quote(written_name) +
                                " (letters, digits, '-', '_' and '.' only)");
      } else if (name.starts_with("grpc-")) {
        r.Error("metadata", "metadata name " + Quote(written_name) +
                                " is reserved: names starting with grpc- belong to gRPC itself");
      } else if (std::find(kReservedHeaders.begin(), kReservedHeaders.end(), name) !=
                 kReservedHeaders.end()) {
        r.Error("metadata", "metadata name " + Quote(written_name) + " is set by the check itself");
      } else if (!IsPrintableAscii(value)) {
        r.Error("metadata", "value of " + Quote(written_name) +
                                " must be printable ASCII (no line breaks or control characters)");
      } else if (!spec->metadata.emplace(name, value).second) {
        r.Error("metadata", "metadata name " + Quote(written_name) +
                                " is given twice (names are case-insensitive)");
      }
    }
  }

  if (r.Has("tls")) {
    auto node = r.Node("tls");
    if (node && node->IsMap()) {
      if (auto tls = r.Map("tls")) spec->tls = ParseTlsOptions(*tls);
    } else if (node && node->IsScalar()) {
      if (auto enabled = r.Bool("tls"); enabled && *enabled) spec->tls = TlsOptions{};
    } else {
      r.Error("tls", "must be true, false or a mapping");
    }
  }

  spec->ip_protocol = ReadIpProtocol(r);
  spec->ip_policy = ReadIpPolicy(r);

  if (!spec->host.empty()) {
    const std::string port = std::to_string(spec->port);
    sockaddr_storage literal{};
    spec->host_is_ip = ParseIpLiteral(spec->host, &literal);
    spec->request_host = HostForUrl(spec->host);
    const std::string scheme = spec->tls ? "https://" : "http://";
    spec->request_url = scheme + HostForUrl(spec->host) + ":" + port + std::string(kPath);
    if (!IsValidUrl(spec->request_url)) {
      r.Error("address", "is not a valid host name or IP address");
    } else if (spec->tls && !spec->tls->server_name.empty()) {
      const std::string name = HostForUrl(spec->tls->server_name);
      spec->request_url = scheme + name + ":" + port + std::string(kPath);
      if (!IsValidUrl(spec->request_url)) {
        r.context().Error(r.node()["tls"]["server_name"], r.PathOf("tls") + ".server_name",
                          "is not a valid host name");
      }
      spec->request_host = name;
      if (spec->host_is_ip) spec->fixed_resolve = CurlResolveEntry(name, port, {spec->host});
    }
  }
  spec->request_body = grpc_wire::EncodeHealthCheckRequest(spec->service);

  if (!r.Finish()) return nullptr;
  return spec;
}

CheckType GrpcCheckType() { return {"grpc", &ParseGrpcCheckSpec}; }

std::string GrpcCheckSpec::Target() const {
  return (tls ? "grpcs://" : "grpc://") + HostForUrl(host) + ":" + std::to_string(port) + "/" +
         service;
}

// ---------------------------------------------------------------------------
// Running

struct GrpcCheck::Attempt final : CurlCheck::Attempt {
  GrpcResponse response;
};

namespace {

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* attempt = static_cast<GrpcCheck::Attempt*>(user);
  attempt->response.OnHeaderLine(std::string_view(data, size * count));
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* attempt = static_cast<GrpcCheck::Attempt*>(user);
  // Anything but size * count aborts the transfer with CURLE_WRITE_ERROR.
  return attempt->response.OnBodyData(std::string_view(data, size * count)) ? size * count : 0;
}

// grpc's own wording for the curl codes it alone meets, or words otherwise
// ("" for the common ones). Never quotes the request (metadata).
CurlFailure DescribeGrpcFailure(CURLcode code, CURL* /*easy*/, const char* /*error_buffer*/) {
  switch (code) {
    case CURLE_HTTP2:
      return {FailureReason::kProtocolError, "HTTP/2 protocol error"};
    case CURLE_HTTP2_STREAM:
      return {FailureReason::kConnectionClosed, "HTTP/2 stream error (the server reset the call)"};
    case CURLE_PARTIAL_FILE:
      // With HTTP/2, also what curl says when the bytes read are not HTTP/2.
      return {FailureReason::kConnectionClosed,
              "the connection ended in the middle of the response"};
    case CURLE_UNSUPPORTED_PROTOCOL:
      return {FailureReason::kProtocolError, "invalid HTTP response (no status line)"};
    case CURLE_OUT_OF_MEMORY:
      return {FailureReason::kProtocolError, "response headers too large or out of memory"};
    default:
      return {};
  }
}

CurlFailure DescribeFailure(CURLcode code, CURL* easy, const char* error_buffer, bool tls) {
  CurlFailure failure = DescribeCurlFailure(code, easy, error_buffer, &DescribeGrpcFailure);
  // h2c to a server that does not speak HTTP/2 in clear text (an HTTP/1
  // server, or a TLS port without `tls`): it closes the connection on the
  // HTTP/2 preface, which curl reports as whatever the socket said.
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  const bool connected = CurlMicroseconds(easy, CURLINFO_CONNECT_TIME_T) > 0;
  if (!tls && connected && status == 0 &&
      (code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING ||
       code == CURLE_HTTP2 || code == CURLE_HTTP2_STREAM || code == CURLE_PARTIAL_FILE ||
       code == CURLE_WEIRD_SERVER_REPLY)) {
    // Most likely the wrong protocol on that port, not a closed connection.
    if (failure.reason != FailureReason::kInternal) failure.reason = FailureReason::kProtocolError;
    failure.detail += " before any HTTP/2 answer (not an h2c server? a TLS port needs tls)";
  }
  return failure;
}

// Sets the request options of one attempt; false if curl refused one.
bool ConfigureEasy(const GrpcCheckSpec& spec, GrpcCheck::Attempt& a) {
  CURL* e = a.easy;
  bool ok = true;
  auto set = [&ok](CURLcode rc) { ok = ok && rc == CURLE_OK; };

  set(curl_easy_setopt(e, CURLOPT_URL, spec.request_url.c_str()));
  // h2c: HTTP/2 from the first byte, no Upgrade. TLS: h2 offered by ALPN;
  // a server that does not choose it gets HTTP/1.1, which the verdict names
  // (prior knowledge over TLS would send the HTTP/2 preface regardless).
  set(curl_easy_setopt(
      e, CURLOPT_HTTP_VERSION,
      static_cast<long>(spec.tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)));
  set(curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L));
  set(curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader));
  set(curl_easy_setopt(e, CURLOPT_HEADERDATA, &a));
  set(curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody));
  set(curl_easy_setopt(e, CURLOPT_WRITEDATA, &a));
  // The spec outlives the attempt, so curl may point into its body.
  set(curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(spec.request_body.size())));
  set(curl_easy_setopt(e, CURLOPT_POSTFIELDS, spec.request_body.data()));

  if (spec.tls && !ApplyTlsOptions(e, *spec.tls)) ok = false;

  for (const char* line : {"content-type: application/grpc", "te: trailers",
                           "Accept:",  // curl's default "Accept: */*" means nothing here
                           "Expect:"}) {
    a.headers = curl_slist_append(a.headers, line);
  }
  for (const auto& [name, value] : spec.metadata) {
    // "name;" is curl's way to send a header with an empty value.
    std::string line = name;
    if (value.empty()) {
      line += ';';
    } else {
      line.append(": ").append(value);
    }
    a.headers = curl_slist_append(a.headers, line.c_str());
  }
  set(curl_easy_setopt(e, CURLOPT_HTTPHEADER, a.headers));
  return ok && a.headers != nullptr;
}

}  // namespace

namespace {

CurlCheck::Target TargetOf(const GrpcCheckSpec& spec) {
  return {.connect_host = spec.host,
          .ip_protocol = spec.ip_protocol,
          .request_host = spec.request_host,
          .port = std::to_string(spec.port),
          .connect_host_is_ip = spec.host_is_ip,
          .fixed_resolve = spec.fixed_resolve};
}

// The result of an attempt whose host did not resolve.
CheckResult GrpcLookupFailedResult(FailureReason reason, std::string error, uint64_t dns_ns) {
  CheckResult result = CheckResult::Unhealthy(reason, std::move(error));
  result.observations.emplace_back(ObservationId::kGrpcPhaseSeconds,
                                   static_cast<double>(dns_ns) / 1e9, "dns");
  return result;
}

}  // namespace

GrpcCheck::GrpcCheck(std::shared_ptr<const GrpcCheckSpec> spec, CurlMulti& curl, Resolver& resolver)
    : CurlCheck(curl, resolver, TargetOf(*spec), "gRPC"), spec_(std::move(spec)) {}

GrpcCheck::GrpcCheck(std::shared_ptr<const GrpcCheckSpec> spec, CurlMulti& curl, Resolver& resolver,
                     const std::string& address)
    : CurlCheck(curl, resolver, TargetOf(*spec).PinnedTo(address), "gRPC"),
      spec_(std::move(spec)) {}

std::unique_ptr<CurlCheck::Attempt> GrpcCheck::NewAttempt() { return std::make_unique<Attempt>(); }

bool GrpcCheck::Configure(CurlCheck::Attempt& a) {
  return ConfigureEasy(*spec_, static_cast<Attempt&>(a));
}

CheckResult GrpcCheck::LookupFailed(FailureReason reason, std::string error, uint64_t dns_ns) {
  return GrpcLookupFailedResult(reason, std::move(error), dns_ns);
}

CheckResult GrpcCheck::Evaluate(CURLcode code, CurlCheck::Attempt& attempt) {
  auto* a = static_cast<Attempt*>(&attempt);
  CURL* easy = a->easy;
  CheckResult result;
  if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && a->response.body_too_large)) {
    result = EvaluateGrpcResponse(a->response, *spec_);
  } else {
    CurlFailure failure = DescribeFailure(code, easy, a->error, spec_->tls.has_value());
    result = CheckResult::Unhealthy(failure.reason, std::move(failure.detail));
  }
  long http_status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http_status);
  if (http_status > 0) {
    AddPhaseObservations(easy, a->names.dns_ns(), ObservationId::kGrpcPhaseSeconds,
                         result.observations);
  }
  a->expiry.AddObservation(result.observations);
  return result;
}

// ---------------------------------------------------------------------------
// Creating: ip_policy all makes an EachAddressCheck of pinned GrpcChecks

std::unique_ptr<Check> GrpcCheckSpec::CreateCheck(const CheckContext& context) const {
  if (ip_policy == IpPolicy::kAll && !host_is_ip) {
    // One call per address, each pinned to it (see the header).
    std::shared_ptr<const GrpcCheckSpec> spec = shared_from_this();
    CurlMulti& curl = context.io.curl();
    Resolver& resolver = context.io.resolver();
    return std::make_unique<EachAddressCheck>(
        EachAddressCheck::Target{
            .host = host,
            .ip_protocol = ip_protocol,
            .port = port,
            .make_check = [spec, &curl,
                           &resolver](const std::string& address) -> std::unique_ptr<Check> {
              return std::make_unique<GrpcCheck>(spec, curl, resolver, address);
            },
            .lookup_failed = &GrpcLookupFailedResult,
            .phase_id = ObservationId::kGrpcPhaseSeconds},
        resolver);
  }
  return std::make_unique<GrpcCheck>(shared_from_this(), context.io.curl(), context.io.resolver());
}

}  // namespace hx
