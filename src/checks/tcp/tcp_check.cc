#include "checks/tcp/tcp_check.h"

#include <re2/re2.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <utility>

#include "checks/common/connection_attempt.h"
#include "checks/common/failure_reasons.h"
#include "checks/common/host_port.h"
#include "checks/common/ip_policy.h"
#include "checks/common/ip_protocol.h"
#include "io/io_context.h"
#include "io/tls_client.h"
#include "util/duration.h"
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

// One attempt's connection dialogue; the addresses, sockets and ip_policy are
// ConnectionAttempt's (checks/common/connection_attempt.h).
class TcpCheck::TcpAttempt final : public ConnectionAttempt {
 public:
  explicit TcpAttempt(const TcpCheck& owner)
      : ConnectionAttempt(owner.io_, owner.settings_->port, owner.settings_->ip_policy),
        settings_(owner.settings_),
        tls_context_(owner.tls_context_) {}

 private:
  void Begin() override {
    started_ns_ = uv_hrtime();
    // An IP literal needs no resolver: connect at once.
    if (ConnectToIpLiteral(settings_->host)) return;
    ResolveAndConnect(settings_->host, settings_->ip_protocol);
  }

  CheckResult NoAddressResult(const ResolveResult& /*resolved*/) const override {
    return CheckResult::Unhealthy(FailureReason::kDnsError,
                                  "could not resolve host " + Quote(settings_->host));
  }

  void OnConnecting() override {
    // ip_policy all: each address's time is its own.
    if (ip_policy() == IpPolicy::kAll) started_ns_ = uv_hrtime();
  }

  void OnConnected() override {
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
    const int current = connection();
    established_ns_ = uv_hrtime();
    if (!settings_->send.empty()) {
      if (tls_) {
        tls_->WritePlaintext(settings_->send);
        FlushTls();
      } else {
        WriteRaw(settings_->send);
      }
      if (Ended(current)) return;
    }
    if (!settings_->expect && writes_in_flight() == 0) FinishConnected();
  }

  void FinishConnected() {
    EndConnection(
        CheckResult::Healthy("connected in " + FormatMillis(established_ns_ - started_ns_)));
  }

  void FlushTls() {
    std::string out = tls_->TakeCiphertext();
    if (!out.empty()) WriteRaw(std::move(out));
  }

  void OnWriteDone() override {
    // Without expect, healthy once everything (the send, or the last
    // handshake message) has been written.
    if (established_ns_ != 0 && writes_in_flight() == 0 && !settings_->expect) FinishConnected();
  }

  void HandleRead(ssize_t nread, const uv_buf_t* buf) override {
    const int current = connection();
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
    if (Ended(current)) return;
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
      if (Ended(current)) return;
    }
    const std::string plaintext = tls_->TakePlaintext();
    if (!plaintext.empty()) Received(plaintext);
    if (!Ended(current) && tls_->peer_closed()) HandlePeerClosed();
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
    StopReading();
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

  // The peer's certificate expiry once the handshake is done (also on
  // failures after it).
  void AddConnectionObservations(CheckResult* result) override {
    if (tls_ && tls_->handshake_done()) {
      if (auto not_after = tls_->PeerEarliestNotAfter()) {
        result->observations.emplace_back(ObservationId::kTlsCertExpiryTimestampSeconds,
                                          static_cast<double>(*not_after));
      }
    }
  }

  void OnConnectionEnded() override {
    tls_.reset();
    received_.clear();
    established_ns_ = 0;
  }

  std::shared_ptr<const TcpCheckSettings> settings_;
  std::shared_ptr<const TlsClientContext> tls_context_;
  std::unique_ptr<TlsClient> tls_;
  std::string received_;
  uint64_t started_ns_ = 0;
  uint64_t established_ns_ = 0;  // when connected (and the handshake done)
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
