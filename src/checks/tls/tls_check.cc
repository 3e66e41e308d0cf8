#include "checks/tls/tls_check.h"

#include <uv.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "checks/common/connection_attempt.h"
#include "checks/common/failure_reasons.h"
#include "checks/common/host_port.h"
#include "checks/common/ip_protocol.h"
#include "io/io_context.h"
#include "io/tls_client.h"
#include "util/quote.h"

namespace hx {
namespace {

// "2026-12-08T10:00:00Z".
std::string FormatUtc(int64_t unix_seconds) {
  const auto t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t WallNowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<StartTls> StartTlsFromName(std::string_view name) {
  for (StartTls p :
       {StartTls::kNone, StartTls::kSmtp, StartTls::kImap, StartTls::kPop3, StartTls::kPostgres}) {
    if (name == StartTlsName(p) && p != StartTls::kNone) return p;
  }
  return std::nullopt;
}

// An EHLO answer line announcing STARTTLS ("250-STARTTLS", any case).
bool IsStartTlsKeyword(std::string_view line) {
  constexpr std::string_view kKeyword = "STARTTLS";
  if (line.size() < 4 + kKeyword.size()) return false;
  const std::string_view word = line.substr(4);
  if (word.size() > kKeyword.size() && word[kKeyword.size()] != ' ') return false;
  for (size_t i = 0; i < kKeyword.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(word[i])) != kKeyword[i]) return false;
  }
  return true;
}

// PostgreSQL's SSLRequest: length 8, then the code 1234 5679.
constexpr char kPostgresSslRequest[8] = {0, 0, 0, 8, 0x04, static_cast<char>(0xd2), 0x16, 0x2f};

}  // namespace

const char* StartTlsName(StartTls protocol) {
  switch (protocol) {
    case StartTls::kNone:
      return "none";
    case StartTls::kSmtp:
      return "smtp";
    case StartTls::kImap:
      return "imap";
    case StartTls::kPop3:
      return "pop3";
    case StartTls::kPostgres:
      return "postgres";
  }
  return "none";
}

std::string FormatTimeLeft(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  const int64_t days = seconds / 86400;
  const int64_t hours = seconds % 86400 / 3600;
  const int64_t minutes = seconds % 3600 / 60;
  const int64_t secs = seconds % 60;
  if (days > 0) return std::to_string(days) + "d " + std::to_string(hours) + "h";
  if (hours > 0) return std::to_string(hours) + "h " + std::to_string(minutes) + "m";
  if (minutes > 0) return std::to_string(minutes) + "m " + std::to_string(secs) + "s";
  return std::to_string(secs) + "s";
}

TlsCheckSpec::TlsCheckSpec(TlsCheckSettings settings)
    : settings_(std::make_shared<const TlsCheckSettings>(std::move(settings))) {}

std::unique_ptr<Check> TlsCheckSpec::CreateCheck(const CheckContext& context) const {
  return std::make_unique<TlsCheck>(context.io, settings_);
}

std::string TlsCheckSpec::Target() const {
  const TlsCheckSettings& s = *settings_;
  std::string target = "tls";
  if (s.starttls != StartTls::kNone) target += std::string("+") + StartTlsName(s.starttls);
  target += "://";
  target += s.host.find(':') != std::string::npos ? "[" + s.host + "]" : s.host;
  target += ":" + std::to_string(s.port);
  return target;
}

std::shared_ptr<const TlsCheckSpec> ParseTlsCheckSpec(config::MapReader& reader) {
  TlsCheckSettings settings;
  ReadAddressKey(reader, &settings.host, &settings.port);
  if (auto name = reader.String("starttls")) {
    if (auto protocol = StartTlsFromName(*name)) {
      settings.starttls = *protocol;
    } else {
      reader.Error("starttls", "must be one of smtp, imap, pop3, postgres; got " + Quote(*name));
    }
  }
  auto within = [&](std::string_view key, Duration& dest) {
    if (auto d = reader.Duration(key)) dest = *d;  // the parser refuses negatives
  };
  within("degraded_expires_within", settings.degraded_expires_within);
  within("unhealthy_expires_within", settings.unhealthy_expires_within);
  settings.ip_protocol = ReadIpProtocol(reader);
  settings.ip_policy = ReadIpPolicy(reader);
  if (settings.degraded_expires_within.count() != 0 &&
      settings.unhealthy_expires_within > settings.degraded_expires_within) {
    reader.Error("unhealthy_expires_within", "must not be longer than degraded_expires_within (" +
                                                 FormatDuration(settings.degraded_expires_within) +
                                                 ")");
  }
  // The TLS keys sit in this mapping itself (tls: is the type); the shared
  // reader takes ca_file, cert_file, key_file, server_name and
  // insecure_skip_verify, then reports whatever nobody asked for.
  std::optional<TlsOptions> tls = ParseTlsOptions(reader);
  if (!tls) return nullptr;
  settings.tls = std::move(*tls);
  if (settings.tls.server_name.empty()) settings.tls.server_name = settings.host;
  return std::make_shared<const TlsCheckSpec>(std::move(settings));
}

