#include "checks/tcp/tcp_check.h"

#include <re2/re2.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "checks/common/failure_reasons.h"
#include "checks/common/host_port.h"
#include "checks/common/ip_policy.h"
#include "checks/common/ip_protocol.h"
#include "io/attempt_trace.h"
#include "io/io_context.h"
#include "io/tls_client.h"
#include "util/duration.h"
#include "util/fd_shortage.h"
#include "util/quote.h"

namespace hx {
namespace {

// The reason of a TLS connection that failed: the certificate's problem when
// verification failed, else the handshake's.
FailureReason ReasonOfTlsFailure(const TlsClient& tls) {
  return tls.verify_error() != 0 ? ReasonOfCertificateError(tls.verify_error())
                                 : FailureReason::kTlsHandshake;
}

}  // namespace

TcpCheckSpec::TcpCheckSpec(TcpCheckSettings settings)
    : settings_(std::make_shared<const TcpCheckSettings>(std::move(settings))) {}

std::unique_ptr<Check> TcpCheckSpec::CreateCheck(const CheckContext& context) const {
  return std::make_unique<TcpCheck>(context.io, settings_);
}

std::string TcpCheckSpec::Target() const {
  const TcpCheckSettings& s = *settings_;
  const bool v6 = s.host.find(':') != std::string::npos;
  std::string target = s.tls ? "tls://" : "";
  target += v6 ? "[" + s.host + "]" : s.host;
  target += ":" + std::to_string(s.port);
  return target;
}

std::shared_ptr<const TcpCheckSpec> ParseTcpCheckSpec(config::MapReader& reader) {
  TcpCheckSettings settings;
  ReadAddressKey(reader, &settings.host, &settings.port);
  if (auto send = reader.String("send")) settings.send = std::move(*send);
  if (reader.Has("expect")) settings.expect = reader.Regex("expect");
  if (reader.Has("tls")) {
    auto node = reader.Node("tls");
    if (node && node->IsMap()) {
      if (auto tls = reader.Map("tls")) settings.tls = ParseTlsOptions(*tls);
    } else if (node && node->IsScalar()) {
      if (auto enabled = reader.Bool("tls"); enabled && *enabled) settings.tls = TlsOptions{};
    } else {
      reader.Error("tls", "must be true, false or a mapping");
    }
  }
  settings.ip_protocol = ReadIpProtocol(reader);
  settings.ip_policy = ReadIpPolicy(reader);
  if (!reader.Finish()) return nullptr;
  return std::make_shared<const TcpCheckSpec>(std::move(settings));
}

CheckType TcpCheckType() { return {"tcp", &ParseTcpCheckSpec}; }

// One attempt's libuv state (see checks/common/attempt.h for its lifetime): a
// handle's memory must outlive its close callback.
class TcpCheck::TcpAttempt final : public Attempt {
 public:
  // read_buffer_ is left uninitialised on purpose: libuv fills it before any
  // byte is read, and zeroing it for every attempt would be wasted work.
  // cppcheck-suppress uninitMemberVar
  explicit TcpAttempt(const TcpCheck& owner)
      : settings_(owner.settings_),
        tls_context_(owner.tls_context_),
        loop_(owner.io_.loop()),
        resolver_(owner.io_.resolver()) {
    connect_req_.data = this;
  }

 private:
  struct WriteOp {
    uv_write_t req;
    std::string bytes;
    TcpAttempt* attempt;
    int connection;  // a write of an ended connection reports nothing
  };

  void Begin() override {
    started_ns_ = uv_hrtime();
    // An IP literal needs no resolver: connect at once.
    sockaddr_storage numeric{};
    if (uv_ip4_addr(settings_->host.c_str(), settings_->port,
                    reinterpret_cast<sockaddr_in*>(&numeric)) == 0 ||
        uv_ip6_addr(settings_->host.c_str(), settings_->port,
                    reinterpret_cast<sockaddr_in6*>(&numeric)) == 0) {
      addresses_.push_back(numeric);
      ConnectNext(UV_EAI_NODATA);
      return;
    }
    ResolveThen(resolver_, settings_->host, settings_->ip_protocol,
                [this](ResolveResult r) { OnResolved(std::move(r)); });
  }

  void Release() override { CloseSocket(); }

