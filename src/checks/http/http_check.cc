#include "checks/http/http_check.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "checks/common/curl_transfer.h"
#include "checks/common/each_address_check.h"
#include "checks/common/failure_reasons.h"
#include "checks/common/ip_protocol.h"
#include "io/curl_multi.h"
#include "io/io_context.h"
#include "util/ascii.h"
#include "util/base64.h"

namespace hx {

namespace {

constexpr std::array<std::string_view, 7> kMethods = {"GET",   "HEAD",   "POST",   "PUT",
                                                      "PATCH", "DELETE", "OPTIONS"};

std::string Uppercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// "1MiB", "64KB" or "1500 bytes": how a user would have written the limit.
std::string FormatByteLimit(uint64_t bytes) {
  struct Unit {
    uint64_t size;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{1ULL << 30, "GiB"}, {1ULL << 20, "MiB"}, {1ULL << 10, "KiB"},
                                    {1000000000, "GB"},  {1000000, "MB"},     {1000, "KB"}};
  for (const auto& unit : kUnits) {
    if (bytes >= unit.size && bytes % unit.size == 0) {
      return std::to_string(bytes / unit.size) + unit.name;
    }
  }
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

// Quotes a regex pattern for a detail line, shortening very long ones.
std::string QuotePattern(const std::string& pattern) {
  constexpr size_t kMaxShown = 80;
  if (pattern.size() <= kMaxShown) return "\"" + pattern + "\"";
  return "\"" + pattern.substr(0, kMaxShown) + "...\"";
}

bool IsHeaderNameChar(char c) {
  // RFC 9110 token characters.
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// Owns a CURLU for the duration of URL parsing.
struct UrlHandle {
  CURLU* u = curl_url();
  ~UrlHandle() { curl_url_cleanup(u); }
  std::optional<std::string> Get(CURLUPart part, unsigned flags = 0) const {
    char* value = nullptr;
    if (curl_url_get(u, part, &value, flags) != CURLUE_OK || value == nullptr) return std::nullopt;
    std::string out(value);
    curl_free(value);
    return out;
  }
};

// Fills the URL fields of `spec` from the configured URL. Messages never
// quote the URL: after ${VAR} expansion it may hold credentials.
void ParseUrl(config::MapReader& r, const std::string& url, HttpCheckSpec& spec) {
  const std::string lower = AsciiLower(url.substr(0, 8));
  if (lower.rfind("http://", 0) != 0 && lower.rfind("https://", 0) != 0) {
    r.Error("url", "must start with http:// or https://");
    return;
  }
  UrlHandle parsed;
  if (const CURLUcode rc = curl_url_set(parsed.u, CURLUPART_URL, url.c_str(), 0); rc != CURLUE_OK) {
    r.Error("url", std::string("is not a valid URL: ") + AsciiLower(curl_url_strerror(rc)));
    return;
  }
  auto scheme = parsed.Get(CURLUPART_SCHEME);
  auto host = parsed.Get(CURLUPART_HOST);
  auto port = parsed.Get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  auto explicit_port = parsed.Get(CURLUPART_PORT);
  auto path = parsed.Get(CURLUPART_PATH);
  if (!scheme || !host || host->empty() || !port) {
    r.Error("url", "is not a valid URL: no host");
    return;
  }
  spec.url = url;
  spec.request_url = url;
  spec.request_host = *host;
  spec.port = *port;
  spec.connect_host = *host;
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    spec.connect_host = host->substr(1, host->size() - 2);
  }
  sockaddr_storage literal{};
  spec.connect_host_is_ip = ParseIpLiteral(spec.connect_host, &literal);
  spec.https = AsciiLower(*scheme) == "https";
  spec.display_url = AsciiLower(*scheme) + "://" + *host +
                     (explicit_port ? ":" + *explicit_port : std::string()) +
                     (path ? *path : std::string("/"));
}

// tls.server_name: request that name, connect to the URL's host (see header).
void ApplyServerName(config::MapReader& r, HttpCheckSpec& spec) {
  UrlHandle parsed;
  if (curl_url_set(parsed.u, CURLUPART_URL, spec.url.c_str(), 0) != CURLUE_OK) return;
  if (curl_url_set(parsed.u, CURLUPART_HOST, spec.tls->server_name.c_str(), 0) != CURLUE_OK) {
    r.context().Error(r.node()["tls"]["server_name"], r.PathOf("tls") + ".server_name",
                      "is not a valid host name");
    return;
  }
  auto request_host = parsed.Get(CURLUPART_HOST);
  auto request_url = parsed.Get(CURLUPART_URL);
  if (!request_host || !request_url) return;
  spec.request_url = *request_url;
  spec.request_host = *request_host;
  if (spec.connect_host_is_ip) {
    spec.fixed_resolve = CurlResolveEntry(spec.request_host, spec.port, {spec.connect_host});
  }
}

// Reads a status code or list of them (`expect_status: [2xx, 301]`), with an
// error per bad item at that item. Returns nullopt when absent or bad.
std::optional<StatusCodeSet> ReadStatusCodes(config::MapReader& r, std::string_view key,
                                             bool allow_empty) {
  auto node = r.Node(key);
  if (!node) return std::nullopt;
  const std::string path = r.PathOf(key);
  std::vector<std::pair<YAML::Node, std::string>> items;  // node, path
  if (node->IsScalar()) {
    items.emplace_back(*node, path);
  } else if (node->IsSequence()) {
    for (size_t i = 0; i < node->size(); ++i) {
      items.emplace_back((*node)[i], path + "[" + std::to_string(i) + "]");
    }
  } else {
    r.Error(key, "must be a status code or a list of status codes (e.g. [2xx, 301])");
    return std::nullopt;
  }
  if (items.empty() && !allow_empty) {
    r.Error(key, "must not be empty");
    return std::nullopt;
  }
  std::vector<StatusCodeSet::Range> ranges;
  bool ok = true;
  for (const auto& [item, item_path] : items) {
    if (!item.IsScalar()) {
      r.context().Error(item, item_path, "must be a status code such as 200, 2xx or 200-299");
      ok = false;
      continue;
    }
    std::string error;
    auto range = StatusCodeSet::ParseItem(item.Scalar(), &error);
    if (!range) {
      r.context().Error(item, item_path, error);
      ok = false;
      continue;
    }
    ranges.push_back(std::move(*range));
  }
  if (!ok) return std::nullopt;
  return StatusCodeSet(std::move(ranges));
}

// %XX (and '+' in a query) decoded; a malformed escape is kept as is.
std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else if (plus_is_space && text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Secrets in body excerpts

std::vector<std::string> HttpSecrets(const HttpCheckSpec& spec) {
  std::vector<std::string> secrets;
  auto add = [&secrets](std::string_view secret) {
    if (secret.size() >= 4) secrets.emplace_back(secret);
  };
  for (const auto& [name, value] : spec.headers) {
    add(value);
    // "Bearer <token>", "Basic <base64>", "Token <key>": the credential alone.
    const size_t space = value.find(' ');
    if (space == std::string::npos) continue;
    std::string_view credential = std::string_view(value).substr(space + 1);
    while (!credential.empty() && credential.front() == ' ') credential.remove_prefix(1);
    add(credential);
    if (AsciiLower(value.substr(0, space)) == "basic") {
      if (auto decoded = Base64Decode(TrimSpace(credential))) {
        add(*decoded);
        if (const size_t colon = decoded->find(':'); colon != std::string::npos) {
          add(decoded->substr(colon + 1));
        }
      }
    }
  }
  UrlHandle parsed;
  if (!spec.url.empty() &&
      curl_url_set(parsed.u, CURLUPART_URL, spec.url.c_str(), 0) == CURLUE_OK) {
    const auto user = parsed.Get(CURLUPART_USER);
    const auto password = parsed.Get(CURLUPART_PASSWORD);
    if (user) {
      add(*user);
      add(PercentDecode(*user, false));
    }
    if (password) {
      add(*password);
      add(PercentDecode(*password, false));
    }
    if (user || password) {
      // What curl sends for user-info: Authorization: Basic base64(user:password).
      const std::string pair = PercentDecode(user.value_or(""), false) + ":" +
                               PercentDecode(password.value_or(""), false);
      add(pair);
      add(Base64(pair));
    }
    if (const auto query = parsed.Get(CURLUPART_QUERY)) {
      std::string_view rest = *query;
      while (!rest.empty()) {
        const size_t amp = rest.find('&');
        const std::string_view item = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        const size_t eq = item.find('=');
        const std::string_view value = eq == std::string_view::npos ? item : item.substr(eq + 1);
        add(value);
        add(PercentDecode(value, true));
      }
    }
  }
  std::sort(secrets.begin(), secrets.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
  return secrets;
}

std::string BodyExcerpt(std::string body, const std::vector<std::string>& secrets) {
  static constexpr std::string_view kMask = "<redacted>";
  for (const std::string& secret : secrets) {
    for (size_t at = body.find(secret); at != std::string::npos; at = body.find(secret, at)) {
      body.replace(at, secret.size(), kMask);
      at += kMask.size();
    }
  }
  if (body.size() > kBodyExcerptBytes) body.resize(kBodyExcerptBytes);
  return body;
}

// ---------------------------------------------------------------------------
// Parsing

std::shared_ptr<const HttpCheckSpec> ParseHttpCheckSpec(config::MapReader& r) {
  auto spec = std::make_shared<HttpCheckSpec>();

  if (r.Require("url")) {
    if (auto url = r.String("url")) ParseUrl(r, *url, *spec);
  }

  if (auto method = r.String("method", /*expand_env=*/false)) {
    const std::string upper = Uppercase(*method);
    if (std::find(kMethods.begin(), kMethods.end(), upper) == kMethods.end()) {
      r.Error("method", "unknown method \"" + *method +
                            "\" (expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)");
    } else {
      spec->method = upper;
    }
  }

  if (auto headers = r.StringMap("headers")) {
    for (const auto& [name, value] : *headers) {
      if (name.empty() || !std::all_of(name.begin(), name.end(), IsHeaderNameChar)) {
        r.Error("headers", "invalid header name \"" + name + "\"");
      } else if (value.find_first_of("\r\n") != std::string::npos) {
        // Never quote the value: header values are secrets.
        r.Error("headers", "value of header \"" + name + "\" must not contain line breaks");
      }
    }
    spec->headers = std::move(*headers);
  }

  if (auto body = r.String("body")) {
    spec->body = std::move(*body);
    if (!spec->body.empty() && spec->method == "HEAD") {
      r.Error("body", "a HEAD request cannot have a body");
    }
  }

  if (r.Has("expect_status")) {
    if (auto codes = ReadStatusCodes(r, "expect_status", /*allow_empty=*/false)) {
      spec->expect_status = std::move(*codes);
    }
  } else {
    spec->expect_status = StatusCodeSet({{200, 299, "2xx"}});
  }
  if (auto codes = ReadStatusCodes(r, "degraded_status", /*allow_empty=*/true)) {
    spec->degraded_status = std::move(*codes);
  }

  spec->expect_body = r.Regex("expect_body");
  spec->expect_body_absent = r.Regex("expect_body_absent");
  if (auto follow = r.Bool("follow_redirects")) spec->follow_redirects = *follow;
  if (auto max = r.ByteSize("max_body_bytes")) {
    if (*max == 0) {
      r.Error("max_body_bytes", "must be at least 1 byte");
    } else {
      spec->max_body_bytes = *max;
    }
  }

  if (r.Has("tls")) {
    if (!spec->url.empty() && !spec->https) {
      r.Error("tls", "is only allowed with an https:// URL");
      r.Accept("tls");
    } else if (auto tls = r.Map("tls")) {
      spec->tls = ParseTlsOptions(*tls);
      if (spec->tls && !spec->tls->server_name.empty() && !spec->url.empty()) {
        ApplyServerName(r, *spec);
      }
    }
  }

  spec->ip_protocol = ReadIpProtocol(r);
  spec->ip_policy = ReadIpPolicy(r);

  if (!r.Finish()) return nullptr;
  spec->secrets = HttpSecrets(*spec);
  spec->excerpt_capture_bytes =
      kBodyExcerptBytes + (spec->secrets.empty() ? 0 : spec->secrets.front().size());
  return spec;
}

CheckType HttpCheckType() { return {"http", &ParseHttpCheckSpec}; }

std::string HttpCheckSpec::Target() const { return method + " " + display_url; }

std::vector<std::string> HttpCheckSpec::Secrets() const {
  std::vector<std::string> out;
  for (const auto& [name, value] : headers) out.push_back(value);
  CURLU* u = curl_url();
  if (u == nullptr) return out;
  auto part = [u](CURLUPart which) {
    char* text = nullptr;
    std::string value;
    if (curl_url_get(u, which, &text, 0) == CURLUE_OK && text != nullptr) value = text;
    curl_free(text);
    return value;
  };
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    const std::string user = part(CURLUPART_USER);
    const std::string password = part(CURLUPART_PASSWORD);
    if (!user.empty() || !password.empty()) {
      out.push_back(user);
      out.push_back(password);
      out.push_back(Base64(user + ":" + password));
    }
    const std::string query = part(CURLUPART_QUERY);
    size_t start = 0;
    while (start < query.size()) {
      const size_t end = std::min(query.find('&', start), query.size());
      const std::string pair = query.substr(start, end - start);
      const size_t eq = pair.find('=');
      out.push_back(eq == std::string::npos ? pair : pair.substr(eq + 1));
      start = end + 1;
    }
  }
  curl_url_cleanup(u);
  return out;
}

// ---------------------------------------------------------------------------
// Running

struct HttpCheck::Attempt final : CurlCheck::Attempt {
  uint64_t max_body_bytes = 0;
  bool keep_body = false;
  uint64_t body_bytes = 0;
  bool body_too_large = false;
  std::string body;
  const HttpCheckSpec* spec = nullptr;  // outlives the attempt
  // The first bytes of the body, kept for the excerpt of a result that is
  // not healthy: kBodyExcerptBytes plus the longest secret, so that a secret
  // across the cut is still masked whole. Only when the status already fails
  // (decided at the first bytes); with keep_body, `body` serves.
  size_t excerpt_capture = 0;
  std::string excerpt;
};

namespace {

size_t OnBodyData(char* data, size_t size, size_t count, void* user) {
  auto* attempt = static_cast<HttpCheck::Attempt*>(user);
  const size_t n = size * count;
  if (attempt->body_bytes + n > attempt->max_body_bytes) {
    attempt->body_too_large = true;
    return 0;  // anything but n aborts the transfer with CURLE_WRITE_ERROR
  }
  if (attempt->body_bytes == 0 && !attempt->keep_body) {
    // The body's first bytes: the status is known. Only one that fails or
    // degrades needs the body as evidence; a healthy attempt copies nothing.
    long status = 0;
    curl_easy_getinfo(attempt->easy, CURLINFO_RESPONSE_CODE, &status);
    const HttpCheckSpec& spec = *attempt->spec;
    if (spec.degraded_status.Contains(static_cast<int>(status)) ||
        !spec.expect_status.Contains(static_cast<int>(status))) {
      attempt->excerpt_capture = spec.excerpt_capture_bytes;
    }
  }
  attempt->body_bytes += n;
  if (attempt->keep_body) attempt->body.append(data, n);
  if (attempt->excerpt.size() < attempt->excerpt_capture) {
    attempt->excerpt.append(data, std::min(n, attempt->excerpt_capture - attempt->excerpt.size()));
  }
  return n;
}

// http's own wording for the curl codes it alone meets ("" for the common
// ones). Never quotes the URL.
CurlFailure DescribeHttpFailure(CURLcode code, CURL* easy, const char* error_buffer) {
  switch (code) {
    case CURLE_TOO_MANY_REDIRECTS:
      return {
          FailureReason::kProtocolError,
          "too many redirects (more than " + std::to_string(HttpCheckSpec::kMaxRedirects) + ")"};
    case CURLE_PARTIAL_FILE:
      return {FailureReason::kConnectionClosed, "response ended before the announced body length"};
    case CURLE_UNSUPPORTED_PROTOCOL:
      // The first URL is http(s) by config, so this is a redirect elsewhere,
      // unless curl found no status line at all (an "HTTP/0.9" reply).
      if (std::strstr(error_buffer, "HTTP/0.9") != nullptr) {
        return {FailureReason::kProtocolError, "invalid HTTP response (no status line)"};
      }
      return {FailureReason::kProtocolError, "redirect to a URL that is not http or https"};
    case CURLE_OUT_OF_MEMORY: {
      // curl 7.x hits its limit on one header line (100 KiB) as a failed
      // buffer growth, without a message; after a status line arrived that
      // is by far the likelier cause than the process running out of memory.
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      if (status > 0 || std::strstr(error_buffer, "header") != nullptr) {
        return {FailureReason::kProtocolError, "response headers too large"};
      }
      return {FailureReason::kInternal, "out of memory"};
    }
    default:
      return {};
  }
}

// Sets the request options of one attempt; false if curl refused one.
bool ConfigureEasy(const HttpCheckSpec& spec, HttpCheck::Attempt& a) {
  CURL* e = a.easy;
  bool ok = true;
  auto set = [&ok](CURLcode rc) { ok = ok && rc == CURLE_OK; };

  set(curl_easy_setopt(e, CURLOPT_URL, spec.request_url.c_str()));
  set(curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, spec.follow_redirects ? 1L : 0L));
  set(curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(HttpCheckSpec::kMaxRedirects)));
  set(curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBodyData));
  set(curl_easy_setopt(e, CURLOPT_WRITEDATA, &a));

  if (spec.tls && !ApplyTlsOptions(e, *spec.tls)) ok = false;

  if (spec.method == "HEAD") {
    set(curl_easy_setopt(e, CURLOPT_NOBODY, 1L));
  } else if (!spec.body.empty() || spec.method == "POST") {
    // POSTFIELDS sends the body with any method; CUSTOMREQUEST names it.
    set(curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(spec.body.size())));
    set(curl_easy_setopt(e, CURLOPT_POSTFIELDS, spec.body.c_str()));
    if (spec.method != "POST") {
      set(curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, spec.method.c_str()));
    }
  } else if (spec.method != "GET") {
    set(curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, spec.method.c_str()));
  }

  for (const auto& [name, value] : spec.headers) {
    // "Name;" is curl's way to send a header with an empty value.
    std::string line = name;
    if (value.empty()) {
      line += ';';
    } else {
      line += ": ";
      line += value;
    }
    a.headers = curl_slist_append(a.headers, line.c_str());
  }
  // No "Expect: 100-continue" round trip for bodies.
  if (!spec.body.empty()) a.headers = curl_slist_append(a.headers, "Expect:");
  if (a.headers != nullptr) set(curl_easy_setopt(e, CURLOPT_HTTPHEADER, a.headers));
  return ok;
}

}  // namespace

