#include "checks/common/curl_transfer.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "build_info.h"
#include "checks/common/failure_reasons.h"
#include "checks/common/tls_options.h"
#include "io/attempt_trace.h"
#include "io/curl_multi.h"
#include "util/fd_shortage.h"

namespace hx {

namespace {

void RecordNotAfter(CertExpiryRecorder& recorder, X509* cert) {
  if (cert == nullptr) return;
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  std::tm tm{};
  if (not_after == nullptr || ASN1_TIME_to_tm(not_after, &tm) != 1) return;
  recorder.Record(static_cast<int64_t>(timegm(&tm)));
}

// Replaces OpenSSL's chain verification: records the presented chain's
// expiry, then verifies as usual. OpenSSL runs it even when verification is
// off (the result is then ignored), so expiry is known with
// insecure_skip_verify and also when verification fails.
int VerifyAndRecordExpiry(X509_STORE_CTX* store, void* arg) {
  auto* recorder = static_cast<CertExpiryRecorder*>(arg);
  RecordNotAfter(*recorder, X509_STORE_CTX_get0_cert(store));
  STACK_OF(X509)* presented = X509_STORE_CTX_get0_untrusted(store);
  if (presented != nullptr) {
    for (int i = 0; i < sk_X509_num(presented); ++i) {
      RecordNotAfter(*recorder, sk_X509_value(presented, i));
    }
  }
  const int verified = X509_verify_cert(store);
  if (AttemptTrace* trace = recorder->trace()) {
    // The chain as presented, also when verification fails or is off: curl's
    // own CURLINFO_CERTINFO is only filled after a handshake that succeeded.
    const auto* ssl = static_cast<const SSL*>(
        X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    const bool verifying = ssl != nullptr && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0;
    TraceCertificateChain(*trace, X509_STORE_CTX_get0_cert(store), presented,
                          verified == 1 ? X509_V_OK : X509_STORE_CTX_get_error(store), verifying);
  }
  return verified;
}

int OnCurlDebug(CURL* /*easy*/, curl_infotype type, char* data, size_t size, void* user) {
  static_cast<CurlTransferTrace*>(user)->OnDebug(type, data, size);
  return 0;
}

// curl's informational lines worth showing: where it connects and what TLS
// it negotiated. Others are left out: curl 7.88 logs HTTP/2 request headers
// as text ("h2h3 [authorization: ...]"), which would bypass the masking.
const char* ConnectStepOf(std::string_view line) {
  static constexpr std::pair<std::string_view, const char*> kShown[] = {
      {"Trying ", "connect"},
      {"Connected to ", "connect"},
      {"connect to ", "connect"},
      {"Failed to connect", "connect"},
      {"Immediate connect fail", "connect"},
      {"SSL connection using ", "tls"},
      {"ALPN: server accepted", "tls"},
      {"ALPN, server accepted", "tls"},
      {"ALPN: server did not agree", "tls"},
      {"Issue another request", "redirect"},
  };
  for (const auto& [prefix, step] : kShown) {
    if (line.substr(0, prefix.size()) == prefix) return step;
  }
  return nullptr;
}

std::string_view TrimLineEnd(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

CURLcode OnSslContext(CURL* /*easy*/, void* ssl_ctx, void* user) {
  SSL_CTX_set_cert_verify_callback(static_cast<SSL_CTX*>(ssl_ctx), &VerifyAndRecordExpiry, user);
  return CURLE_OK;
}

std::string AddressWithPort(const char* ip, long port) {
  const bool v6 = std::strchr(ip, ':') != nullptr;
  std::string out;
  if (v6) out += '[';
  out += ip;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace

bool SetFreshConnectionOptions(CURL* e, char* error_buffer) {
  static const std::string kUserAgent = std::string("health_exporter/") + build::kVersion;
  bool ok = true;
  auto set = [&ok](CURLcode rc) { ok = ok && rc == CURLE_OK; };
  set(curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L));
  // A new connection per attempt, so each one measures what a new client sees.
  set(curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L));
  set(curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L));
  // The handle comes from a pool: a TLS session cached by an earlier user
  // must not turn this attempt's handshake into a resumption.
  set(curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L));
  set(curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L));
  // Without this, removing a transfer whose threaded DNS lookup still runs
  // (the scheduler's timeout) joins the resolver thread and blocks the loop
  // for as long as the resolver hangs; with it the thread is left to finish.
  set(curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L));
  // Check the target itself, not whatever proxy the environment names.
  set(curl_easy_setopt(e, CURLOPT_PROXY, ""));
  set(curl_easy_setopt(e, CURLOPT_USERAGENT, kUserAgent.c_str()));
  set(curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, kCurlSafetyTimeoutMs));
  set(curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer));
  return ok;
}

