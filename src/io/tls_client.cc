#include "io/tls_client.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <utility>

#include "io/attempt_trace.h"

namespace hx {
namespace {

// The reason of the most recent OpenSSL error, for messages; drains the
// thread's error queue so a stale error never leaks into a later message.
std::string TakeOpenSslError() {
  std::string reason;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    if (reason.empty()) {
      const char* text = ERR_reason_error_string(code);
      reason = text != nullptr ? text : "error " + std::to_string(ERR_GET_REASON(code));
    }
  }
  return reason.empty() ? "unknown error" : reason;
}

bool IsIpAddress(const std::string& name) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

std::optional<int64_t> ToUnixSeconds(const ASN1_TIME* time) {
  struct tm tm {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

std::shared_ptr<const TlsClientContext> TlsClientContext::Create(const TlsClientSettings& settings,
                                                                 std::string* error) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    *error = "cannot create TLS context: " + TakeOpenSslError();
    return nullptr;
  }
  // Wrap at once so every early return below frees the context.
  std::shared_ptr<const TlsClientContext> result(new TlsClientContext(ctx, settings.verify_peer));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (settings.verify_peer) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    const bool loaded = settings.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx) == 1
                                                 : SSL_CTX_load_verify_locations(
                                                       ctx, settings.ca_file.c_str(), nullptr) == 1;
    if (!loaded) {
      *error = settings.ca_file.empty()
                   ? "cannot load the system CA store: " + TakeOpenSslError()
                   : "cannot load CA file \"" + settings.ca_file + "\": " + TakeOpenSslError();
      return nullptr;
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!settings.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, settings.cert_file.c_str()) != 1) {
      *error = "cannot load certificate \"" + settings.cert_file + "\": " + TakeOpenSslError();
      return nullptr;
    }
    // Never quote the key file's content; its path is enough.
    if (SSL_CTX_use_PrivateKey_file(ctx, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      *error = "cannot load key \"" + settings.key_file + "\": " + TakeOpenSslError();
      return nullptr;
    }
  }
  return result;
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

TlsClient::TlsClient(std::shared_ptr<const TlsClientContext> context,
                     const std::string& server_name)
    : context_(std::move(context)) {
  ssl_ = SSL_new(context_->native());
  if (ssl_ == nullptr) {
    error_ = "cannot create TLS connection: " + TakeOpenSslError();
    return;
  }
  SSL_set_bio(ssl_, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_connect_state(ssl_);
  if (server_name.empty()) return;
  const bool is_ip = IsIpAddress(server_name);
  // RFC 6066 forbids IP literals in SNI.
  if (!is_ip) SSL_set_tlsext_host_name(ssl_, server_name.c_str());
  if (context_->verify_peer()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str())
                         : X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), 0);
    if (ok != 1) error_ = "invalid server name \"" + server_name + "\"";
  }
}

TlsClient::~TlsClient() { SSL_free(ssl_); }

void TlsClient::StartHandshake() { Advance(); }

void TlsClient::FeedCiphertext(std::string_view data) {
  if (failed()) return;
  if (!data.empty()) BIO_write(SSL_get_rbio(ssl_), data.data(), static_cast<int>(data.size()));
  Advance();
}

void TlsClient::WritePlaintext(std::string_view data) {
  pending_plaintext_out_.append(data);
  Advance();
}

void TlsClient::Advance() {
  if (failed()) return;
  ERR_clear_error();
  if (!handshake_done_) {
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      const int err = SSL_get_error(ssl_, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        Fail(err);
        if (trace_ != nullptr) TraceHandshake();
      }
      return;
    }
    handshake_done_ = true;
    if (trace_ != nullptr) TraceHandshake();
  }
  if (!pending_plaintext_out_.empty()) {
    // Memory BIOs grow as needed, so a write either completes or fails.
    const int rc = SSL_write(ssl_, pending_plaintext_out_.data(),
                             static_cast<int>(pending_plaintext_out_.size()));
    if (rc <= 0) {
      Fail(SSL_get_error(ssl_, rc));
      return;
    }
    pending_plaintext_out_.erase(0, static_cast<size_t>(rc));
  }
  char buf[16 * 1024];
  while (true) {
    const int rc = SSL_read(ssl_, buf, sizeof(buf));
    if (rc > 0) {
      plaintext_in_.append(buf, static_cast<size_t>(rc));
      continue;
    }
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
    } else if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      Fail(err);
    }
    return;
  }
}

void TlsClient::Fail(int ssl_error) {
  const long verify = SSL_get_verify_result(ssl_);
  if (context_->verify_peer() && verify != X509_V_OK) {
    ERR_clear_error();
    verify_error_ = verify;
    error_ = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  } else if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_SSL) {
    error_ = TakeOpenSslError();
  } else {
    ERR_clear_error();
    error_ = "TLS error " + std::to_string(ssl_error);
  }
}

void TlsClient::TraceHandshake() const {
  if (ssl_ == nullptr) return;
  trace_->Add("tls", handshake_done_ ? std::string("handshake done: ") + SSL_get_version(ssl_) +
                                           ", " + SSL_get_cipher_name(ssl_)
                                     : "handshake failed: " + error_);
  // On the client side the chain includes the leaf certificate.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_);
  if (chain == nullptr && SSL_get0_peer_certificate(ssl_) == nullptr) return;  // none received
  TraceCertificateChain(*trace_, SSL_get0_peer_certificate(ssl_), chain,
                        SSL_get_verify_result(ssl_), context_->verify_peer());
}

std::string TlsClient::TakeCiphertext() {
  std::string out;
  if (ssl_ == nullptr) return out;
  BIO* wbio = SSL_get_wbio(ssl_);
  const size_t pending = BIO_ctrl_pending(wbio);
  if (pending == 0) return out;
  out.resize(pending);
  const int n = BIO_read(wbio, out.data(), static_cast<int>(pending));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

std::string TlsClient::TakePlaintext() { return std::exchange(plaintext_in_, {}); }

std::string TlsClient::version() const {
  if (ssl_ == nullptr || !handshake_done_) return "";
  return SSL_get_version(ssl_);
}

std::optional<int64_t> TlsClient::PeerEarliestNotAfter() const {
  if (ssl_ == nullptr) return std::nullopt;
  std::optional<int64_t> earliest;
  auto consider = [&](X509* cert) {
    auto t = ToUnixSeconds(X509_get0_notAfter(cert));
    if (t && (!earliest || *t < *earliest)) earliest = t;
  };
  // On the client side the chain includes the leaf certificate.
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_)) {
    for (int i = 0; i < sk_X509_num(chain); ++i) consider(sk_X509_value(chain, i));
  } else if (X509* leaf = SSL_get0_peer_certificate(ssl_)) {
    consider(leaf);
  }
  return earliest;
}

}  // namespace hx
