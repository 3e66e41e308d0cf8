#include "checks/postgres/postgres_check.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <re2/re2.h>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "checks/common/failure_reasons.h"
#include "checks/common/host_port.h"
#include "checks/common/ip_protocol.h"
#include "checks/exec/perfdata.h"
#include "config/secret_file.h"
#include "io/io_context.h"
#include "util/fd_shortage.h"
#include "util/quote.h"

namespace hx {

const char* const kPostgresStatusQuery =
    "SELECT pg_is_in_recovery(),"
    " CASE WHEN NOT pg_is_in_recovery() THEN NULL"
    // Everything received is replayed: caught up, however old the last
    // commit is (an idle primary sends no commits to time).
    "  WHEN pg_last_wal_receive_lsn() IS NOT NULL"
    "   AND pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0"
    "  ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()))"
    " END,"
    // Without pg_monitor, other users' sessions show backend_type NULL;
    // unlike background processes they still show their database.
    " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
    "   OR (backend_type IS NULL AND datid IS NOT NULL)),"
    " current_setting('max_connections')::int";

namespace {

// Addresses of one host name handed to libpq; more only slow a failure down.
constexpr size_t kMaxAddresses = 4;
constexpr char kApplicationName[] = "health_exporter";
constexpr char kMask[] = "***";

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool IsSocketDirectory(std::string_view host) {
  return !host.empty() && (host.front() == '/' || host.front() == '@');
}

// Text that may be the password inside a DSN libpq could not parse (so we
// cannot ask libpq where the password is): `password=...` of the keyword
// form, the user-info password and `password=` parameter of the URI form.
std::vector<std::string> PasswordCandidates(const std::string& dsn) {
  std::vector<std::string> out;
  static const RE2 keyword(R"((?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'?|\S+))");
  static const RE2 userinfo(R"(^postgres(?:ql)?://[^@/?]*?:([^@/?]*)@)");
  static const RE2 param(R"([?&]password=([^&]*))");
  for (const RE2* re : {&keyword, &userinfo, &param}) {
    re2::StringPiece input(dsn);
    std::string match;
    while (RE2::FindAndConsume(&input, *re, &match)) {
      if (match.size() >= 2 && match.front() == '\'') match = match.substr(1, match.size() - 2);
      if (!match.empty()) out.push_back(match);
    }
  }
  return out;
}

// libpq's DSN parse errors quote pieces of the DSN, which may be (part of) a
// password. Mask every quoted piece that overlaps a password candidate.
std::string SanitizeDsnError(const std::string& message, const std::string& dsn) {
  const std::vector<std::string> secrets = PasswordCandidates(dsn);
  std::string out;
  size_t pos = 0;
  while (pos < message.size()) {
    const size_t open = message.find('"', pos);
    const size_t close = open == std::string::npos ? open : message.find('"', open + 1);
    if (close == std::string::npos) {
      out += message.substr(pos);
      break;
    }
    std::string piece = message.substr(open + 1, close - open - 1);
    for (const std::string& secret : secrets) {
      if (!piece.empty() &&
          (secret.find(piece) != std::string::npos || piece.find(secret) != std::string::npos)) {
        piece = kMask;
      }
    }
    out += message.substr(pos, open + 1 - pos) + piece + "\"";
    pos = close + 1;
  }
  for (const std::string& secret : secrets) ReplaceAll(out, secret, kMask);
  return out;
}

std::optional<std::string> ReadPasswordFile(config::ParseContext& ctx, const std::string& path,
                                            std::string* error) {
  std::optional<std::string> password = config::ReadSecretFile(ctx, path, "password", error);
  if (password && password->empty()) {
    *error = "password file " + Quote(path) + " is empty";
    return std::nullopt;
  }
  return password;
}

// Fills `settings` from the DSN (and the password file). Errors go to `dsn`.
void ApplyDsn(config::MapReader& reader, const std::string& dsn,
              const std::optional<std::string>& file_password, PostgresCheckSettings& settings) {
  char* raw_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &raw_error);
  if (parsed == nullptr) {
    const std::string reason = raw_error != nullptr ? raw_error : "out of memory";
    if (raw_error != nullptr) PQfreemem(raw_error);
    reader.Error("dsn", "invalid DSN: " + SanitizeDsnError(PostgresErrorLine(reason, ""), dsn));
    return;
  }
  std::map<std::string, std::string> options;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && o->val[0] != '\0') options[o->keyword] = o->val;
  }
  PQconninfoFree(parsed);
  if (options.contains("service")) {
    // libpq would read pg_service.conf and resolve its host inside
    // PQconnectPoll, on the event loop; name the host here instead.
    reader.Error("dsn",
                 "the service keyword is not supported: give host, port and dbname in the dsn");
    return;
  }

  // What libpq would take from PGHOST, PGUSER, ... is pinned at load time, so
  // the host resolved by the loop's resolver is the one libpq connects to.
  if (PQconninfoOption* defaults = PQconndefaults()) {
    for (PQconninfoOption* o = defaults; o->keyword != nullptr; ++o) {
      const std::string_view key = o->keyword;
      if ((key == "host" || key == "hostaddr" || key == "port" || key == "user" ||
           key == "dbname") &&
          o->val != nullptr && o->val[0] != '\0' && !options.contains(o->keyword)) {
        options[o->keyword] = o->val;
      }
    }
    PQconninfoFree(defaults);
  }

  bool ok = true;
  for (const char* key : {"host", "hostaddr", "port"}) {
    auto it = options.find(key);
    if (it != options.end() && it->second.find(',') != std::string::npos) {
      reader.Error("dsn", "several hosts are not supported; give one host per check");
      ok = false;
      break;
    }
  }
  if (ok && options.contains("port") && !ParsePort(options["port"])) {
    reader.Error("dsn", "invalid DSN: port must be a number from 1 to 65535");
    ok = false;
  }
  if (file_password) {
    if (options.contains("password")) {
      reader.Error("password_file", "the DSN already has a password; give only one of them");
      ok = false;
    }
    options["password"] = *file_password;
  }
  if (!ok) return;
  options.try_emplace("application_name", kApplicationName);

  settings.host = options.contains("host") ? options["host"] : "";
  if (options.contains("port")) settings.port = options["port"];
  settings.user = options.contains("user") ? options["user"] : "";
  settings.dbname = options.contains("dbname") ? options["dbname"] : settings.user;
  settings.resolve_host = !settings.host.empty() && !IsSocketDirectory(settings.host) &&
                          !options.contains("hostaddr") && !IsIpLiteral(settings.host);
  settings.conninfo.assign(options.begin(), options.end());
}

