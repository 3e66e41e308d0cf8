#pragma once
// The `grpc:` check type: one grpc.health.v1.Health/Check call per attempt,
// over HTTP/2 on the shared curl multi handle (IoContext::curl()): h2c with
// prior knowledge, or TLS with ALPN h2.
//
//   grpc:
//     address: "orders.internal:50051"   # host:port or [v6]:port
//     service: "orders.v1.Orders"        # optional; "" asks for the server's overall health
//     tls: {ca_file: ...}                # or true, or false (default: h2c)
//     metadata: {authorization: "Bearer ${TOKEN}"}   # sent as headers; values are secrets
//     ip_protocol: auto                  # ip4 | ip6 | auto (default)
//     ip_policy: first                   # first (default) | all
//
// The daemon links no libprotobuf: the two messages are a single field each
// (HealthCheckRequest.service, string; HealthCheckResponse.status, enum), so
// they are encoded and decoded by hand below (grpc_wire), as is the 5-byte
// gRPC message frame. Every attempt opens a fresh connection, as http does.
//
// Names, as for http: the host is resolved by the daemon's resolver
// (IoContext::resolver(), c-ares on the loop; `ip_protocol` picks the family)
// and curl is handed the addresses with CURLOPT_RESOLVE, so the `dns` phase is
// the resolver's time. An IP literal host is not resolved.
//
// tls.server_name works as for http: the request goes to that name (SNI,
// certificate check and :authority) and the CURLOPT_RESOLVE entry maps it to
// the configured host's addresses, so the connection goes there.
//
// ip_policy all (EachAddressCheck, checks/common/each_address_check.h): the
// name is resolved once and one call goes to each address, side by side, each
// a GrpcCheck pinned to its address by a CURLOPT_RESOLVE entry of that
// address alone (:authority, SNI and the certificate check keep the name);
// the results are combined by CombineAddressResults. An IP literal host has
// one address: ip_policy is moot.

#include <curl/curl.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "checks/check.h"
#include "checks/common/curl_transfer.h"
#include "checks/common/ip_policy.h"
#include "checks/common/tls_options.h"
#include "io/resolver.h"

namespace hx {

class CurlMulti;
class Resolver;

/// The parsed `grpc:` mapping. Immutable after parsing; thread-safe.
class GrpcCheckSpec final : public CheckSpec, public std::enable_shared_from_this<GrpcCheckSpec> {
 public:
  std::string host;  ///< name or IP, without the brackets of "[v6]:port"
  uint16_t port = 0;
  std::string service;
  /// Metadata name (lower case) -> value; values are secrets.
  std::map<std::string, std::string> metadata;
  std::optional<TlsOptions> tls;
  /// `ip_protocol`: the family `host` is resolved to.
  IpProtocol ip_protocol = IpProtocol::kAuto;
  /// `ip_policy`: first (curl tries the addresses in turn) or all.
  IpPolicy ip_policy = IpPolicy::kFirst;
  /// Set when `host` is an IP literal: nothing to resolve.
  bool host_is_ip = false;

