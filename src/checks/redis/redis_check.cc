#include "checks/redis/redis_check.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <uv.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "checks/common/failure_reasons.h"
#include "checks/common/host_port.h"
#include "checks/common/ip_protocol.h"
#include "config/secret_file.h"
#include "io/io_context.h"
#include "util/fd_shortage.h"
#include "util/quote.h"

namespace hx {
namespace {

constexpr std::string_view kUnixPrefix = "unix:";
// Server error texts are quoted in details; long ones are cut here.
constexpr size_t kMaxQuotedErrorChars = 120;

// hiredis reports strerror()-style texts ("Connection refused"); details
// start in lower case like every other check's.
std::string LowerFirst(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' &&
      (text.size() == 1 || !(text[1] >= 'A' && text[1] <= 'Z'))) {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

// A server's error text made safe and short for a detail: one line, printable,
// no trailing full stop, at most kMaxQuotedErrorChars, and the password (if
// the server ever echoed it) replaced.
std::string CleanServerText(std::string_view raw, const std::string& password) {
  // Mask first, on the server's own bytes: cutting or normalising first could
  // split or alter the password so that it no longer matches.
  std::string masked(raw);
  if (!password.empty()) {
    for (size_t at = masked.find(password); at != std::string::npos;
         at = masked.find(password, at + 3)) {
      masked.replace(at, password.size(), "***");
    }
  }
  std::string_view text = masked;
  std::string out;
  for (char c : text) {
    if (out.size() >= kMaxQuotedErrorChars) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '.')) out.pop_back();
  return out;
}

// The value of `key` in an INFO reply ("key:value" lines), if present.
std::optional<std::string_view> InfoField(std::string_view info, std::string_view key) {
  while (!info.empty()) {
    const size_t end = info.find('\n');
    std::string_view line = info.substr(0, end);
    info = end == std::string_view::npos ? std::string_view() : info.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ':') {
      return line.substr(key.size() + 1);
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> InfoNumber(std::string_view info, std::string_view key) {
  std::optional<std::string_view> text = InfoField(info, key);
  if (!text) return std::nullopt;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size()) return std::nullopt;
  return value;
}

// "93%"; when that would hide that the ratio is above a threshold of the
// same whole percent ("90%" above 90%), one decimal ("90.4%").
std::string FormatPercent(double ratio, std::optional<double> threshold) {
  const double percent = ratio * 100;
  const double whole = std::floor(percent);
  char buf[32];
  if (threshold && ratio > *threshold && whole <= *threshold * 100) {
    std::snprintf(buf, sizeof(buf), "%.1f%%", percent);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f%%", whole);
  }
  return buf;
}

std::string FormatRatioThreshold(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g%%", fraction * 100);
  return buf;
}

// Reads a password file: the whole content without trailing line breaks.
// The libuv adapter of hiredis 0.14 drops poll events that carry an error
// status: libuv reports POLLERR (a refused connect, a reset connection) as
// UV_EBADF and stops the handle, the adapter returns, and hiredis never learns
// that the connection failed. These replacements for the adapter's event
// hooks keep its bookkeeping (`events`) and memory management but poll with a
// callback that lets hiredis try the pending read and write, which then fail
// with the real error.
void PollAfterError(uv_poll_t* handle, int status, int events) {
  auto* p = static_cast<redisLibuvEvents*>(handle->data);
  const int ready = status < 0 ? p->events : events;
  // `context` is cleared when hiredis frees the context during the read.
  if (p->context != nullptr && (ready & UV_READABLE)) redisAsyncHandleRead(p->context);
  if (p->context != nullptr && (ready & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
}

void UpdatePoll(void* privdata, int add, int remove) {
  auto* p = static_cast<redisLibuvEvents*>(privdata);
  p->events = (p->events | add) & ~remove;
  if (p->events != 0) {
    uv_poll_start(&p->handle, p->events, &PollAfterError);
  } else {
    uv_poll_stop(&p->handle);
  }
}

void AddRead(void* privdata) { UpdatePoll(privdata, UV_READABLE, 0); }
void DelRead(void* privdata) { UpdatePoll(privdata, 0, UV_READABLE); }
void AddWrite(void* privdata) { UpdatePoll(privdata, UV_WRITABLE, 0); }
void DelWrite(void* privdata) { UpdatePoll(privdata, 0, UV_WRITABLE); }

// redisLibuvAttach with the error-reporting poll callback above.
int AttachToLoop(redisAsyncContext* context, uv_loop_t* loop) {
  if (redisLibuvAttach(context, loop) != REDIS_OK) return REDIS_ERR;
  context->ev.addRead = &AddRead;
  context->ev.delRead = &DelRead;
  context->ev.addWrite = &AddWrite;
  context->ev.delWrite = &DelWrite;
  return REDIS_OK;
}

}  // namespace

RedisCheckSpec::RedisCheckSpec(RedisCheckSettings settings)
    : settings_(std::make_shared<const RedisCheckSettings>(std::move(settings))) {}

std::unique_ptr<Check> RedisCheckSpec::CreateCheck(const CheckContext& context) const {
  return std::make_unique<RedisCheck>(context.io, settings_);
}

std::string RedisCheckSpec::Target() const {
  const RedisCheckSettings& s = *settings_;
  if (!s.socket_path.empty()) {
    std::string target = std::string(kUnixPrefix) + s.socket_path;
    if (s.db != 0) target += "?db=" + std::to_string(s.db);
    return target;
  }
  const bool v6 = s.host.find(':') != std::string::npos;
  return "redis://" + (v6 ? "[" + s.host + "]" : s.host) + ":" + std::to_string(s.port) + "/" +
         std::to_string(s.db);
}

std::shared_ptr<const RedisCheckSpec> ParseRedisCheckSpec(config::MapReader& reader) {
  RedisCheckSettings settings;
  if (reader.Require("address")) {
    if (auto address = reader.String("address")) {
      if (address->starts_with(kUnixPrefix)) {
        settings.socket_path = address->substr(kUnixPrefix.size());
        if (settings.socket_path.empty() || settings.socket_path.front() != '/') {
          reader.Error("address", "a unix socket address must be unix:/absolute/path");
        } else if (settings.socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
          // hiredis would silently cut a longer path.
          reader.Error("address", "unix socket path must be shorter than " +
                                      std::to_string(sizeof(sockaddr_un::sun_path)) + " bytes");
        }
      } else {
        std::string error;
        if (auto host_port = SplitHostPort(*address, &error)) {
          settings.host = std::move(host_port->first);
          settings.port = host_port->second;
        } else {
          reader.Error("address", error + " (or unix:/path/to/socket)");
        }
      }
    }
  }
  if (auto username = reader.String("username")) {
    if (username->empty()) {
      reader.Error("username", "must not be empty");
    } else {
      settings.username = std::move(*username);
    }
  }
  const bool has_password = reader.Has("password");
  const bool has_password_file = reader.Has("password_file");
  if (has_password && has_password_file) {
    reader.Accept("password");
    reader.Accept("password_file");
    reader.Error("password_file", "set either password or password_file, not both");
  } else if (has_password) {
    // Any error message quotes the raw YAML text, never an expanded secret.
    if (auto password = reader.String("password")) {
      if (password->empty()) {
        reader.Error("password", "must not be empty");
      } else {
        settings.password = std::move(*password);
      }
    }
  } else if (has_password_file) {
    if (auto path = reader.String("password_file")) {
      if (path->empty()) {
        reader.Error("password_file", "must not be empty");
      } else {
        std::string error;
        if (auto password = config::ReadSecretFile(reader.context(), *path, "password", &error)) {
          if (password->empty()) {
            reader.Error("password_file", "password file " + Quote(*path) + " is empty");
          } else {
            settings.password = std::move(*password);
          }
        } else {
          // The path is not a secret; the content is and is never quoted.
          reader.Error("password_file", error);
        }
      }
    }
  }
  if (reader.Has("username") && !has_password && !has_password_file) {
    reader.Error("username", "needs a password or password_file");
  }
  if (auto db = reader.Int("db", 0, 2147483647)) settings.db = *db;
  if (auto role = reader.String("expect_role")) {
    if (*role == "master") {
      settings.expect_role = RedisCheckSettings::Role::kMaster;
    } else if (*role == "replica") {
      settings.expect_role = RedisCheckSettings::Role::kReplica;
    } else {
      reader.Error("expect_role", "must be \"master\" or \"replica\", got " + Quote(*role));
    }
  }
  if (auto above = reader.Percent("memory_degraded_above")) {
    if (*above <= 0) {
      reader.Error("memory_degraded_above", "must be above 0%");
    } else {
      settings.memory_degraded_above = *above;
    }
  }
  settings.ip_protocol = ReadIpProtocol(reader);
  if (!reader.Finish()) return nullptr;
  return std::make_shared<const RedisCheckSpec>(std::move(settings));
}

CheckType RedisCheckType() { return {"redis", &ParseRedisCheckSpec}; }

// One attempt. Frees itself once it is over (finished or cancelled) and
// hiredis can no longer call it: `reaper_` is a libuv handle that is never started, only closed
// when the attempt ends; its close callback runs from the loop, outside every
// hiredis callback, so it is where a context the attempt still owns is freed
// and where the attempt deletes itself.
//
// `context_` is the hiredis context in use. hiredis frees a context by itself
// after a connection error (after calling our connect callback with an error,
// the pending reply callbacks with a null reply and the disconnect callback),
// so every such callback forgets the context first; callbacks for any context
// other than `context_` (an address that failed, or one already forgotten)
// are ignored.
class RedisCheck::RedisAttempt final : public Attempt {
 public:
  explicit RedisAttempt(const RedisCheck& owner)
      : settings_(owner.settings_), loop_(owner.io_.loop()), resolver_(owner.io_.resolver()) {
    uv_idle_init(loop_, &reaper_);
    reaper_.data = this;
  }

 private:
  enum class Step { kAuth, kSelect, kPing, kInfoReplication, kInfoMemory };

  void Begin() override {
    if (!settings_->socket_path.empty()) {
      Connect("");
      return;
    }
    // An IP needs no resolving.
    unsigned char ip[sizeof(in6_addr)];
    if (uv_inet_pton(AF_INET, settings_->host.c_str(), ip) == 0 ||
        uv_inet_pton(AF_INET6, settings_->host.c_str(), ip) == 0) {
      addresses_.push_back(settings_->host);
      ConnectNext("");
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
    for (const sockaddr_storage& addr : resolved.addresses) {
      addresses_.push_back(AddressText(addr));
    }
    ConnectNext("");
  }

  // Connects to the next resolved address; `last_error` (empty: resolving
  // found nothing) with `last_reason` is reported when none is left.
  void ConnectNext(const std::string& last_error,
                   FailureReason last_reason = FailureReason::kDnsError) {
    if (next_address_ >= addresses_.size()) {
      End(CheckResult::Unhealthy(
          last_reason,
          last_error.empty() ? "could not resolve host " + Quote(settings_->host) : last_error));
      return;
    }
    Connect(addresses_[next_address_++]);
  }

  // Finishes with `result`, naming the address this attempt talked to last.
  void End(CheckResult result) {
    result.address = address_;
    Finish(std::move(result));
  }

  // `ip` empty: the unix socket.
  void Connect(const std::string& ip) {
    address_ = ip.empty() ? std::string(kUnixPrefix) + settings_->socket_path
                          : HostPortText(ip, static_cast<uint16_t>(settings_->port));
    redisAsyncContext* context = ip.empty() ? redisAsyncConnectUnix(settings_->socket_path.c_str())
                                            : redisAsyncConnect(ip.c_str(), settings_->port);
    if (context == nullptr) {
      End(CheckResult::Unhealthy(FailureReason::kInternal, "out of memory"));
      return;
    }
    if (context->err != 0) {
      // Failed before any event was attached: no callbacks, safe to free.
      std::string error = LowerFirst(context->errstr);
      // hiredis puts strerror(errno) of a failed socket() here.
      if (const int shortage = FdShortageInText(context->errstr)) {
        error = ReportFdShortage(shortage, "cannot open a connection; the server was not tried");
        redisAsyncFree(context);
        End(CheckResult::Unhealthy(FailureReason::kInternal, error));
        return;
      }
      const FailureReason reason = ConnectionReason(context->c);
      redisAsyncFree(context);
      if (ip.empty()) {
        End(CheckResult::Unhealthy(reason, error));
      } else {
        ConnectNext(error, reason);
      }
      return;
    }
    context->data = this;
    if (AttachToLoop(context, loop_) != REDIS_OK) {
      redisAsyncFree(context);
      End(CheckResult::Unhealthy(FailureReason::kInternal,
                                 "could not watch the connection on the event loop"));
      return;
    }
    redisAsyncSetConnectCallback(context, &RedisAttempt::OnConnect);
    redisAsyncSetDisconnectCallback(context, &RedisAttempt::OnDisconnect);
    context_ = context;
    using_unix_ = ip.empty();
    // hiredis watches the socket (and so notices the connect) only once a
    // command is queued.
    if (!settings_->password.empty()) {
      Send(Step::kAuth);
    } else {
      SendAfterAuth();
    }
  }

  void SendAfterAuth() { Send(settings_->db != 0 ? Step::kSelect : Step::kPing); }

  void Send(Step step) {
    step_ = step;
    std::vector<std::string> args;
    switch (step) {
      case Step::kAuth:
        args = {"AUTH"};
        if (!settings_->username.empty()) args.push_back(settings_->username);
        args.push_back(settings_->password);
        break;
      case Step::kSelect:
        args = {"SELECT", std::to_string(settings_->db)};
        break;
      case Step::kPing:
        args = {"PING"};
        break;
      case Step::kInfoReplication:
        args = {"INFO", "replication"};
        break;
      case Step::kInfoMemory:
        args = {"INFO", "memory"};
        break;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAsyncCommandArgv(context_, &RedisAttempt::OnReply, this, static_cast<int>(argv.size()),
                              argv.data(), lengths.data()) != REDIS_OK) {
      // Only out of memory: hiredis refuses commands on a context being
      // freed, and this attempt forgets a context before it is freed.
      End(CheckResult::Unhealthy(FailureReason::kInternal, "could not queue a command"));
    }
  }

  // Runs `handle` unless the callback is for a context this attempt has let
  // go. A context in use is freed before the attempt is (OnReaperClosed).
  template <typename Handler>
  static void Dispatch(const redisAsyncContext* context, RedisAttempt* self, Handler handle) {
    if (self == nullptr || context != self->context_) return;
    RepeatingCallbackGuard guard(self);
    ++self->in_hiredis_callback_;
    handle();
    --self->in_hiredis_callback_;
  }

  static void OnConnect(const redisAsyncContext* context, int status) {
    auto* self = static_cast<RedisAttempt*>(context->data);
    Dispatch(context, self, [&] {
      if (status == REDIS_OK) return;
      // hiredis frees the context when this returns.
      const std::string error = ConnectionError(context->c);
      const FailureReason reason = ConnectionReason(context->c);
      self->context_ = nullptr;
      if (self->over()) return;
      if (self->using_unix_) {
        self->End(CheckResult::Unhealthy(reason, error));
      } else {
        self->ConnectNext(error, reason);
      }
    });
  }

  static void OnDisconnect(const redisAsyncContext* context, int) {
    auto* self = static_cast<RedisAttempt*>(context->data);
    Dispatch(context, self, [&] {
      const std::string error = ConnectionError(context->c);
      const FailureReason reason = ConnectionReason(context->c);
      self->context_ = nullptr;
      self->End(CheckResult::Unhealthy(reason, error));
    });
  }

  static void OnReply(redisAsyncContext* context, void* reply, void* privdata) {
    auto* self = static_cast<RedisAttempt*>(privdata);
    Dispatch(context, self, [&] {
      if (reply == nullptr) {
        // Only a context being freed answers with no reply: by hiredis after
        // a connection error (ours are forgotten before freeing).
        const std::string error = ConnectionError(context->c);
        const FailureReason reason = ConnectionReason(context->c);
        self->context_ = nullptr;
        self->End(CheckResult::Unhealthy(reason, error));
        return;
      }
      if (!self->over()) self->HandleReply(*static_cast<redisReply*>(reply));
    });
  }

  static std::string ConnectionError(const redisContext& c) {
    if (c.err == 0 || c.errstr[0] == '\0') return "connection closed";
    return LowerFirst(c.errstr);
  }

  // hiredis keeps only the text of a socket error (strerror), and its own
  // kinds for the rest.
  static FailureReason ConnectionReason(const redisContext& c) {
    switch (c.err) {
      case 0:
      case REDIS_ERR_EOF:
        return FailureReason::kConnectionClosed;
      case REDIS_ERR_PROTOCOL:
        return FailureReason::kProtocolError;
      case REDIS_ERR_OOM:
        return FailureReason::kInternal;
      default: {
        const FailureReason reason = ReasonOfSocketErrorText(c.errstr);
        return reason == FailureReason::kNone ? FailureReason::kConnectionClosed : reason;
      }
    }
  }

  void HandleReply(const redisReply& reply) {
    if (reply.type == REDIS_REPLY_ERROR) {
      const std::string_view text(reply.str, reply.len);
      End(CheckResult::Unhealthy(ReasonOfError(text), DescribeError(text)));
      return;
    }
    switch (step_) {
      case Step::kAuth:
        SendAfterAuth();
        return;
      case Step::kSelect:
        Send(Step::kPing);
        return;
      case Step::kPing: {
        const bool pong = (reply.type == REDIS_REPLY_STATUS || reply.type == REDIS_REPLY_STRING) &&
                          std::string_view(reply.str, reply.len) == "PONG";
        if (!pong) {
          End(CheckResult::Unhealthy(FailureReason::kProtocolError, "PING answered without PONG"));
          return;
        }
        Send(Step::kInfoReplication);
        return;
      }
      case Step::kInfoReplication:
      case Step::kInfoMemory:
        if (reply.type != REDIS_REPLY_STRING) {
          End(CheckResult::Unhealthy(FailureReason::kProtocolError, "INFO answered without text"));
          return;
        }
        if (step_ == Step::kInfoReplication) {
          replication_info_.assign(reply.str, reply.len);
          Send(Step::kInfoMemory);
        } else {
          End(Evaluate(replication_info_, std::string_view(reply.str, reply.len)));
        }
        return;
    }
  }

  // A server's error reply: not serving while it loads, has lost its master
  // or runs a script; credentials refused (NOAUTH, WRONGPASS, NOPERM, any
  // AUTH error); otherwise the server answered, just not as expected.
  FailureReason ReasonOfError(std::string_view text) const {
    if (text.starts_with("LOADING") || text.starts_with("MASTERDOWN") || text.starts_with("BUSY")) {
      return FailureReason::kNotServing;
    }
    if (text.starts_with("NOAUTH") || text.starts_with("WRONGPASS") || text.starts_with("NOPERM") ||
        step_ == Step::kAuth) {
      return FailureReason::kAuthFailed;
    }
    return FailureReason::kAnswerMismatch;
  }

  std::string DescribeError(std::string_view text) const {
    std::string clean = CleanServerText(text, settings_->password);
    if (text.starts_with("LOADING")) return "server is loading the dataset";
    if (text.starts_with("MASTERDOWN")) return "replica's link to master is down (MASTERDOWN)";
    if (text.starts_with("NOAUTH")) return "NOAUTH: password required";
    switch (step_) {
      case Step::kAuth:
        return "authentication failed: " + clean;
      case Step::kSelect:
        return "SELECT " + std::to_string(settings_->db) + " failed: " + clean;
      case Step::kPing:
        return "PING failed: " + clean;
      case Step::kInfoReplication:
      case Step::kInfoMemory:
        return "INFO failed: " + clean;
    }
    return clean;
  }

  CheckResult Evaluate(std::string_view replication, std::string_view memory) const {
    CheckResult result = CheckResult::Healthy("");
    const std::string role_text = std::string(InfoField(replication, "role").value_or(""));
    const bool replica = role_text == "slave" || role_text == "replica";
    // Only the roles Redis knows reach a detail: the server's text is not to
    // be trusted with what lands in /status and the log.
    const std::string role = replica                                            ? "replica"
                             : role_text == "master" || role_text == "sentinel" ? role_text
                                                                                : std::string();

    std::string memory_note;
    bool memory_degraded = false;
    const std::optional<uint64_t> used = InfoNumber(memory, "used_memory");
    const std::optional<uint64_t> max = InfoNumber(memory, "maxmemory");
    if (used && max && *max > 0) {
      const double ratio = static_cast<double>(*used) / static_cast<double>(*max);
      result.observations.emplace_back(ObservationId::kRedisMemoryUsedRatio, ratio);
      const std::optional<double>& above = settings_->memory_degraded_above;
      memory_note = "memory " + FormatPercent(ratio, above) + " of maxmemory";
      if (above && ratio > *above) {
        memory_degraded = true;
        memory_note += " (above " + FormatRatioThreshold(*above) + ")";
      }
    }

    using Role = RedisCheckSettings::Role;
    if (settings_->expect_role != Role::kAny) {
      const std::string_view expected =
          settings_->expect_role == Role::kMaster ? "master" : "replica";
      if (role != expected) {
        result.health = Health::kUnhealthy;
        result.reason = FailureReason::kWrongRole;
        result.detail = "role " + (role.empty() ? std::string("unknown") : role) + ", expected " +
                        std::string(expected);
        return result;
      }
    }
    if (replica && InfoField(replication, "master_link_status").value_or("") != "up") {
      // What MASTERDOWN says to a client: this replica cannot serve.
      result.health = Health::kUnhealthy;
      result.reason = FailureReason::kNotServing;
      result.detail = "replica's link to master is down";
      return result;
    }
    if (memory_degraded) {
      result.health = Health::kDegraded;
      result.reason = FailureReason::kThreshold;
      result.detail = memory_note;
      return result;
    }
    result.detail = "role " + (role.empty() ? std::string("unknown") : role);
    if (replica) result.detail += ", master link up";
    if (!memory_note.empty()) result.detail += ", " + memory_note;
    return result;
  }

  // Gives up the context (if hiredis has not already) and the attempt.
  void FreeContext() {
    if (context_ == nullptr) return;
    // Forgotten first: freeing calls our callbacks once more (null replies,
    // disconnect), which must be ignored.
    redisAsyncContext* context = std::exchange(context_, nullptr);
    redisAsyncFree(context);
  }

  // Inside a hiredis callback of this attempt (the usual way it finishes) the
  // context is freed later, from the reaper's close callback; outside one (a
  // Cancel(), which never runs inside one, or a finish from a libuv callback)
  // it is freed right here.
  void Release() override {
    if (in_hiredis_callback_ == 0) FreeContext();
    ExpectCallback();
    uv_close(reinterpret_cast<uv_handle_t*>(&reaper_), &RedisAttempt::OnReaperClosed);
  }

  static void OnReaperClosed(uv_handle_t* handle) {
    auto* self = static_cast<RedisAttempt*>(handle->data);
    CallbackGuard guard(self);
    self->FreeContext();
  }

  std::shared_ptr<const RedisCheckSettings> settings_;
  uv_loop_t* loop_;
  Resolver& resolver_;
  uv_idle_t reaper_{};
  redisAsyncContext* context_ = nullptr;  // the context in use; null when none
  std::vector<std::string> addresses_;    // resolved IPs, tried in order
  std::string address_;                   // the one tried last, for results
  size_t next_address_ = 0;
  Step step_ = Step::kPing;
  std::string replication_info_;
  int in_hiredis_callback_ = 0;
  bool using_unix_ = false;
};

RedisCheck::RedisCheck(IoContext& io, std::shared_ptr<const RedisCheckSettings> settings)
    : io_(io), settings_(std::move(settings)) {}

std::unique_ptr<Attempt> RedisCheck::NewAttempt() { return std::make_unique<RedisAttempt>(*this); }

}  // namespace hx