std::string RoleName(PostgresRole role) {
  return role == PostgresRole::kPrimary ? "primary" : "replica";
}

// "45s", "1m5s" above a second (whole seconds), "12ms" below.
std::string FormatLag(double seconds) {
  if (seconds >= 1) return FormatDuration(std::chrono::seconds(std::llround(seconds)));
  return FormatDuration(std::chrono::milliseconds(std::llround(seconds * 1000)));
}

// Severity and primary message of a failed result: `ERROR: relation "x" does
// not exist`.
// Server and libpq messages are cut to this many bytes in a detail.
constexpr size_t kMaxServerTextBytes = 200;

std::string ResultError(const PGresult* result, std::string_view secret) {
  const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  if (primary == nullptr) {
    const std::string line = PostgresErrorLine(PQresultErrorMessage(result), secret);
    return line.empty() ? "unknown error" : line;
  }
  std::string out = severity != nullptr ? std::string(severity) + ": " + primary : primary;
  if (!secret.empty()) ReplaceAll(out, secret, kMask);
  if (const size_t newline = out.find('\n'); newline != std::string::npos) out.resize(newline);
  // The server's text: bounded, printable, valid UTF-8 before it reaches a detail.
  return ShortenForDetail(out, kMaxServerTextBytes);
}

}  // namespace