namespace {

CurlCheck::Target TargetOf(const HttpCheckSpec& spec) {
  return {.connect_host = spec.connect_host,
          .ip_protocol = spec.ip_protocol,
          .request_host = spec.request_host,
          .port = spec.port,
          .connect_host_is_ip = spec.connect_host_is_ip,
          .fixed_resolve = spec.fixed_resolve};
}

// The result of an attempt whose host did not resolve.
CheckResult HttpLookupFailedResult(FailureReason reason, std::string error, uint64_t dns_ns) {
  CheckResult result = CheckResult::Unhealthy(reason, std::move(error));
  result.observations.emplace_back(ObservationId::kHttpPhaseSeconds,
                                   static_cast<double>(dns_ns) / 1e9, "dns");
  result.observations.emplace_back(ObservationId::kHttpRedirects, 0.0);
  return result;
}

}  // namespace

HttpCheck::HttpCheck(std::shared_ptr<const HttpCheckSpec> spec, CurlMulti& curl, Resolver& resolver)
    : CurlCheck(curl, resolver, TargetOf(*spec), "HTTP"), spec_(std::move(spec)) {}

HttpCheck::HttpCheck(std::shared_ptr<const HttpCheckSpec> spec, CurlMulti& curl, Resolver& resolver,
                     const std::string& address)
    : CurlCheck(curl, resolver, TargetOf(*spec).PinnedTo(address), "HTTP"),
      spec_(std::move(spec)) {}