CheckType TlsCheckType() { return {"tls", &ParseTlsCheckSpec}; }

// One attempt: resolve -> connect -> STARTTLS dialogue -> handshake -> judge.
// The addresses, sockets and ip_policy are ConnectionAttempt's
// (checks/common/connection_attempt.h).
class TlsCheck::TlsAttempt final : public ConnectionAttempt {
 public:
  TlsAttempt(IoContext& io, std::shared_ptr<const TlsCheckSettings> settings,
             std::shared_ptr<const TlsClientContext> context)
      : ConnectionAttempt(io, settings->port, settings->ip_policy),
        settings_(std::move(settings)),
        context_(std::move(context)) {}

 private:
  enum class Phase : uint8_t { kResolving, kConnecting, kDialogue, kHandshake };

  // An IP literal goes through the resolver too (its lookup is traced).
  void Begin() override {
    phase_ = Phase::kResolving;
    ResolveAndConnect(settings_->host, settings_->ip_protocol);
  }

  void OnConnecting() override { phase_ = Phase::kConnecting; }

  void OnConnectionEnded() override {
    tls_.reset();
    dialogue_.clear();
    dialogue_received_ = 0;
    step_ = 0;
    offers_starttls_ = false;
  }

  // The worst state of all addresses, the failing ones named
  // (CombineAddressResults); the expiry reported is the earliest any address
  // presented, the version the first one's.
  CheckResult CombineOutcomes(const std::vector<AddressResult>& outcomes) const override {
    CheckResult result = ConnectionAttempt::CombineOutcomes(outcomes);
    std::erase_if(result.observations,
                  [](const Observation& o) { return o.id == ObservationId::kTlsVersionInfo; });
    for (const AddressResult& o : outcomes) {
      auto version = std::find_if(
          o.result.observations.begin(), o.result.observations.end(),
          [](const Observation& ob) { return ob.id == ObservationId::kTlsVersionInfo; });
      if (version != o.result.observations.end()) {
        result.observations.push_back(*version);
        break;
      }
    }
    return result;
  }

  void OnConnected() override {
    switch (settings_->starttls) {
      case StartTls::kNone:
        StartHandshake();
        return;
      case StartTls::kPostgres:
        phase_ = Phase::kDialogue;
        WriteRaw(std::string(kPostgresSslRequest, sizeof(kPostgresSslRequest)));
        return;
      case StartTls::kSmtp:
      case StartTls::kImap:
      case StartTls::kPop3:
        phase_ = Phase::kDialogue;  // the server speaks first
        return;
    }
  }

  // --- STARTTLS dialogue (clear text). ---