  /// The URL curl requests: http(s)://<host or tls.server_name>:<port>/grpc.health.v1.Health/Check.
  std::string request_url;
  /// The host of request_url as curl matches CURLOPT_RESOLVE entries
  /// (tls.server_name or `host`; IPv6 in brackets).
  std::string request_host;
  /// With tls.server_name and an IP literal host: the fixed CURLOPT_RESOLVE
  /// entry "name:port:addr"; otherwise "".
  std::string fixed_resolve;
  /// The request body: one gRPC frame holding HealthCheckRequest{service}.
  std::string request_body;

  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// "grpc://127.0.0.1:50051/orders.v1.Orders" ("grpcs://" with TLS; the
  /// path is empty for the overall health).
  std::string Target() const override;
};

/// The `grpc:` check type.
CheckType GrpcCheckType();

/// Parses a `grpc:` mapping (the parser of GrpcCheckType(); exposed for
/// tests). Calls reader.Finish(); returns nullptr after any error.
std::shared_ptr<const GrpcCheckSpec> ParseGrpcCheckSpec(config::MapReader& reader);

/// The gRPC wire pieces the check needs, by hand. Pure functions; thread-safe.
namespace grpc_wire {

/// The largest response message accepted (a HealthCheckResponse is 2 bytes).
inline constexpr size_t kMaxMessageBytes = 16 * 1024;
/// The 5-byte header of a length-prefixed message: compressed flag, length (big endian).
inline constexpr size_t kFrameHeaderBytes = 5;

/// One frame holding HealthCheckRequest{service = `service`}.
std::string EncodeHealthCheckRequest(std::string_view service);

/// The one message of a unary response body (`body` = every DATA byte).
/// On a bad body returns nullopt and sets *error to a sentence such as
/// "response message truncated (3 of 7 bytes)".
std::optional<std::string_view> ParseUnaryResponse(std::string_view body, std::string* error);

/// HealthCheckResponse.status (absent: 0, proto3's default) from a message;
/// unknown fields are skipped. nullopt with *error when it is not protobuf.
std::optional<int64_t> DecodeServingStatus(std::string_view message, std::string* error);

/// "OK", "CANCELLED", ..., "UNAUTHENTICATED" for 0-16; "" otherwise.
std::string_view StatusCodeName(int64_t code);
/// "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" for 0-3; "" otherwise.
std::string_view ServingStatusName(int64_t status);

/// grpc-message as sent (percent-encoded UTF-8), decoded.
std::string PercentDecode(std::string_view text);

}  // namespace grpc_wire

/// What arrived for one Health/Check call, fed by curl's header callback
/// (which also receives HTTP/2 trailers) and write callback. Every field is
/// bounded whatever the server sends. Plain data; not thread-safe.
struct GrpcResponse {
  int http_major = 0;  ///< from the status line: 2 for "HTTP/2 200"; 0 before one
  int http_status = 0;
  std::string content_type;
  /// grpc-status as received (headers or trailers; the last one counts).
  std::optional<std::string> grpc_status;
  /// grpc-message, still percent-encoded.
  std::string grpc_message;
  std::string body;
  /// Set when the body outgrew one frame of kMaxMessageBytes; it is cut there.
  bool body_too_large = false;

  /// One header line as curl delivers it (with CRLF): a status line, a
  /// header, the blank line after the headers, or a trailer.
  void OnHeaderLine(std::string_view line);
  /// DATA bytes; false (stop the transfer) once the body is too large.
  bool OnBodyData(std::string_view data);
};

/// The verdict on a complete response (the transfer itself succeeded, or
/// only failed because the body was too large), with the gRPC observations.
/// Never quotes a metadata value of `spec`, even when the server echoes one.
CheckResult EvaluateGrpcResponse(const GrpcResponse& response, const GrpcCheckSpec& spec);

/// Runs attempts of one GrpcCheckSpec (the attempt skeleton is CurlCheck's).
/// Loop-thread only; not thread-safe.
class GrpcCheck final : public CurlCheck {
 public:
  GrpcCheck(std::shared_ptr<const GrpcCheckSpec> spec, CurlMulti& curl, Resolver& resolver);
  /// Connects to `address` (an IP literal) only, without resolving: curl is
  /// handed "request_host:port:address". For ip_policy all.
  GrpcCheck(std::shared_ptr<const GrpcCheckSpec> spec, CurlMulti& curl, Resolver& resolver,
            const std::string& address);

  /// The state of one attempt; defined in the .cc file.
  struct Attempt;

 private:
  std::unique_ptr<CurlCheck::Attempt> NewAttempt() override;
  bool Configure(CurlCheck::Attempt& a) override;
  CheckResult LookupFailed(FailureReason reason, std::string error, uint64_t dns_ns) override;
  CheckResult Evaluate(CURLcode code, CurlCheck::Attempt& a) override;

  std::shared_ptr<const GrpcCheckSpec> spec_;
};

}  // namespace hx