bool ApplyTlsOptions(CURL* e, const TlsOptions& tls) {
  bool ok = true;
  auto set = [&ok](CURLcode rc) { ok = ok && rc == CURLE_OK; };
  if (!tls.ca_file.empty()) set(curl_easy_setopt(e, CURLOPT_CAINFO, tls.ca_file.c_str()));
  if (!tls.cert_file.empty()) {
    set(curl_easy_setopt(e, CURLOPT_SSLCERT, tls.cert_file.c_str()));
    set(curl_easy_setopt(e, CURLOPT_SSLKEY, tls.key_file.c_str()));
  }
  if (tls.insecure_skip_verify) {
    set(curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L));
    set(curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L));
  }
  return ok;
}

void CertExpiryRecorder::Install(CURL* easy) {
  curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, &OnSslContext);
  curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, this);
}

void CertExpiryRecorder::Record(int64_t not_after_seconds) {
  if (!earliest_not_after_ || not_after_seconds < *earliest_not_after_) {
    earliest_not_after_ = not_after_seconds;
  }
}

void CertExpiryRecorder::AddObservation(std::vector<Observation>& out) const {
  if (earliest_not_after_) {
    out.emplace_back(ObservationId::kTlsCertExpiryTimestampSeconds,
                     static_cast<double>(*earliest_not_after_));
  }
}

constexpr size_t kTraceBodyBytes = 512;

void CurlTransferTrace::Install(CURL* easy) {
  curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, &OnCurlDebug);
  curl_easy_setopt(easy, CURLOPT_DEBUGDATA, this);
  curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);
}

void CurlTransferTrace::OnDebug(curl_infotype type, const char* data, size_t size) {
  const std::string_view text(data, size);
  switch (type) {
    case CURLINFO_TEXT: {
      std::string_view line = TrimLineEnd(text);
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      if (const char* step = ConnectStepOf(line)) trace_.Add(step, std::string(line));
      break;
    }
    case CURLINFO_HEADER_OUT: {
      // The whole request head in one block.
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = TrimLineEnd(text.substr(start, end - start));
        if (!line.empty()) trace_.Add("request", MaskHeaderLine(line));
        start = end + 1;
      }
      break;
    }
    case CURLINFO_HEADER_IN: {
      const std::string_view line = TrimLineEnd(text);
      if (line.empty()) break;
      if (line.substr(0, 5) == "HTTP/") {  // a new response (after a redirect or 100)
        body_.clear();
        body_bytes_ = 0;
      }
      trace_.Add("response", MaskHeaderLine(line));
      break;
    }
    case CURLINFO_DATA_OUT:
      trace_.Add("request", "(body of " + std::to_string(size) + " bytes, not shown)");
      break;
    case CURLINFO_DATA_IN:
      if (body_.size() < kTraceBodyBytes + 1) {
        body_.append(text.substr(0, kTraceBodyBytes + 1 - body_.size()));
      }
      body_bytes_ += size;
      break;
    default:
      break;
  }
}

void CurlTransferTrace::Finished(CURL* /*easy*/) {
  if (body_bytes_ == 0) return;
  trace_.Add("body", "first " + std::to_string(std::min(body_bytes_, kTraceBodyBytes)) + " of " +
                         std::to_string(body_bytes_) + " bytes:\n" +
                         PrintableExcerpt(body_, kTraceBodyBytes));
}

std::string OsErrorText(long os_errno) {
  switch (os_errno) {
    case ECONNREFUSED:
      return "connection refused";
    case ECONNRESET:
      return "connection reset by peer";
    case ETIMEDOUT:
      return "connection timed out";
    case EHOSTUNREACH:
      return "host unreachable";
    case ENETUNREACH:
      return "network unreachable";
    default:
      return "";
  }
}