std::string PostgresErrorLine(std::string_view raw_message, std::string_view secret) {
  // Mask first, on libpq's own bytes: normalising first could alter the
  // password (tabs, double spaces) so that it no longer matches.
  std::string masked(raw_message);
  if (!secret.empty()) ReplaceAll(masked, secret, kMask);
  std::string_view message = masked;
  // With several addresses libpq reports every attempt; the last one is the
  // most telling (e.g. ::1 refused, then 127.0.0.1 rejected the password).
  const size_t last_attempt = message.rfind("\nconnection to server ");
  if (last_attempt != std::string_view::npos) message.remove_prefix(last_attempt + 1);
  std::string line(message.substr(0, message.find('\n')));
  // With one host there is one attempt; its address is already in Target().
  if (line.starts_with("connection to server ")) {
    const size_t failed = line.find(" failed: ");
    if (failed != std::string::npos) line.erase(0, failed + 9);
  }
  for (std::string_view severity : {"FATAL:", "ERROR:", "PANIC:"}) {
    if (line.starts_with(severity)) {
      line.erase(0, severity.size());
      break;
    }
  }
  ReplaceAll(line, "\t", " ");
  ReplaceAll(line, "  ", " ");
  while (!line.empty() && line.front() == ' ') line.erase(0, 1);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  // strerror() text ("Connection refused") reads as part of our sentence.
  if (line.size() >= 2 && line[0] >= 'A' && line[0] <= 'Z' && line[1] >= 'a' && line[1] <= 'z') {
    line[0] = static_cast<char>(line[0] - 'A' + 'a');
  }
  return ShortenForDetail(line, kMaxServerTextBytes);
}

std::string TakeSqlState(std::string* message) {
  std::string last;
  for (size_t at = 0; at < message->size(); ++at) {
    for (std::string_view severity : {"FATAL:  ", "ERROR:  ", "PANIC:  "}) {
      if (message->compare(at, severity.size(), severity) != 0) continue;
      const size_t code = at + severity.size();
      if (code + 7 > message->size() || message->compare(code + 5, 2, ": ") != 0) break;
      const std::string_view candidate = std::string_view(*message).substr(code, 5);
      if (std::all_of(candidate.begin(), candidate.end(),
                      [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); })) {
        last = std::string(candidate);  // several attempts: the last one's
        message->erase(code, 7);
      }
      break;
    }
  }
  return last;
}

FailureReason PostgresReason(std::string_view sqlstate) {
  // 42501: the role may log in but not read what the query reads.
  if (sqlstate.starts_with("28") || sqlstate == "42501") return FailureReason::kAuthFailed;
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
    return FailureReason::kNotServing;
  }
  if (sqlstate == "53300") return FailureReason::kThreshold;
  if (sqlstate.starts_with("53")) return FailureReason::kNotServing;
  if (sqlstate == "25006") return FailureReason::kWrongRole;
  if (sqlstate == "08P01") return FailureReason::kProtocolError;
  if (sqlstate.starts_with("08")) return FailureReason::kConnectionClosed;
  return FailureReason::kAnswerMismatch;
}

PostgresCheckSpec::PostgresCheckSpec(PostgresCheckSettings settings)
    : settings_(std::make_shared<const PostgresCheckSettings>(std::move(settings))) {}

std::unique_ptr<Check> PostgresCheckSpec::CreateCheck(const CheckContext& context) const {
  return std::make_unique<PostgresCheck>(context.io, settings_);
}

std::string PostgresCheckSpec::Target() const {
  const PostgresCheckSettings& s = *settings_;
  std::string host = s.host.empty() ? "localhost" : s.host;
  if (host.find(':') != std::string::npos && !IsSocketDirectory(host)) host = "[" + host + "]";
  std::string target = "postgres://";
  if (!s.user.empty()) target += s.user + "@";
  return target + host + ":" + s.port + "/" + s.dbname;
}