  void OnResolved(ResolveResult resolved) {
    if (!resolved.error.empty()) {
      Finish(ResolveFailed(resolved));
      return;
    }
    for (sockaddr_storage& addr : resolved.addresses) {
      if (addr.ss_family == AF_INET) {
        reinterpret_cast<sockaddr_in&>(addr).sin_port = htons(settings_->port);
      } else {
        reinterpret_cast<sockaddr_in6&>(addr).sin6_port = htons(settings_->port);
      }
      addresses_.push_back(addr);
    }
    ConnectNext(UV_EAI_NODATA);
  }

  // Connects to the next resolved address; `last_error` is reported when
  // none is left.
  void ConnectNext(int last_error) {
    if (IsFdShortage(last_error)) {
      // No socket could be made: another address would fare no better.
      Finish(CheckResult::Unhealthy(
          FailureReason::kInternal,
          ReportFdShortage(last_error, "cannot open a socket; the target was not tried")));
      return;
    }
    if (next_address_ >= addresses_.size()) {
      CheckResult result =
          last_error == UV_EAI_NODATA
              ? CheckResult::Unhealthy(FailureReason::kDnsError,
                                       "could not resolve host " + Quote(settings_->host))
              : CheckResult::Unhealthy(ReasonOfSocketError(last_error),
                                       std::string(uv_strerror(last_error)));
      // ip_policy first: the last address tried is the one whose error this is.
      if (next_address_ > 0) {
        result.address = AddressPortText(addresses_[next_address_ - 1], settings_->port);
      }
      Finish(std::move(result));
      return;
    }
    const sockaddr_storage& addr = addresses_[next_address_++];
    ++connection_;
    // ip_policy all: each address's time is its own.
    if (settings_->ip_policy == IpPolicy::kAll) started_ns_ = uv_hrtime();
    socket_ = new uv_tcp_t;
    uv_tcp_init(loop_, socket_);
    socket_->data = this;
    const int rc = uv_tcp_connect(&connect_req_, socket_, reinterpret_cast<const sockaddr*>(&addr),
                                  &TcpAttempt::OnConnected);
    if (rc < 0) {
      ConnectFailed(rc);
      return;
    }
    ExpectCallback();
  }

  // ip_policy first: on to the next address. all: this address failed.
  void ConnectFailed(int error) {
    CloseSocket();
    if (settings_->ip_policy == IpPolicy::kAll && !IsFdShortage(error)) {
      EndConnection(CheckResult::Unhealthy(ReasonOfSocketError(error), uv_strerror(error)));
    } else {
      ConnectNext(error);
    }
  }

  static void OnConnected(uv_connect_t* req, int status) {
    auto* self = static_cast<TcpAttempt*>(req->data);
    CallbackGuard guard(self);
    if (!guard.over()) self->HandleConnected(status);
  }

  void HandleConnected(int status) {
    TraceConnect(check()->trace(), addresses_[next_address_ - 1], status);
    if (status < 0) {
      ConnectFailed(status);
      return;
    }
    const int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(socket_), &TcpAttempt::OnAlloc,
                                 &TcpAttempt::OnRead);
    if (rc < 0) {
      EndConnection(CheckResult::Unhealthy(ReasonOfSocketError(rc),
                                           std::string("read failed: ") + uv_strerror(rc)));
      return;
    }
    if (!settings_->tls) {
      Established();
      return;
    }
    const TlsOptions& options = *settings_->tls;
    tls_ = std::make_unique<TlsClient>(
        tls_context_, options.server_name.empty() ? settings_->host : options.server_name);
    tls_->set_trace(check()->trace());
    tls_->StartHandshake();
    if (tls_->failed()) {
      EndConnection(CheckResult::Unhealthy(ReasonOfTlsFailure(*tls_),
                                           "TLS handshake failed: " + tls_->error()));
      return;
    }
    FlushTls();
  }

  // Connected (and handshake done): send, then wait for `expect` if any.
  void Established() {
    const int connection = connection_;
    established_ns_ = uv_hrtime();
    if (!settings_->send.empty()) {
      if (tls_) {
        tls_->WritePlaintext(settings_->send);
        FlushTls();
      } else {
        WriteRaw(settings_->send);
      }
      if (Ended(connection)) return;
    }
    if (!settings_->expect && writes_in_flight_ == 0) FinishConnected();
  }

  void FinishConnected() {
    EndConnection(
        CheckResult::Healthy("connected in " + FormatMillis(established_ns_ - started_ns_)));
  }

  void FlushTls() {
    std::string out = tls_->TakeCiphertext();
    if (!out.empty()) WriteRaw(std::move(out));
  }

