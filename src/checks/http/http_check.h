#pragma once
// The `http:` check type: one HTTP(S) request per attempt on the shared curl
// multi handle (IoContext::curl()), judged by status code and body.
//
// Every attempt opens a fresh connection (no reuse between attempts), so each
// result measures DNS, connect and TLS as a new client would see them.
//
// Names: the URL's host is resolved by the daemon's resolver (IoContext::
// resolver(), c-ares on the loop; `ip_protocol` picks the family) and curl is
// handed the addresses with CURLOPT_RESOLVE ("host:port:addr,addr"), so the
// Host header, SNI and certificate checks keep the name and the `dns` phase is
// the resolver's time. An IP literal host is not resolved. A redirect to
// another host:port is resolved by curl itself.
//
// tls.server_name: the request is sent to https://<server_name>:<port>/... and
// the CURLOPT_RESOLVE entry maps server_name to the URL's real host's
// addresses. So SNI, certificate verification and the Host header all use
// server_name while the TCP connection goes to the configured address; a
// redirect to another host is not affected.
//
// ip_policy all (EachAddressCheck, checks/common/each_address_check.h): the
// name is resolved once and one request goes to each address, side by side,
// each an HttpCheck pinned to its address by a CURLOPT_RESOLVE entry of that
// address alone (Host and SNI keep the name); the results are combined by
// CombineAddressResults. A URL with an IP literal host has one address:
// ip_policy is moot.

#include <curl/curl.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"
#include "checks/common/curl_transfer.h"
#include "checks/common/ip_policy.h"
#include "checks/common/status_code_set.h"
#include "checks/common/tls_options.h"
#include "io/resolver.h"

namespace re2 {
class RE2;
}

namespace hx {

class CurlMulti;
class Resolver;

/// The parsed `http:` mapping. Immutable after parsing; thread-safe.
class HttpCheckSpec final : public CheckSpec, public std::enable_shared_from_this<HttpCheckSpec> {
 public:
  static constexpr int kMaxRedirects = 10;
  static constexpr uint64_t kDefaultMaxBodyBytes = 1024 * 1024;

  /// The URL as configured (may hold user-info and a query: secret).
  std::string url;
  /// scheme://host[:port]/path, without user-info, query or fragment.
  std::string display_url;
  /// The URL curl requests (differs from `url` when tls.server_name is set).
  std::string request_url;
  /// The URL's host (the one connected to, also with tls.server_name),
  /// without brackets, and its port (the scheme's default if not given).
  std::string connect_host;
  std::string port;
  /// The host of request_url as curl matches CURLOPT_RESOLVE entries
  /// (server_name, or the URL's host).
  std::string request_host;
  /// Set when connect_host is an IP literal: nothing to resolve. With
  /// tls.server_name the CURLOPT_RESOLVE entry "name:port:addr" is fixed.
  bool connect_host_is_ip = false;
  std::string fixed_resolve;
  /// `ip_protocol`: the family connect_host is resolved to.
  IpProtocol ip_protocol = IpProtocol::kAuto;
  /// `ip_policy`: first (curl tries the addresses in turn) or all.
  IpPolicy ip_policy = IpPolicy::kFirst;
  bool https = false;
  std::string method = "GET";
  /// Header name -> value; values are secrets.
  std::map<std::string, std::string> headers;
  std::string body;
  StatusCodeSet expect_status;
  StatusCodeSet degraded_status;
  std::shared_ptr<const re2::RE2> expect_body;
  std::shared_ptr<const re2::RE2> expect_body_absent;
  bool follow_redirects = true;
  uint64_t max_body_bytes = kDefaultMaxBodyBytes;
  std::optional<TlsOptions> tls;
  /// What a response body must never show of this check's configuration
  /// (HttpSecrets()): masked in body excerpts. Longest first.
  std::vector<std::string> secrets;
  /// How much of a body an attempt keeps for the excerpt: kBodyExcerptBytes
  /// plus the longest secret, so that a secret across the cut is masked.
  size_t excerpt_capture_bytes = 0;

  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// "GET https://api.internal/health".
  std::string Target() const override;
  /// Header values, the URL's user name, password and query values, and the
  /// basic-auth credentials as curl sends them (base64).
  std::vector<std::string> Secrets() const override;
};

/// Runs attempts of one HttpCheckSpec (the attempt skeleton is CurlCheck's).
/// Loop-thread only; not thread-safe.
class HttpCheck final : public CurlCheck {
 public:
  HttpCheck(std::shared_ptr<const HttpCheckSpec> spec, CurlMulti& curl, Resolver& resolver);
  /// Connects to `address` (an IP literal) only, without resolving: curl is
  /// handed "request_host:port:address". For ip_policy all.
  HttpCheck(std::shared_ptr<const HttpCheckSpec> spec, CurlMulti& curl, Resolver& resolver,
            const std::string& address);

  /// The state of one attempt; defined in the .cc file.
  struct Attempt;

 private:
  std::unique_ptr<CurlCheck::Attempt> NewAttempt() override;
  bool Configure(CurlCheck::Attempt& a) override;
  CheckResult LookupFailed(FailureReason reason, std::string error, uint64_t dns_ns) override;
  CheckResult Evaluate(CURLcode code, CurlCheck::Attempt& a) override;

  std::shared_ptr<const HttpCheckSpec> spec_;
};

/// The `http:` check type.
CheckType HttpCheckType();

/// The most bytes of a response body a non-healthy result carries.
inline constexpr size_t kBodyExcerptBytes = 512;

/// The secrets of a parsed spec, as a server might echo them, each at least 4
/// bytes (shorter values would mask ordinary words; as grpc's metadata):
/// every header value, and for "Scheme credential" values the credential
/// (for Basic, also the decoded "user:password" and the password); the URL's
/// user-info (user, password, "user:password" and its base64, as curl sends
/// it), raw and percent-decoded; every value of the URL's query, raw and
/// decoded. Longest first, no duplicates. Pure; thread-safe.
std::vector<std::string> HttpSecrets(const HttpCheckSpec& spec);

/// The excerpt of a body for a non-healthy result: every occurrence of each
/// secret (longest first) replaced by "<redacted>", then cut to
/// kBodyExcerptBytes. `body` should hold the first kBodyExcerptBytes + the
/// longest secret's bytes. Pure; thread-safe.
std::string BodyExcerpt(std::string body, const std::vector<std::string>& secrets);

/// Parses an `http:` mapping (the parser of HttpCheckType(); exposed for
/// tests). Calls reader.Finish(); returns nullptr after any error.
std::shared_ptr<const HttpCheckSpec> ParseHttpCheckSpec(config::MapReader& reader);

}  // namespace hx