CurlFailure DescribeCurlFailure(CURLcode code, CURL* easy, const char* error_buffer,
                                CurlFailureHook own) {
  long os_errno = 0;
  curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
  // Out of descriptors, curl cannot open a socket and says "could not
  // connect" (sometimes without the errno): the daemon's problem, not the
  // target's.
  if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
      IsFdShortage(static_cast<int>(os_errno))) {
    if (const int shortage = ProbeFdShortage(static_cast<int>(os_errno))) {
      return {FailureReason::kInternal,
              ReportFdShortage(shortage, "cannot open a connection; the target was not tried")};
    }
  }
  if (own != nullptr) {
    if (CurlFailure failure = own(code, easy, error_buffer); !failure.detail.empty()) {
      return failure;
    }
  }
  const std::string os_text = OsErrorText(os_errno);
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return {FailureReason::kDnsError, "could not resolve host"};
    case CURLE_COULDNT_CONNECT: {
      // libuv's codes are negated errnos on Unix.
      FailureReason reason = ReasonOfSocketError(-static_cast<int>(os_errno));
      if (reason != FailureReason::kConnectTimeout &&
          reason != FailureReason::kNetworkUnreachable && reason != FailureReason::kInternal) {
        reason = FailureReason::kConnectRefused;
      }
      return {reason, os_text.empty() ? "could not connect" : os_text};
    }
    case CURLE_OPERATION_TIMEDOUT:
      return {CurlMicroseconds(easy, CURLINFO_CONNECT_TIME_T) > 0 ? FailureReason::kTimeout
                                                                  : FailureReason::kConnectTimeout,
              "timed out"};
    case CURLE_PEER_FAILED_VERIFICATION: {
      // curl checks the host name itself after OpenSSL accepted the chain,
      // and then reports X509_V_ERR_UNSPECIFIED; only its message tells.
      if (std::strstr(error_buffer, "host name") != nullptr) {
        return {FailureReason::kTlsHostname, "TLS: certificate does not match host name"};
      }
      long verify_result = X509_V_OK;
      curl_easy_getinfo(easy, CURLINFO_SSL_VERIFYRESULT, &verify_result);
      if (verify_result != X509_V_OK && verify_result != X509_V_ERR_UNSPECIFIED) {
        return {ReasonOfCertificateError(verify_result),
                std::string("TLS: certificate verify failed: ") +
                    X509_verify_cert_error_string(verify_result)};
      }
      return {FailureReason::kTlsUntrusted, "TLS: certificate verify failed"};
    }
    case CURLE_SSL_CONNECT_ERROR:
      return {FailureReason::kTlsHandshake,
              "TLS handshake failed: " +
                  std::string(error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code))};
    case CURLE_SSL_CERTPROBLEM:
      return {FailureReason::kInternal, "TLS: cannot use the client certificate"};
    case CURLE_SSL_CACERT_BADFILE:
      return {FailureReason::kInternal, "TLS: cannot load the CA file"};
    case CURLE_GOT_NOTHING:
      return {FailureReason::kConnectionClosed, "server closed the connection without a response"};
    case CURLE_RECV_ERROR:
      return {FailureReason::kConnectionClosed, os_text.empty() ? "receive failed" : os_text};
    case CURLE_SEND_ERROR:
      return {FailureReason::kConnectionClosed, os_text.empty() ? "send failed" : os_text};
    case CURLE_PARTIAL_FILE:
      return {FailureReason::kConnectionClosed,
              "the connection ended in the middle of the response"};
    case CURLE_WEIRD_SERVER_REPLY:
      return {FailureReason::kProtocolError, "invalid HTTP response"};
    default: {
      std::string text = curl_easy_strerror(code);
      if (!text.empty()) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
      }
      FailureReason reason = FailureReason::kProtocolError;
      switch (code) {
        case CURLE_OUT_OF_MEMORY:
        case CURLE_FAILED_INIT:
        case CURLE_BAD_FUNCTION_ARGUMENT:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CRL_BADFILE:
          reason = FailureReason::kInternal;
          break;
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
          reason = FailureReason::kTlsUntrusted;
          break;
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CLIENTCERT:
          reason = FailureReason::kTlsHandshake;
          break;
        default:
          break;
      }
      return {reason, std::move(text)};
    }
  }
}