std::shared_ptr<const PostgresCheckSpec> ParsePostgresCheckSpec(config::MapReader& reader) {
  PostgresCheckSettings settings;
  std::optional<std::string> dsn;
  if (reader.Require("dsn")) {
    dsn = reader.String("dsn");
    if (dsn && dsn->empty()) {
      reader.Error("dsn", "must not be empty");
      dsn.reset();
    }
  }
  std::optional<std::string> password;
  bool password_ok = true;
  if (auto path = reader.String("password_file")) {
    std::string error;
    password = ReadPasswordFile(reader.context(), *path, &error);
    if (!password) {
      password_ok = false;
      reader.Error("password_file", error);
    }
  }
  if (dsn && password_ok) ApplyDsn(reader, *dsn, password, settings);
  if (auto query = reader.String("query", /*expand_env=*/false)) {
    if (query->find_first_not_of(" \t\r\n;") == std::string::npos) {
      reader.Error("query", "must not be empty");
    } else {
      settings.query = std::move(*query);
    }
  }
  if (reader.Has("expect")) settings.expect = reader.Regex("expect");
  if (auto role = reader.String("expect_role")) {
    if (*role == "primary") {
      settings.expect_role = PostgresRole::kPrimary;
    } else if (*role == "replica") {
      settings.expect_role = PostgresRole::kReplica;
    } else {
      reader.Error("expect_role", "must be \"primary\" or \"replica\", got " + Quote(*role));
    }
  }
  if (auto lag = reader.Duration("max_replication_lag")) {
    if (settings.expect_role == PostgresRole::kPrimary) {
      reader.Error("max_replication_lag", "only applies to replicas, but expect_role is primary");
    }
    settings.max_replication_lag = *lag;
  }
  if (auto ratio = reader.Percent("connections_degraded_above")) {
    settings.connections_degraded_above = *ratio;
  }
  settings.ip_protocol = ReadIpProtocol(reader);
  if (!reader.Finish()) return nullptr;
  return std::make_shared<const PostgresCheckSpec>(std::move(settings));
}

CheckType PostgresCheckType() { return {"postgres", &ParsePostgresCheckSpec}; }

// One attempt: resolve -> connect -> configured query -> status query. Its
// lifetime is the Attempt base's: a poll handle's memory must outlive its
// close callback.
//
// Socket watching: PQconnectPoll may close its socket and open another (e.g.
// retrying without SSL), possibly under the same descriptor number. The poll
// handle is therefore closed before every PQconnectPoll call (uv_close removes
// the descriptor from epoll at once, while libpq still owns it) and a fresh one
// is made for whatever PQsocket() is afterwards. Likewise it is closed before
// PQfinish().
class PostgresCheck::PostgresAttempt final : public Attempt {
 public:
  explicit PostgresAttempt(const PostgresCheck& owner)
      : settings_(owner.settings_), loop_(owner.io_.loop()), resolver_(owner.io_.resolver()) {
    for (const auto& [key, value] : settings_->conninfo) {
      if (key == "password") password_ = value;
    }
  }

 private:
  enum class Phase { kResolving, kConnecting, kMainQuery, kStatusQuery };

  void Begin() override {
    if (!settings_->resolve_host) {
      Connect({});
      return;
    }
    ResolveThen(resolver_, settings_->host, settings_->ip_protocol,
                [this](const ResolveResult& r) { OnResolved(r); });
  }

  void OnResolved(const ResolveResult& resolved) {
    if (!resolved.error.empty()) {
      End(ResolveFailed(resolved));
      return;
    }
    // libpq tries every hostaddr in turn (as it would every address it
    // resolved itself): "localhost" may be ::1 first and 127.0.0.1 second.
    std::vector<std::string> addresses;
    for (const sockaddr_storage& addr : resolved.addresses) {
      std::string ip = AddressText(addr);
      if (addresses.size() < kMaxAddresses &&
          std::find(addresses.begin(), addresses.end(), ip) == addresses.end()) {
        addresses.push_back(std::move(ip));
      }
    }
    Connect(addresses);
  }

