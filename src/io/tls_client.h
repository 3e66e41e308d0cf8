#pragma once
// Client-side TLS over a stream the caller drives (e.g. a libuv TCP handle),
// using OpenSSL memory BIOs: the caller feeds ciphertext it read from the
// network, writes out the ciphertext TlsClient produces, and takes the
// plaintext that was decrypted. No sockets and no blocking here, so the same
// class serves any loop-driven transport.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

// OpenSSL's own names, declared here so this header needs no OpenSSL include.
using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;

namespace hx {

class AttemptTrace;

/// What a TLS client trusts and presents. Plain data.
struct TlsClientSettings {
  std::string ca_file;      ///< PEM bundle of trusted CAs; empty: the system store
  std::string cert_file;    ///< client certificate chain (PEM); empty: none
  std::string key_file;     ///< client private key (PEM), with cert_file
  bool verify_peer = true;  ///< false accepts any certificate (insecure_skip_verify)
};

/// An OpenSSL client context built once from settings (loading CA files and
/// keys is far too slow to repeat per connection). Immutable after Create;
/// OpenSSL contexts may be shared between connections and threads, so this is
/// thread-safe.
class TlsClientContext {
 public:
  /// Returns nullptr and sets *error (e.g. `cannot load CA file "x": ...`) on failure.
  static std::shared_ptr<const TlsClientContext> Create(const TlsClientSettings& settings,
                                                        std::string* error);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* native() const { return ctx_; }
  bool verify_peer() const { return verify_peer_; }

 private:
  TlsClientContext(SSL_CTX* ctx, bool verify_peer) : ctx_(ctx), verify_peer_(verify_peer) {}
  SSL_CTX* ctx_;
  bool verify_peer_;
};

/// One TLS client connection as a state machine over byte buffers. Not
/// thread-safe; used from the thread that owns the transport (the loop thread).
///
/// Usage: StartHandshake(), then repeatedly: write TakeCiphertext() to the
/// network; pass bytes read from the network to FeedCiphertext(); use
/// WritePlaintext() and TakePlaintext() for application data.
class TlsClient {
 public:
  /// `server_name` is sent as SNI (unless it is an IP address) and, when the
  /// context verifies peers, checked against the certificate (DNS name or IP).
  TlsClient(std::shared_ptr<const TlsClientContext> context, const std::string& server_name);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  /// Adds the handshake's outcome to `trace` (the debug run; it must
  /// outlive this client): the negotiated version, the presented chain and
  /// its verification. Null (the default): not traced.
  void set_trace(AttemptTrace* trace) { trace_ = trace; }

  /// Produces the ClientHello (see TakeCiphertext()).
  void StartHandshake();
  /// Processes bytes received from the peer: advances the handshake and
  /// decrypts application data into the plaintext buffer.
  void FeedCiphertext(std::string_view data);
  /// Encrypts application data; data written before the handshake is done is
  /// held back and sent when it completes.
  void WritePlaintext(std::string_view data);

  /// Ciphertext waiting to be written to the network (moved out).
  std::string TakeCiphertext();
  /// Decrypted application data received so far (moved out).
  std::string TakePlaintext();

  bool handshake_done() const { return handshake_done_; }
  /// True after a fatal error; see error().
  bool failed() const { return !error_.empty(); }
  /// Why the connection failed, e.g. "certificate verify failed: self-signed
  /// certificate"; empty when it has not.
  const std::string& error() const { return error_; }
  /// The peer's certificate failed verification: OpenSSL's verify result
  /// (X509_V_ERR_*, e.g. X509_V_ERR_CERT_HAS_EXPIRED); 0 (X509_V_OK) when the
  /// connection has not failed or failed for another reason.
  long verify_error() const { return verify_error_; }
  /// The peer sent close_notify.
  bool peer_closed() const { return peer_closed_; }

  /// The earliest NotAfter of the certificates the peer presented, as unix
  /// seconds; nullopt before the peer's certificates were received. Also set
  /// after a handshake that failed verification (the chain was received).
  std::optional<int64_t> PeerEarliestNotAfter() const;

  /// The negotiated protocol, e.g. "TLSv1.3"; empty before the handshake is done.
  std::string version() const;

 private:
  void Advance();
  void Fail(int ssl_error);
  void TraceHandshake() const;

  std::shared_ptr<const TlsClientContext> context_;
  SSL* ssl_ = nullptr;
  std::string pending_plaintext_out_;  // written before the handshake finished
  std::string plaintext_in_;
  bool handshake_done_ = false;
  bool peer_closed_ = false;
  std::string error_;
  long verify_error_ = 0;
  AttemptTrace* trace_ = nullptr;
};

}  // namespace hx
