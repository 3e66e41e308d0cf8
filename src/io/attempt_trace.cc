#include "io/attempt_trace.h"

#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <uv.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include "io/resolver.h"
#include "util/ascii.h"

namespace hx {

AttemptTrace::AttemptTrace() : begin_ns_(uv_hrtime()) {}

uint64_t AttemptTrace::Elapsed() const { return uv_hrtime() - begin_ns_; }

void AttemptTrace::Add(std::string_view step, std::string text) {
  events_.push_back({std::string(step), std::move(text), Elapsed()});
}

namespace {

constexpr std::string_view kMasked = "<masked>";

std::string NameText(X509_NAME* name) {
  if (name == nullptr) return "?";
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "?";
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out = len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string("(empty)");
  BIO_free(bio);
  return out;
}

std::string NotAfterText(X509* cert) {
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  std::tm tm{};
  if (not_after == nullptr || ASN1_TIME_to_tm(not_after, &tm) != 1) return "?";
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string text = buf.data();
  if (timegm(&tm) < std::time(nullptr)) text += " (expired)";
  return text;
}

void AddCertificate(AttemptTrace& trace, int index, X509* cert) {
  trace.Add("tls", "certificate " + std::to_string(index) + ": subject " +
                       NameText(X509_get_subject_name(cert)) + "; issuer " +
                       NameText(X509_get_issuer_name(cert)) + "; not after " + NotAfterText(cert));
}

// Query values (and a bare query token) masked: they are where API keys go.
std::string MaskQuery(std::string_view query) {
  std::string out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    if (start > 0) out += '&';
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos) {
      out.append(pair.substr(0, eq));
      out += '=';
      out += kMasked;
    } else if (!pair.empty()) {
      out += kMasked;
    }
    start = end + 1;
  }
  return out;
}

bool IsHarmlessHeader(const std::string& lower_name) {
  static constexpr std::string_view kHarmless[] = {
      "host",
      "user-agent",
      "accept",
      "accept-encoding",
      "accept-language",
      "accept-ranges",
      "content-type",
      "content-length",
      "content-encoding",
      "transfer-encoding",
      "connection",
      "keep-alive",
      "date",
      "server",
      "cache-control",
      "expires",
      "last-modified",
      "etag",
      "vary",
      "age",
      "pragma",
      "te",
      "expect",
      "upgrade",
      "via",
      "retry-after",
      "allow",
      "www-authenticate",
      "x-content-type-options",
      "x-frame-options",
      "strict-transport-security",
      "referrer-policy",
      "grpc-status",
      "grpc-message",
      "grpc-encoding",
      "grpc-accept-encoding",
      "alt-svc",
  };
  return std::find(std::begin(kHarmless), std::end(kHarmless), lower_name) != std::end(kHarmless);
}

}  // namespace

void TraceCertificateChain(AttemptTrace& trace, X509* leaf, stack_st_X509* chain, long verify_error,
                           bool verified) {
  int index = 0;
  if (leaf != nullptr) AddCertificate(trace, index++, leaf);
  if (chain != nullptr) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      X509* cert = sk_X509_value(chain, i);
      if (cert == nullptr || (leaf != nullptr && X509_cmp(cert, leaf) == 0)) continue;
      AddCertificate(trace, index++, cert);
    }
  }
  if (index == 0) trace.Add("tls", "no certificate presented");
  const std::string result =
      verify_error == X509_V_OK
          ? std::string("ok")
          : std::string("failed: ") + X509_verify_cert_error_string(verify_error);
  trace.Add("tls", verified ? "chain verification " + result
                            : "chain verification off (insecure_skip_verify); it would have " +
                                  (verify_error == X509_V_OK ? std::string("passed") : result));
}

void TraceConnect(AttemptTrace* trace, const sockaddr_storage& address, int status) {
  if (trace == nullptr) return;
  const bool v6 = address.ss_family == AF_INET6;
  const uint16_t port = ntohs(v6 ? reinterpret_cast<const sockaddr_in6&>(address).sin6_port
                                 : reinterpret_cast<const sockaddr_in&>(address).sin_port);
  const std::string where =
      (v6 ? "[" + AddressText(address) + "]" : AddressText(address)) + ":" + std::to_string(port);
  trace->Add("connect", status == 0 ? "connected to " + where
                                    : "connect to " + where + " failed: " + uv_strerror(status));
}

std::string MaskUrl(std::string_view url) {
  std::string out;
  std::string_view rest = url;
  if (const size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
    out.append(rest.substr(0, scheme + 3));
    rest.remove_prefix(scheme + 3);
    const size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
    std::string_view authority = rest.substr(0, authority_end);
    if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
      out += kMasked;
      out += '@';
      authority.remove_prefix(at + 1);
    }
    out.append(authority);
    rest.remove_prefix(authority_end);
  }
  const size_t fragment = std::min(rest.find('#'), rest.size());
  rest = rest.substr(0, fragment);
  const size_t q = rest.find('?');
  if (q == std::string_view::npos) {
    out.append(rest);
    return out;
  }
  out.append(rest.substr(0, q + 1));
  out += MaskQuery(rest.substr(q + 1));
  return out;
}

std::string MaskHeaderLine(std::string_view line) {
  if (line.substr(0, 5) == "HTTP/") return std::string(line);  // a status line
  const size_t colon = line.find(':');
  const size_t space = line.find(' ');
  if (colon == std::string_view::npos || (space != std::string_view::npos && space < colon)) {
    // A request line: METHOD target VERSION.
    if (space == std::string_view::npos) return std::string(kMasked);
    const size_t target_end = std::min(line.find(' ', space + 1), line.size());
    return std::string(line.substr(0, space + 1)) +
           MaskUrl(line.substr(space + 1, target_end - space - 1)) +
           std::string(line.substr(target_end));
  }
  const std::string name(line.substr(0, colon));
  const std::string lower = AsciiLower(name);
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (lower == "location" || lower == "content-location") return name + ": " + MaskUrl(value);
  if (IsHarmlessHeader(lower)) return name + ": " + std::string(value);
  return name + ": " + std::string(kMasked);
}

std::string PrintableExcerpt(std::string_view data, size_t max) {
  std::string out;
  const std::string_view shown = data.substr(0, max);
  for (const char c : shown) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 0x20 && u < 0x7f) || c == '\n' || c == '\t') {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  if (data.size() > max) out += "...";
  return out;
}

}  // namespace hx