  void WriteRaw(std::string bytes) {
    auto* op = new WriteOp{{}, std::move(bytes), this, connection_};
    op->req.data = op;
    uv_buf_t buf = uv_buf_init(op->bytes.data(), static_cast<unsigned int>(op->bytes.size()));
    const int rc = uv_write(&op->req, reinterpret_cast<uv_stream_t*>(socket_), &buf, 1,
                            &TcpAttempt::OnWritten);
    if (rc < 0) {
      delete op;
      EndConnection(CheckResult::Unhealthy(ReasonOfSocketError(rc),
                                           std::string("send failed: ") + uv_strerror(rc)));
      return;
    }
    ExpectCallback();
    ++writes_in_flight_;
  }

  static void OnWritten(uv_write_t* req, int status) {
    auto* op = static_cast<WriteOp*>(req->data);
    TcpAttempt* self = op->attempt;
    const int op_connection = op->connection;
    delete op;
    CallbackGuard guard(self);
    // ip_policy all: the write may belong to an address already judged.
    if (!guard.over() && op_connection == self->connection_) {
      --self->writes_in_flight_;
      if (status < 0) {
        self->EndConnection(CheckResult::Unhealthy(
            ReasonOfSocketError(status), std::string("send failed: ") + uv_strerror(status)));
      } else if (self->established_ns_ != 0 && self->writes_in_flight_ == 0 &&
                 !self->settings_->expect) {
        // Without expect, healthy once everything (the send, or the last
        // handshake message) has been written.
        self->FinishConnected();
      }
    }
  }