std::unique_ptr<CurlCheck::Attempt> HttpCheck::NewAttempt() {
  auto attempt = std::make_unique<Attempt>();
  attempt->max_body_bytes = spec_->max_body_bytes;
  attempt->keep_body = spec_->expect_body != nullptr || spec_->expect_body_absent != nullptr;
  attempt->spec = spec_.get();
  return attempt;
}

bool HttpCheck::Configure(CurlCheck::Attempt& a) {
  return ConfigureEasy(*spec_, static_cast<Attempt&>(a));
}

CheckResult HttpCheck::LookupFailed(FailureReason reason, std::string error, uint64_t dns_ns) {
  return HttpLookupFailedResult(reason, std::move(error), dns_ns);
}

CheckResult HttpCheck::Evaluate(CURLcode code, CurlCheck::Attempt& attempt) {
  auto* a = static_cast<Attempt*>(&attempt);
  CURL* easy = a->easy;
  const HttpCheckSpec& spec = *spec_;

  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  long redirects = 0;
  curl_easy_getinfo(easy, CURLINFO_REDIRECT_COUNT, &redirects);

  CheckResult result;
  if (status > 0) {
    result.observations.emplace_back(ObservationId::kHttpStatusCode, static_cast<double>(status));
    AddPhaseObservations(easy, a->names.dns_ns(), ObservationId::kHttpPhaseSeconds,
                         result.observations);
  }
  a->expiry.AddObservation(result.observations);
  result.observations.emplace_back(ObservationId::kHttpRedirects, static_cast<double>(redirects));

  const std::string http = "HTTP " + std::to_string(status);
  if (a->body_too_large) {
    result.health = Health::kUnhealthy;
    result.reason = FailureReason::kBodyMismatch;
    result.detail = "response body exceeds " + FormatByteLimit(spec.max_body_bytes);
  } else if (code != CURLE_OK) {
    CurlFailure failure = DescribeCurlFailure(code, easy, a->error, &DescribeHttpFailure);
    result.health = Health::kUnhealthy;
    result.reason = failure.reason;
    result.detail = std::move(failure.detail);
  } else if (spec.degraded_status.Contains(static_cast<int>(status))) {
    result.health = Health::kDegraded;
    result.reason = FailureReason::kHttpStatus;
    result.detail = http + " (degraded status)";
  } else if (!spec.expect_status.Contains(static_cast<int>(status))) {
    result.health = Health::kUnhealthy;
    result.reason = FailureReason::kHttpStatus;
    result.detail = http + ", expected " + spec.expect_status.ToString();
  } else if (spec.expect_body && !RE2::PartialMatch(a->body, *spec.expect_body)) {
    result.health = Health::kUnhealthy;
    result.reason = FailureReason::kBodyMismatch;
    result.detail = "body does not match " + QuotePattern(spec.expect_body->pattern());
  } else if (spec.expect_body_absent && RE2::PartialMatch(a->body, *spec.expect_body_absent)) {
    result.health = Health::kUnhealthy;
    result.reason = FailureReason::kBodyMismatch;
    result.detail =
        "body matches forbidden pattern " + QuotePattern(spec.expect_body_absent->pattern());
  } else {
    result.health = Health::kHealthy;
    result.detail = http;
    return result;
  }
  // Not healthy: the start of the body, as evidence, secrets masked.
  std::string start =
      a->keep_body ? a->body.substr(0, spec.excerpt_capture_bytes) : std::move(a->excerpt);
  if (!start.empty()) result.body_excerpt = BodyExcerpt(std::move(start), spec.secrets);
  return result;
}

// ---------------------------------------------------------------------------
// Creating: ip_policy all makes an EachAddressCheck of pinned HttpChecks

std::unique_ptr<Check> HttpCheckSpec::CreateCheck(const CheckContext& context) const {
  if (ip_policy == IpPolicy::kAll && !connect_host_is_ip) {
    // One request per address, each pinned to it (see the header).
    std::shared_ptr<const HttpCheckSpec> spec = shared_from_this();
    CurlMulti& curl = context.io.curl();
    Resolver& resolver = context.io.resolver();
    return std::make_unique<EachAddressCheck>(
        EachAddressCheck::Target{
            .host = connect_host,
            .ip_protocol = ip_protocol,
            .port = static_cast<uint16_t>(std::strtoul(port.c_str(), nullptr, 10)),
            .make_check = [spec, &curl,
                           &resolver](const std::string& address) -> std::unique_ptr<Check> {
              return std::make_unique<HttpCheck>(spec, curl, resolver, address);
            },
            .lookup_failed = &HttpLookupFailedResult,
            .phase_id = ObservationId::kHttpPhaseSeconds},
        resolver);
  }
  return std::make_unique<HttpCheck>(shared_from_this(), context.io.curl(), context.io.resolver());
}

}  // namespace hx