  // Takes one complete line ("\r\n" or "\n" stripped) from dialogue_.
  std::optional<std::string> TakeLine() {
    const size_t end = dialogue_.find('\n');
    if (end == std::string::npos) return std::nullopt;
    std::string line = dialogue_.substr(0, end);
    dialogue_.erase(0, end + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }

  void Say(std::string_view command) { WriteRaw(std::string(command)); }

  void Refused(std::string_view what, const std::string& line) {
    EndConnection(CheckResult::Unhealthy(FailureReason::kProtocolError,
                                         std::string(what) + ", got " + QuoteEscaped(line)));
  }

  // Advances the dialogue with what has arrived; returns once it needs more.
  void Converse() {
    const int current = connection();
    while (!Ended(current) && phase_ == Phase::kDialogue) {
      if (settings_->starttls == StartTls::kPostgres) {
        if (dialogue_.empty()) return;
        const char answer = dialogue_[0];
        dialogue_.erase(0, 1);
        if (answer == 'S') {
          UpgradeNow();
        } else if (answer == 'N') {
          EndConnection(CheckResult::Unhealthy(FailureReason::kProtocolError,
                                               "PostgreSQL server refused SSL (ssl is off)"));
        } else {
          EndConnection(CheckResult::Unhealthy(FailureReason::kProtocolError,
                                               "PostgreSQL server answered the SSLRequest with " +
                                                   QuoteEscaped(std::string(1, answer))));
        }
        return;
      }
      std::optional<std::string> line = TakeLine();
      if (!line) return;
      switch (settings_->starttls) {
        case StartTls::kSmtp:
          SmtpLine(*line);
          break;
        case StartTls::kImap:
          ImapLine(*line);
          break;
        case StartTls::kPop3:
          Pop3Line(*line);
          break;
        default:
          return;
      }
    }
  }

  const char* StartTlsLabel() const {
    switch (settings_->starttls) {
      case StartTls::kSmtp:
        return "SMTP";
      case StartTls::kImap:
        return "IMAP";
      case StartTls::kPop3:
        return "POP3";
      case StartTls::kPostgres:
        return "PostgreSQL";
      case StartTls::kNone:
        break;
    }
    return "";
  }

  // SMTP replies: "250-first", ..., "250 last" (RFC 5321 4.2.1).
  void SmtpLine(const std::string& line) {
    const bool last = line.size() < 4 || line[3] != '-';
    const std::string code = line.substr(0, 3);
    if (step_ == 1 && IsStartTlsKeyword(line)) offers_starttls_ = true;
    if (!last) return;
    switch (step_) {
      case 0:  // greeting
        if (code != "220") return Refused("SMTP: expected a 220 greeting", line);
        Say("EHLO health-exporter\r\n");
        step_ = 1;
        return;
      case 1:  // EHLO
        if (code != "250") return Refused("SMTP: EHLO refused", line);
        if (!offers_starttls_) {
          EndConnection(CheckResult::Unhealthy(FailureReason::kProtocolError,
                                               "SMTP: the server does not offer STARTTLS"));
          return;
        }
        Say("STARTTLS\r\n");
        step_ = 2;
        return;
      default:  // STARTTLS
        if (code != "220") return Refused("SMTP: STARTTLS refused", line);
        UpgradeNow();
        return;
    }
  }

  void ImapLine(const std::string& line) {
    if (step_ == 0) {
      if (line.rfind("* OK", 0) != 0) return Refused("IMAP: expected an \"* OK\" greeting", line);
      Say("a1 STARTTLS\r\n");
      step_ = 1;
      return;
    }
    if (line.rfind("* ", 0) == 0) return;  // untagged (e.g. CAPABILITY)
    if (line.rfind("a1 OK", 0) == 0) return UpgradeNow();
    Refused("IMAP: STARTTLS refused", line);
  }

  void Pop3Line(const std::string& line) {
    if (line.rfind("+OK", 0) != 0) {
      return Refused(step_ == 0 ? "POP3: expected a \"+OK\" greeting" : "POP3: STLS refused", line);
    }
    if (step_ == 0) {
      Say("STLS\r\n");
      step_ = 1;
      return;
    }
    UpgradeNow();
  }

  // The server agreed; bytes it sent after its answer (before our
  // ClientHello) would be a STARTTLS injection (CVE-2011-0411's kind).
  void UpgradeNow() {
    if (!dialogue_.empty()) {
      EndConnection(CheckResult::Unhealthy(
          FailureReason::kProtocolError,
          std::string(StartTlsLabel()) + ": unexpected data after the STARTTLS answer"));
      return;
    }
    StartHandshake();
  }

  // --- TLS. ---

  void StartHandshake() {
    phase_ = Phase::kHandshake;
    const int current = connection();
    tls_ = std::make_unique<TlsClient>(context_, settings_->tls.server_name);
    tls_->set_trace(check()->trace());
    tls_->StartHandshake();
    FlushTls();
    if (!Ended(current) && tls_->failed()) HandshakeOver();
  }

  void FlushTls() {
    std::string out = tls_->TakeCiphertext();
    if (!out.empty()) WriteRaw(std::move(out));
  }

  void HandshakeOver() {
    std::optional<int64_t> not_after = tls_->PeerEarliestNotAfter();
    CheckResult result = Judge(not_after);
    if (not_after) {
      result.observations.emplace_back(ObservationId::kTlsCertExpiryTimestampSeconds,
                                       static_cast<double>(*not_after));
    }
    if (tls_->handshake_done()) {
      result.observations.emplace_back(ObservationId::kTlsVersionInfo, 1.0, tls_->version());
    }
    EndConnection(std::move(result));
  }

  CheckResult Judge(std::optional<int64_t> not_after) const {
    const std::string& name = settings_->tls.server_name;
    std::string expiry;
    int64_t left = 0;
    if (not_after) {
      left = *not_after - WallNowSeconds();
      expiry = left <= 0 ? "certificate for " + name + " expired " + FormatTimeLeft(-left) +
                               " ago (" + FormatUtc(*not_after) + ")"
                         : "certificate for " + name + " expires in " + FormatTimeLeft(left) +
                               " (" + FormatUtc(*not_after) + ")";
    }
    if (!tls_->handshake_done()) {
      std::string detail = "TLS handshake failed: " + tls_->error();
      if (!expiry.empty()) detail += "; " + expiry;
      // Verification failed: the certificate's problem (expired, untrusted,
      // another name); otherwise the handshake itself.
      return CheckResult::Unhealthy(tls_->verify_error() != 0
                                        ? ReasonOfCertificateError(tls_->verify_error())
                                        : FailureReason::kTlsHandshake,
                                    std::move(detail));
    }
    const std::string detail = tls_->version() + ", " + expiry;
    if (!not_after) {
      return CheckResult::Unhealthy(FailureReason::kTlsUntrusted,
                                    tls_->version() + ", no certificate presented");
    }
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    const int64_t unhealthy_within =
        duration_cast<seconds>(settings_->unhealthy_expires_within).count();
    const int64_t degraded_within =
        duration_cast<seconds>(settings_->degraded_expires_within).count();
    if (left <= 0) return CheckResult::Unhealthy(FailureReason::kTlsExpired, detail);
    if (left <= unhealthy_within)
      return CheckResult::Unhealthy(FailureReason::kTlsExpiring, detail);
    if (left <= degraded_within) return CheckResult::Degraded(FailureReason::kTlsExpiring, detail);
    return CheckResult::Healthy(detail);
  }

  // --- Bytes read from the socket. ---

  void HandleRead(ssize_t nread, const uv_buf_t* buf) override {
    if (nread == 0) return;
    if (nread < 0) {
      const std::string reason =
          nread == UV_EOF ? "connection closed by server" : uv_strerror(static_cast<int>(nread));
      if (phase_ == Phase::kHandshake) {
        EndConnection(CheckResult::Unhealthy(FailureReason::kTlsHandshake,
                                             "TLS handshake failed: " + reason));
      } else {
        // The STARTTLS dialogue broke off: closed (EOF, reset) or another error.
        EndConnection(CheckResult::Unhealthy(
            ReasonOfSocketError(static_cast<int>(nread)),
            std::string(StartTlsLabel()) + ": " + reason +
                (dialogue_.empty() ? "" : " after " + QuoteEscaped(dialogue_))));
      }
      return;
    }
    const std::string_view data(buf->base, static_cast<size_t>(nread));
    if (phase_ == Phase::kDialogue) {
      // Bounded in total, not only per line: a server could chatter in
      // complete lines ("250-..." forever) and never answer.
      dialogue_received_ += data.size();
      if (dialogue_received_ > kMaxDialogueBytes) {
        EndConnection(CheckResult::Unhealthy(
            FailureReason::kProtocolError,
            std::string(StartTlsLabel()) + ": more than 16 KiB of dialogue, no STARTTLS answer"));
        return;
      }
      dialogue_.append(data);
      Converse();
      return;
    }
    if (phase_ != Phase::kHandshake) return;
    const int current = connection();
    tls_->FeedCiphertext(data);
    FlushTls();
    if (Ended(current)) return;
    if (tls_->failed() || tls_->handshake_done()) HandshakeOver();
  }

  std::shared_ptr<const TlsCheckSettings> settings_;
  std::shared_ptr<const TlsClientContext> context_;
  std::unique_ptr<TlsClient> tls_;
  std::string dialogue_;          // clear text received and not yet consumed
  size_t dialogue_received_ = 0;  // clear text received on this connection
  Phase phase_ = Phase::kResolving;
  int step_ = 0;  // position in the STARTTLS dialogue
  bool offers_starttls_ = false;
};

TlsCheck::TlsCheck(IoContext& io, std::shared_ptr<const TlsCheckSettings> settings)
    : io_(io), settings_(std::move(settings)) {}

std::unique_ptr<Attempt> TlsCheck::NewAttempt() {
  if (!tls_context_) {
    const TlsOptions& o = settings_->tls;
    std::string error;
    tls_context_ = TlsClientContext::Create(
        {o.ca_file, o.cert_file, o.key_file, !o.insecure_skip_verify}, &error);
    if (!tls_context_) {
      return FailedAttempt(
          CheckResult::Unhealthy(FailureReason::kInternal, "TLS setup failed: " + error));
    }
  }
  return std::make_unique<TlsAttempt>(io_, settings_, tls_context_);
}

}  // namespace hx