  static void OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    auto* self = static_cast<TcpAttempt*>(handle->data);
    *buf = uv_buf_init(self->read_buffer_, sizeof(self->read_buffer_));
  }

  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<TcpAttempt*>(stream->data);
    RepeatingCallbackGuard guard(self);
    if (!guard.over()) self->HandleRead(nread, buf);
  }

  void HandleRead(ssize_t nread, const uv_buf_t* buf) {
    const int connection = connection_;
    if (nread == UV_EOF) {
      HandlePeerClosed();
      return;
    }
    if (nread < 0) {
      const std::string reason = uv_strerror(static_cast<int>(nread));
      if (tls_ && !tls_->handshake_done()) {
        EndConnection(CheckResult::Unhealthy(FailureReason::kTlsHandshake,
                                             "TLS handshake failed: " + reason));
      } else {
        EndConnection(CheckResult::Unhealthy(ReasonOfSocketError(static_cast<int>(nread)),
                                             "read failed: " + reason));
      }
      return;
    }
    if (nread == 0) return;
    const std::string_view data(buf->base, static_cast<size_t>(nread));
    if (!tls_) {
      Received(data);
      return;
    }
    const bool was_established = tls_->handshake_done();
    tls_->FeedCiphertext(data);
    FlushTls();
    if (Ended(connection)) return;
    if (tls_->failed()) {
      EndConnection(CheckResult::Unhealthy(
          // After the handshake, mostly the server's alert about it (TLS 1.3
          // rejects a client certificate only after the client finished).
          was_established ? FailureReason::kTlsHandshake : ReasonOfTlsFailure(*tls_),
          (was_established ? "TLS error: " : "TLS handshake failed: ") + tls_->error()));
      return;
    }
    if (!was_established && tls_->handshake_done()) {
      Established();
      if (Ended(connection)) return;
    }
    const std::string plaintext = tls_->TakePlaintext();
    if (!plaintext.empty()) Received(plaintext);
    if (!Ended(connection) && tls_->peer_closed()) HandlePeerClosed();
  }

  void Received(std::string_view data) {
    const size_t room = kMaxReceiveBytes - received_.size();
    received_.append(data.substr(0, room));
    CheckReceived();
  }

  void CheckReceived() {
    if (!settings_->expect) return;
    if (RE2::PartialMatch(received_, *settings_->expect)) {
      EndConnection(CheckResult::Healthy("expect " + Quote(settings_->expect->pattern()) +
                                         " matched in " + FormatMillis(uv_hrtime() - started_ns_)));
    } else if (received_.size() >= kMaxReceiveBytes) {
      EndConnection(CheckResult::Unhealthy(
          FailureReason::kBodyMismatch,
          "no match for " + Quote(settings_->expect->pattern()) + " in the first 64 KiB"));
    }
  }

  void HandlePeerClosed() {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(socket_));
    if (tls_ && !tls_->handshake_done()) {
      EndConnection(CheckResult::Unhealthy(FailureReason::kTlsHandshake,
                                           "TLS handshake failed: connection closed by server"));
    } else if (settings_->expect) {
      // Closed while `expect` still waited for more: what did arrive is in
      // the detail.
      EndConnection(CheckResult::Unhealthy(
          FailureReason::kConnectionClosed,
          "connection closed before " + Quote(settings_->expect->pattern()) + " matched (got " +
              (received_.empty() ? std::string("nothing") : QuoteEscaped(received_)) + ")"));
    }
    // Without expect the attempt ends when the send completes (or fails).
  }

  // The outcome of the current connection, with the peer's certificate
  // expiry once the handshake is done (also on failures after it).
  // ip_policy first: the attempt's. all: one address's, recorded; the next
  // address follows, and after the last the attempt ends with all of them.
  void EndConnection(CheckResult result) {
    if (over()) return;
    if (result.health != Health::kHealthy) {
      result.address = AddressPortText(addresses_[next_address_ - 1], settings_->port);
    }
    if (tls_ && tls_->handshake_done()) {
      if (auto not_after = tls_->PeerEarliestNotAfter()) {
        result.observations.emplace_back(ObservationId::kTlsCertExpiryTimestampSeconds,
                                         static_cast<double>(*not_after));
      }
    }
    if (settings_->ip_policy == IpPolicy::kFirst) {
      Finish(std::move(result));
      return;
    }
    outcomes_.push_back({addresses_[next_address_ - 1], std::move(result)});
    CloseSocket();
    tls_.reset();
    received_.clear();
    established_ns_ = 0;
    writes_in_flight_ = 0;
    if (next_address_ < addresses_.size()) {
      ConnectNext(UV_EAI_NODATA);
    } else {
      // As in tls: the earliest certificate expiry of all addresses.
      CheckResult combined = CombineAddressResults(outcomes_, settings_->port);
      UseLowestOfAll(outcomes_, ObservationId::kTlsCertExpiryTimestampSeconds, &combined);
      Finish(std::move(combined));
    }
  }

  // True once the attempt is over or, with ip_policy all, `connection` has
  // been judged and the next address's connection has begun.
  bool Ended(int connection) const { return over() || connection != connection_; }

  void CloseSocket() {
    if (socket_ == nullptr) return;
    uv_tcp_t* socket = std::exchange(socket_, nullptr);
    ExpectCallback();
    // Closing also cancels a pending connect and writes: their callbacks run
    // with UV_ECANCELED before OnClosed.
    uv_close(reinterpret_cast<uv_handle_t*>(socket), &TcpAttempt::OnClosed);
  }

  static void OnClosed(uv_handle_t* handle) {
    auto* self = static_cast<TcpAttempt*>(handle->data);
    delete reinterpret_cast<uv_tcp_t*>(handle);
    CallbackGuard guard(self);
  }

  std::shared_ptr<const TcpCheckSettings> settings_;
  std::shared_ptr<const TlsClientContext> tls_context_;
  uv_loop_t* loop_;
  Resolver& resolver_;
  uv_connect_t connect_req_{};
  uv_tcp_t* socket_ = nullptr;  // open socket, heap-allocated until OnClosed
  std::vector<sockaddr_storage> addresses_;
  size_t next_address_ = 0;
  int connection_ = 0;                   // numbers the connections, one per address tried
  std::vector<AddressResult> outcomes_;  // ip_policy all: each address's result
  std::unique_ptr<TlsClient> tls_;
  std::string received_;
  uint64_t started_ns_ = 0;
  uint64_t established_ns_ = 0;  // when connected (and the handshake done)
  int writes_in_flight_ = 0;
  char read_buffer_[16 * 1024];
};

TcpCheck::TcpCheck(IoContext& io, std::shared_ptr<const TcpCheckSettings> settings)
    : io_(io), settings_(std::move(settings)) {}

std::unique_ptr<Attempt> TcpCheck::NewAttempt() {
  if (settings_->tls && !tls_context_) {
    const TlsOptions& options = *settings_->tls;
    std::string error;
    tls_context_ = TlsClientContext::Create(
        {options.ca_file, options.cert_file, options.key_file, !options.insecure_skip_verify},
        &error);
    if (!tls_context_) {
      return FailedAttempt(
          CheckResult::Unhealthy(FailureReason::kInternal, "TLS setup failed: " + error));
    }
  }
  return std::make_unique<TcpAttempt>(*this);
}

}  // namespace hx