  // Starts connecting; `addresses` are the resolved addresses of a host name.
  void Connect(const std::vector<std::string>& addresses) {
    phase_ = Phase::kConnecting;
    // host and hostaddr are parallel lists for libpq: the name (for TLS and
    // messages) repeated once per address.
    std::string hosts;
    std::string hostaddrs;
    for (const std::string& address : addresses) {
      if (!hosts.empty()) {
        hosts += ',';
        hostaddrs += ',';
      }
      hosts += settings_->host;
      hostaddrs += address;
    }
    std::vector<const char*> keys;
    std::vector<const char*> values;
    for (const auto& [key, value] : settings_->conninfo) {
      keys.push_back(key.c_str());
      values.push_back(!addresses.empty() && key == "host" ? hosts.c_str() : value.c_str());
    }
    if (!addresses.empty()) {
      keys.push_back("hostaddr");
      values.push_back(hostaddrs.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/0);
    // The default notice processor prints server NOTICEs to stderr, unbounded
    // and outside the logger; a health check has no use for them.
    if (conn_ != nullptr)
      PQsetNoticeProcessor(
          conn_, [](void*, const char*) {}, nullptr);
    if (conn_ == nullptr) {
      End(CheckResult::Unhealthy(FailureReason::kInternal, "out of memory"));
      return;
    }
    // The only way to a connection error's SQLSTATE (say 28P01, a wrong
    // password): libpq writes it into the text when verbose (TakeSqlState).
    PQsetErrorVerbosity(conn_, PQERRORS_VERBOSE);
    if (PQstatus(conn_) == CONNECTION_BAD) {
      FailWithConnectionError();
      return;
    }
    // Right after PQconnectStart, libpq waits for the connect to complete.
    WatchSocket(UV_WRITABLE);
  }

  void ContinueConnect() {
    ClosePoll();
    switch (PQconnectPoll(conn_)) {
      case PGRES_POLLING_FAILED:
        FailWithConnectionError();
        return;
      case PGRES_POLLING_OK:
        if (PQsetnonblocking(conn_, 1) != 0) {
          FailWithConnectionError();
          return;
        }
        SendQuery(settings_->query.c_str(), Phase::kMainQuery);
        return;
      case PGRES_POLLING_READING:
        WatchSocket(UV_READABLE);
        return;
      default:
        WatchSocket(UV_WRITABLE);
        return;
    }
  }

  void FailWithConnectionError() {
    std::string message = PQerrorMessage(conn_);
    const std::string sqlstate = TakeSqlState(&message);
    std::string line = PostgresErrorLine(message, password_);
    // libpq: "could not create socket: Too many open files".
    if (const int shortage = FdShortageInText(line)) {
      End(CheckResult::Unhealthy(
          FailureReason::kInternal,
          ReportFdShortage(shortage, "cannot open a connection; the server was not tried")));
      return;
    }
    const FailureReason reason =
        !sqlstate.empty() ? PostgresReason(sqlstate) : ReasonOfClientError(line);
    End(CheckResult::Unhealthy(reason, line.empty() ? "connection failed" : line));
  }

  // A libpq error without a server's SQLSTATE: a password it was asked for
  // and does not have, TLS, a socket error, a lost connection, or an answer
  // that is not PostgreSQL's.
  FailureReason ReasonOfClientError(std::string_view line) const {
    if (PQconnectionNeedsPassword(conn_) != 0) return FailureReason::kAuthFailed;
    if (line.find("certificate has expired") != std::string_view::npos) {
      return FailureReason::kTlsExpired;
    }
    if (line.find("does not match host name") != std::string_view::npos) {
      return FailureReason::kTlsHostname;
    }
    if (line.find("certificate verify failed") != std::string_view::npos) {
      return FailureReason::kTlsUntrusted;
    }
    if (line.find("SSL") != std::string_view::npos) return FailureReason::kTlsHandshake;
    if (line.find("server closed the connection") != std::string_view::npos ||
        line.find("no connection to the server") != std::string_view::npos || line.empty()) {
      return FailureReason::kConnectionClosed;
    }
    if (line.find("timeout expired") != std::string_view::npos) {
      return FailureReason::kConnectTimeout;
    }
    // PostgresErrorLine lowered the first letter of strerror()'s text.
    std::string text(line);
    if (!text.empty() && text[0] >= 'a' && text[0] <= 'z')
      text[0] = static_cast<char>(text[0] - 'a' + 'A');
    const FailureReason socket = ReasonOfSocketErrorText(text);
    return socket != FailureReason::kNone ? socket : FailureReason::kProtocolError;
  }

  // Finishes with `result`, naming the address libpq talked to last.
  void End(CheckResult result) {
    if (conn_ != nullptr) result.address = ServerAddress();
    Finish(std::move(result));
  }

  // "127.0.0.1:5432", "[::1]:5432", "unix:/run/postgresql/.s.PGSQL.5432".
  std::string ServerAddress() const {
    const char* hostaddr = PQhostaddr(conn_);
    const char* port = PQport(conn_);
    const std::string port_text = port != nullptr && *port != '\0' ? port : "5432";
    if (hostaddr != nullptr && *hostaddr != '\0') {
      return HostPortText(hostaddr,
                          static_cast<uint16_t>(std::strtoul(port_text.c_str(), nullptr, 10)));
    }
    const char* host = PQhost(conn_);
    if (host != nullptr && host[0] == '/') {
      return "unix:" + std::string(host) + "/.s.PGSQL." + port_text;
    }
    return "";
  }

  void WatchSocket(int events) {
    const int fd = PQsocket(conn_);
    if (fd < 0) {
      FailWithConnectionError();
      return;
    }
    if (poll_ != nullptr && poll_fd_ != fd) ClosePoll();
    if (poll_ == nullptr) {
      auto* poll = new uv_poll_t;
      const int rc = uv_poll_init(loop_, poll, fd);
      if (rc < 0) {
        delete poll;
        End(CheckResult::Unhealthy(FailureReason::kInternal,
                                   std::string("cannot watch socket: ") + uv_strerror(rc)));
        return;
      }
      poll->data = this;
      poll_ = poll;
      poll_fd_ = fd;
    }
    const int rc = uv_poll_start(poll_, events, &PostgresAttempt::OnSocketReady);
    if (rc < 0) {
      End(CheckResult::Unhealthy(FailureReason::kInternal,
                                 std::string("cannot watch socket: ") + uv_strerror(rc)));
    }
  }

  static void OnSocketReady(uv_poll_t* poll, int status, int events) {
    auto* self = static_cast<PostgresAttempt*>(poll->data);
    RepeatingCallbackGuard guard(self);
    if (!guard.over()) self->HandleReady(status, events);
  }

  void HandleReady(int status, int events) {
    if (phase_ == Phase::kConnecting) {
      // Errors on the socket are PQconnectPoll's to find and describe.
      ContinueConnect();
      return;
    }
    if (status < 0) {
      End(CheckResult::Unhealthy(ReasonOfSocketError(status),
                                 std::string("connection error: ") + uv_strerror(status)));
      return;
    }
    if ((events & UV_READABLE) != 0 && PQconsumeInput(conn_) == 0) {
      FailWithConnectionError();
      return;
    }
    if (flushing_) {
      Flush();
      if (over()) return;
    }
    DrainResults();
  }

  void SendQuery(const char* sql, Phase phase) {
    phase_ = phase;
    if (PQsendQuery(conn_, sql) == 0) {
      FailWithConnectionError();
      return;
    }
    Flush();
  }

  // Writes what libpq has buffered; while some is left, waits for the socket
  // to be writable too (and keeps reading so the server cannot deadlock us).
  void Flush() {
    const int rc = PQflush(conn_);
    if (rc < 0) {
      FailWithConnectionError();
      return;
    }
    flushing_ = rc == 1;
    WatchSocket(flushing_ ? UV_READABLE | UV_WRITABLE : UV_READABLE);
  }

  void DrainResults() {
    while (!over() && PQisBusy(conn_) == 0) {
      PGresult* result = PQgetResult(conn_);
      if (result == nullptr) {
        if (phase_ == Phase::kMainQuery) {
          MainQueryDone();
        } else {
          StatusQueryDone();
        }
        return;
      }
      const bool keep_going = TakeResult(result);
      PQclear(result);
      if (!keep_going) return;
    }
  }

  // False when the attempt ended (COPY, which we do not speak).
  bool TakeResult(const PGresult* result) {
    switch (PQresultStatus(result)) {
      case PGRES_TUPLES_OK:
      case PGRES_SINGLE_TUPLE:
        if (phase_ == Phase::kStatusQuery) {
          if (PQntuples(result) == 1 && PQnfields(result) == 4) {
            status_ = StatusRow{std::strcmp(PQgetvalue(result, 0, 0), "t") == 0,
                                PQgetisnull(result, 0, 1)
                                    ? std::nullopt
                                    : std::optional(std::strtod(PQgetvalue(result, 0, 1), nullptr)),
                                std::strtoll(PQgetvalue(result, 0, 2), nullptr, 10),
                                std::strtoll(PQgetvalue(result, 0, 3), nullptr, 10)};
          }
        } else if (!rows_) {
          rows_ = PQntuples(result);
          if (*rows_ > 0 && PQnfields(result) > 0 && !PQgetisnull(result, 0, 0)) {
            first_value_ = std::string(PQgetvalue(result, 0, 0),
                                       static_cast<size_t>(PQgetlength(result, 0, 0)));
          }
        }
        return true;
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        End(CheckResult::Unhealthy(FailureReason::kProtocolError,
                                   "query failed: COPY is not supported"));
        return false;
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        return true;
      default:
        if (!error_) {
          error_ = ResultError(result, password_);
          const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
          error_reason_ =
              sqlstate != nullptr ? PostgresReason(sqlstate) : FailureReason::kProtocolError;
        }
        return true;
    }
  }

  void MainQueryDone() {
    if (error_) {
      End(CheckResult::Unhealthy(error_reason_, "query failed: " + *error_));
      return;
    }
    if (settings_->expect) {
      const std::string pattern = Quote(settings_->expect->pattern());
      if (rows_.value_or(0) == 0) {
        End(CheckResult::Unhealthy(FailureReason::kAnswerMismatch,
                                   "query returned no rows, expected a value matching " + pattern));
        return;
      }
      if (!first_value_) {
        End(CheckResult::Unhealthy(FailureReason::kAnswerMismatch,
                                   "first value is NULL, expected a match for " + pattern));
        return;
      }
      if (!RE2::PartialMatch(*first_value_, *settings_->expect)) {
        End(CheckResult::Unhealthy(
            FailureReason::kAnswerMismatch,
            "first value " + QuoteEscaped(*first_value_) + " does not match " + pattern));
        return;
      }
    }
    SendQuery(kPostgresStatusQuery, Phase::kStatusQuery);
  }

  void StatusQueryDone() {
    if (error_ || !status_) {
      End(CheckResult::Unhealthy(
          error_ ? error_reason_ : FailureReason::kProtocolError,
          "status query failed: " + error_.value_or("unexpected result shape")));
      return;
    }
    const StatusRow& row = *status_;
    std::vector<Observation> observations;
    if (row.max_connections > 0) {
      observations.emplace_back(ObservationId::kPostgresConnectionsUsedRatio,
                                static_cast<double>(row.connections) / row.max_connections);
    }
    if (row.in_recovery && row.lag_seconds) {
      observations.emplace_back(ObservationId::kPostgresReplicationLagSeconds, *row.lag_seconds);
    }
    const PostgresRole role = row.in_recovery ? PostgresRole::kReplica : PostgresRole::kPrimary;
    CheckResult result = Evaluate(row, role);
    result.observations = std::move(observations);
    End(std::move(result));
  }

  struct StatusRow {
    bool in_recovery = false;
    std::optional<double> lag_seconds;  // NULL: nothing replayed yet
    long long connections = 0;
    long long max_connections = 0;
  };

  CheckResult Evaluate(const StatusRow& row, PostgresRole role) const {
    const PostgresCheckSettings& s = *settings_;
    if (s.expect_role && *s.expect_role != role) {
      return CheckResult::Unhealthy(
          FailureReason::kWrongRole,
          "role is " + RoleName(role) + ", expected " + RoleName(*s.expect_role));
    }
    std::vector<std::string> degraded;
    if (role == PostgresRole::kReplica && s.max_replication_lag) {
      if (!row.lag_seconds) {
        degraded.emplace_back("replication lag unknown: no transaction replayed yet");
      } else if (*row.lag_seconds > ToSeconds(*s.max_replication_lag)) {
        degraded.push_back("replication lag " + FormatLag(*row.lag_seconds) + " > " +
                           FormatDuration(*s.max_replication_lag));
      }
    }
    if (s.connections_degraded_above && row.max_connections > 0) {
      const double ratio = static_cast<double>(row.connections) / row.max_connections;
      if (ratio > *s.connections_degraded_above) {
        degraded.push_back("connections " + std::to_string(std::llround(ratio * 100)) +
                           "% of max_connections (" + std::to_string(row.connections) + "/" +
                           std::to_string(row.max_connections) + ")");
      }
    }
    if (!degraded.empty()) {
      std::string detail = degraded[0];
      for (size_t i = 1; i < degraded.size(); ++i) detail += "; " + degraded[i];
      // Lag (or a lag not known yet) and connections: values beyond limits.
      return CheckResult::Degraded(FailureReason::kThreshold, std::move(detail));
    }
    std::string detail;
    if (!rows_) {
      detail = "query returned no rows";
    } else {
      detail = std::to_string(*rows_) + (*rows_ == 1 ? " row" : " rows");
      if (*rows_ > 0) {
        detail += ", first value " + (first_value_ ? QuoteEscaped(*first_value_) : "NULL");
        if (s.expect) detail += " (matches)";
      }
    }
    if (role == PostgresRole::kReplica) {
      detail += "; replica, lag " +
                (row.lag_seconds ? FormatLag(*row.lag_seconds) : std::string("unknown"));
    } else if (s.expect_role) {
      detail += "; primary";
    }
    return CheckResult::Healthy(std::move(detail));
  }

  // Closes the poll handle first: uv_close() unregisters the descriptor while
  // it is still open; PQfinish() closes it.
  void Release() override {
    ClosePoll();
    if (conn_ != nullptr) PQfinish(std::exchange(conn_, nullptr));
  }

  void ClosePoll() {
    if (poll_ == nullptr) return;
    uv_poll_t* poll = std::exchange(poll_, nullptr);
    poll_fd_ = -1;
    ExpectCallback();
    uv_close(reinterpret_cast<uv_handle_t*>(poll), &PostgresAttempt::OnPollClosed);
  }

  static void OnPollClosed(uv_handle_t* handle) {
    auto* self = static_cast<PostgresAttempt*>(handle->data);
    delete reinterpret_cast<uv_poll_t*>(handle);
    CallbackGuard guard(self);
  }

  std::shared_ptr<const PostgresCheckSettings> settings_;
  uv_loop_t* loop_;
  std::string password_;  // masked out of every detail
  Resolver& resolver_;
  PGconn* conn_ = nullptr;
  uv_poll_t* poll_ = nullptr;  // heap-allocated until OnPollClosed
  int poll_fd_ = -1;
  Phase phase_ = Phase::kResolving;
  std::optional<int> rows_;  // of the first row-returning result
  std::optional<std::string> first_value_;
  std::optional<std::string> error_;                   // first error of the current query
  FailureReason error_reason_ = FailureReason::kNone;  // with error_
  std::optional<StatusRow> status_;
  bool flushing_ = false;  // PQflush left data to send
};

PostgresCheck::PostgresCheck(IoContext& io, std::shared_ptr<const PostgresCheckSettings> settings)
    : io_(io), settings_(std::move(settings)) {}

std::unique_ptr<Attempt> PostgresCheck::NewAttempt() {
  return std::make_unique<PostgresAttempt>(*this);
}

}  // namespace hx