std::string CurlPrimaryAddress(CURL* easy) {
  char* ip = nullptr;
  long port = 0;
  if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip) != CURLE_OK || ip == nullptr ||
      ip[0] == '\0') {
    return "";
  }
  curl_easy_getinfo(easy, CURLINFO_PRIMARY_PORT, &port);
  return AddressWithPort(ip, port);
}

double CurlMicroseconds(CURL* easy, CURLINFO info) {
  curl_off_t value = 0;
  curl_easy_getinfo(easy, info, &value);
  return static_cast<double>(value);
}

void AddPhaseObservations(CURL* easy, uint64_t resolver_dns_ns, ObservationId id,
                          std::vector<Observation>& out) {
  // With redirects curl sums each timer over all requests, so these are
  // totals too.
  const double dns = CurlMicroseconds(easy, CURLINFO_NAMELOOKUP_TIME_T);
  const double resolver_dns = static_cast<double>(resolver_dns_ns) / 1e3;
  const double connect = CurlMicroseconds(easy, CURLINFO_CONNECT_TIME_T);
  const double appconnect = CurlMicroseconds(easy, CURLINFO_APPCONNECT_TIME_T);
  const double start_transfer = CurlMicroseconds(easy, CURLINFO_STARTTRANSFER_TIME_T);
  const double total = CurlMicroseconds(easy, CURLINFO_TOTAL_TIME_T);
  auto phase = [&](const char* name, double micros) {
    out.emplace_back(id, std::max(0.0, micros) / 1e6, name);
  };
  phase("dns", resolver_dns + dns);
  phase("connect", connect - dns);
  phase("tls", appconnect > 0 ? appconnect - connect : 0);
  phase("processing", start_transfer - std::max(appconnect, connect));
  phase("transfer", total - start_transfer);
}

std::string CurlResolveEntry(const std::string& host, const std::string& port,
                             const std::vector<std::string>& addresses) {
  std::string entry = host + ":" + port + ":";
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (i > 0) entry += ',';
    const bool v6 = addresses[i].find(':') != std::string::npos;
    entry += v6 ? "[" + addresses[i] + "]" : addresses[i];
  }
  return entry;
}

CurlCheck::Target CurlCheck::Target::PinnedTo(const std::string& address) const {
  Target pinned = *this;
  pinned.connect_host = address;
  pinned.connect_host_is_ip = true;
  pinned.fixed_resolve = CurlResolveEntry(request_host, port, {address});
  return pinned;
}

CurlNameStep::~CurlNameStep() { curl_slist_free_all(resolve_); }

bool CurlNameStep::SetList(CURL* easy, const std::string& entry) {
  curl_slist_free_all(resolve_);
  resolve_ = curl_slist_append(nullptr, entry.c_str());
  return resolve_ != nullptr && curl_easy_setopt(easy, CURLOPT_RESOLVE, resolve_) == CURLE_OK;
}

bool CurlNameStep::SetFixed(CURL* easy, const std::string& entry) { return SetList(easy, entry); }

void CurlNameStep::Start(Resolver& resolver, CURL* easy, const std::string& connect_host,
                         IpProtocol protocol, std::string request_host, std::string port,
                         Callback done, AttemptTrace* trace) {
  easy_ = easy;
  request_host_ = std::move(request_host);
  port_ = std::move(port);
  done_ = std::move(done);
  // The callback never runs inside Resolve(), so resolving_ is in place.
  resolving_ = resolver.Resolve(
      connect_host, protocol, [this](ResolveResult resolved) { OnResolved(std::move(resolved)); },
      trace);
}

void CurlNameStep::OnResolved(ResolveResult resolved) {
  resolving_.reset();  // already delivered: only frees the handle
  dns_ns_ = resolved.duration_ns;
  // Moved out: `done` may destroy this step.
  Callback done = std::move(done_);
  if (!resolved.error.empty()) {
    done(ReasonOfFailedLookup(resolved.failure), std::move(resolved.error));
    return;
  }
  std::vector<std::string> addresses;
  addresses.reserve(resolved.addresses.size());
  for (const auto& a : resolved.addresses) addresses.push_back(AddressText(a));
  const bool set = SetList(easy_, CurlResolveEntry(request_host_, port_, addresses));
  if (!addresses.empty()) first_address_ = std::move(addresses.front());
  if (!set) {
    done(FailureReason::kInternal, "internal error: cannot hand curl the addresses");
    return;
  }
  done(FailureReason::kNone, "");
}

CurlCheck::Attempt::~Attempt() {
  // Resets every option first, so the lists below are no longer referenced.
  if (easy != nullptr) curl->ReleaseEasy(easy);
  curl_slist_free_all(headers);
}

CurlCheck::CurlCheck(CurlMulti& curl, Resolver& resolver, Target target, std::string what)
    : curl_(curl), resolver_(resolver), target_(std::move(target)), what_(std::move(what)) {}

CurlCheck::~CurlCheck() { Cancel(); }

void CurlCheck::Start(DoneCallback done) {
  Cancel();  // the scheduler never overlaps attempts; be safe if someone does
  std::unique_ptr<Attempt> attempt = NewAttempt();
  attempt->done = std::move(done);
  attempt->curl = &curl_;
  attempt->easy = curl_.AcquireEasy();
  bool ok = attempt->easy != nullptr && SetFreshConnectionOptions(attempt->easy, attempt->error);
  if (ok) {
    attempt->expiry.Install(attempt->easy);
    if (AttemptTrace* traced = trace()) {
      attempt->expiry.set_trace(traced);
      attempt->traced = std::make_unique<CurlTransferTrace>(*traced);
      attempt->traced->Install(attempt->easy);
    }
    if (!target_.fixed_resolve.empty()) {
      ok = attempt->names.SetFixed(attempt->easy, target_.fixed_resolve);
    }
  }
  if (!ok || !Configure(*attempt)) {
    DoneCallback cb = std::move(attempt->done);
    attempt.reset();
    cb(CheckResult::Unhealthy(FailureReason::kInternal,
                              "internal error: cannot set up the " + what_ + " request"));
    return;
  }
  attempt_ = std::move(attempt);
  if (target_.connect_host_is_ip) {
    StartTransfer();
    return;
  }
  attempt_->names.Start(
      resolver_, attempt_->easy, target_.connect_host, target_.ip_protocol, target_.request_host,
      target_.port,
      [this](FailureReason reason, std::string error) { OnResolved(reason, std::move(error)); },
      trace());
}

void CurlCheck::OnResolved(FailureReason reason, std::string error) {
  if (!error.empty()) {
    Finish(LookupFailed(reason, std::move(error), attempt_->names.dns_ns()));
    return;
  }
  StartTransfer();
}

void CurlCheck::StartTransfer() {
  if (!curl_.Add(attempt_->easy, [this](CURLcode code) { OnTransferDone(code); })) {
    Finish(CheckResult::Unhealthy(FailureReason::kInternal,
                                  "internal error: cannot start the " + what_ + " request"));
  }
}

void CurlCheck::Finish(CheckResult result) {
  // Detach first: `done` may destroy this check or start the next attempt.
  std::unique_ptr<Attempt> a = std::move(attempt_);
  DoneCallback done = std::move(a->done);
  a.reset();  // the handle is out of the multi handle (or never was in it)
  done(std::move(result));
}

void CurlCheck::Cancel() {
  if (!attempt_) return;
  // Closes the connection if the transfer runs; cancels the lookup if that
  // runs. No callback after this.
  curl_.Remove(attempt_->easy);
  attempt_.reset();
}

void CurlCheck::OnTransferDone(CURLcode code) {
  // Detach first: `done` may destroy this check or start the next attempt.
  std::unique_ptr<Attempt> a = std::move(attempt_);
  if (a->traced) a->traced->Finished(a->easy);
  CheckResult result = Evaluate(code, *a);
  // Evidence for a failure only: a healthy attempt pays nothing for it.
  if (result.health != Health::kHealthy && result.address.empty()) {
    result.address = CurlPrimaryAddress(a->easy);
    // curl names the address of a connection that was made, not of one that
    // failed: then the address it was given (the first, when several).
    if (result.address.empty()) {
      const std::string& ip =
          target_.connect_host_is_ip ? target_.connect_host : a->names.first_address();
      long port = 0;
      const char* digits = target_.port.c_str();
      std::from_chars(digits, digits + target_.port.size(), port);  // validated at parse
      if (!ip.empty()) result.address = AddressWithPort(ip.c_str(), port);
    }
  }
  DoneCallback done = std::move(a->done);
  a.reset();  // the handle is already out of the multi handle
  done(std::move(result));
}

}  // namespace hx
