#include "checks/heartbeat/heartbeat_check.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "config/secret_file.h"
#include "store/heartbeat_import.h"
#include "store/store.h"
#include "util/log.h"
#include "util/quote.h"

namespace hx {
namespace {

// Token characters of RFC 6750's b64token plus what `openssl rand -base64`
// and friends produce; whitespace would be lost in the header anyway.
bool ValidTokenChars(std::string_view token) {
  return std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// Validates a token; reports problems at `key` without quoting the token.
bool CheckToken(config::MapReader& reader, std::string_view key, const std::string& token,
                const std::string& what) {
  if (token.empty()) {
    reader.Error(key, what + " is empty");
    return false;
  }
  if (!ValidTokenChars(token)) {
    reader.Error(key, what + " must be printable ASCII without spaces");
    return false;
  }
  if (token.size() < kMinHeartbeatTokenLength) {
    reader.Error(key, what + " must be at least " + std::to_string(kMinHeartbeatTokenLength) +
                          " characters (e.g. from `openssl rand -hex 32`)");
    return false;
  }
  return true;
}

// Length of the valid UTF-8 sequence at the start of `s` (0 if invalid),
// and its code point in *cp.
size_t Utf8Sequence(std::string_view s, char32_t* cp) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  size_t len = 0;
  char32_t value = 0;
  char32_t min = 0;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, value = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, value = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, value = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    value = (value << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values past Unicode are not characters.
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *cp = value;
  return len;
}

// C0/C1 controls, DEL, and the Unicode line/paragraph separators and bidi
// overrides that could make one line look like several or reorder text.
bool UnprintableCodePoint(char32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

HeartbeatResponse Respond(int status, std::string body) {
  return {status, std::move(body) + "\n", {}};
}

// The token of an "Authorization: Bearer <token>" header; nullopt otherwise.
std::optional<std::string_view> BearerToken(std::string_view header) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  header = trim(header);
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  if (header[kScheme.size()] != ' ' && header[kScheme.size()] != '\t') return std::nullopt;
  std::string_view token = trim(header.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return token;
}

}  // namespace

// --- spec and parsing ---

HeartbeatCheckSpec::HeartbeatCheckSpec(HeartbeatCheckSettings settings)
    : settings_(std::move(settings)) {}

std::unique_ptr<Check> HeartbeatCheckSpec::CreateCheck(const CheckContext& context) const {
  const HeartbeatService* service =
      context.services != nullptr ? context.services->Find<HeartbeatService>() : nullptr;
  return std::make_unique<HeartbeatCheck>(service != nullptr ? service->store() : nullptr,
                                          std::string(context.name), settings_.ttl);
}

std::string HeartbeatCheckSpec::Target() const {
  return "push, ttl " + FormatHeartbeatAge(ToSeconds(settings_.ttl));
}

std::shared_ptr<const HeartbeatCheckSpec> ParseHeartbeatCheckSpec(config::MapReader& reader) {
  HeartbeatCheckSettings settings;
  if (reader.Require("ttl")) {
    if (auto ttl = reader.Duration("ttl")) {
      if (*ttl < std::chrono::seconds(1)) {
        reader.Error("ttl", "must be at least 1s");
      } else {
        settings.ttl = *ttl;
      }
    }
  }
  const bool has_token = reader.Has("token");
  const bool has_token_file = reader.Has("token_file");
  if (has_token && has_token_file) {
    reader.Accept("token");
    reader.Accept("token_file");
    reader.Error("token_file", "set either token or token_file, not both");
  } else if (has_token) {
    // Messages never quote the value: it may have come from ${VAR}.
    if (auto token = reader.String("token")) {
      if (CheckToken(reader, "token", *token, "the token")) settings.token = std::move(*token);
    }
  } else if (has_token_file) {
    if (auto path = reader.String("token_file")) {
      std::string error;
      if (path->empty()) {
        reader.Error("token_file", "must not be empty");
      } else if (auto token = config::ReadSecretFile(reader.context(), *path, "token", &error)) {
        if (CheckToken(reader, "token_file", *token, "the token in " + Quote(*path))) {
          settings.token = std::move(*token);
        }
      } else {
        reader.Error("token_file", error);
      }
    }
  } else {
    reader.Error("missing required key \"token\" or \"token_file\"");
  }
  if (!reader.Finish()) return nullptr;
  return std::make_shared<const HeartbeatCheckSpec>(std::move(settings));
}

NamedCheckSpecs HeartbeatChecksOf(const NamedCheckSpecs& checks) {
  NamedCheckSpecs watched;
  for (const auto& [name, spec] : checks) {
    if (dynamic_cast<const HeartbeatCheckSpec*>(spec) != nullptr) watched.emplace_back(name, spec);
  }
  return watched;
}

void WatchHeartbeatChecks(const NamedCheckSpecs& checks, HeartbeatStore& store) {
  store.Watch(HeartbeatChecksOf(checks));
}

CheckType HeartbeatCheckType() { return {"heartbeat", &ParseHeartbeatCheckSpec}; }

// --- judging ---

std::string FormatHeartbeatAge(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  const auto total = static_cast<uint64_t>(std::floor(seconds));
  const uint64_t hours = total / 3600;
  const uint64_t minutes = total % 3600 / 60;
  const uint64_t secs = total % 60;
  std::string out;
  if (hours > 0) {
    out = std::to_string(hours) + "h";
    if (minutes > 0) out += std::to_string(minutes) + "m";
  } else if (minutes > 0) {
    out = std::to_string(minutes) + "m";
    if (secs > 0) out += std::to_string(secs) + "s";
  } else {
    out = std::to_string(secs) + "s";
  }
  return out;
}

CheckResult JudgeHeartbeat(const HeartbeatRecord& record, Duration ttl, double now) {
  const double ttl_seconds = ToSeconds(ttl);
  const std::string ttl_text = "(ttl " + FormatHeartbeatAge(ttl_seconds) + ")";
  CheckResult result;
  if (!record.pinged()) {
    // A daily job configured an hour ago is not late yet: wait one ttl.
    if (now - record.watched_since < ttl_seconds) {
      return CheckResult::Healthy("waiting for the first heartbeat " + ttl_text);
    }
    return CheckResult::Unhealthy(FailureReason::kHeartbeatMissed,
                                  "no heartbeat since the daemon started watching " + ttl_text);
  }
  // A wall clock stepped backwards must not make a ping look like the future.
  const double age = std::max(0.0, now - record.last_ping);
  if (!record.last_ok) {
    result = CheckResult::Unhealthy(FailureReason::kHeartbeatFailed,
                                    "job reported failure: " + record.detail);
  } else if (age > ttl_seconds) {
    result = CheckResult::Unhealthy(FailureReason::kHeartbeatMissed,
                                    "no heartbeat for " + FormatHeartbeatAge(age) + " " + ttl_text);
  } else {
    result = CheckResult::Healthy("last heartbeat " + FormatHeartbeatAge(age) + " ago");
  }
  result.observations.emplace_back(ObservationId::kHeartbeatLastPingTimestampSeconds,
                                   record.last_ping);
  return result;
}

HeartbeatCheck::HeartbeatCheck(std::shared_ptr<const HeartbeatStore> store, std::string name,
                               Duration ttl, WallClock wall_clock)
    : store_(std::move(store)),
      name_(std::move(name)),
      ttl_(ttl),
      wall_clock_(std::move(wall_clock)) {
  if (!wall_clock_ && store_) wall_clock_ = store_->wall_clock();
  if (!wall_clock_) wall_clock_ = SystemWallClock();
}

void HeartbeatCheck::Start(DoneCallback done) {
  if (!store_) {
    done(CheckResult::Unhealthy(FailureReason::kInternal,
                                "heartbeats are not set up in this daemon (internal error)"));
    return;
  }
  std::optional<HeartbeatRecord> record = store_->Find(name_);
  if (!record) {
    done(CheckResult::Unhealthy(FailureReason::kInternal,
                                "check is not watched by the heartbeat store (internal error)"));
    return;
  }
  done(JudgeHeartbeat(*record, ttl_, wall_clock_()));
}

// --- receiving ---

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Comparing fixed-size digests hides the lengths as well as the contents.
  unsigned char da[SHA256_DIGEST_LENGTH];
  unsigned char db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

std::string SanitizeHeartbeatDetail(std::string_view body, size_t max_bytes) {
  std::string out;
  bool pending_space = false;
  while (!body.empty()) {
    char32_t cp = 0;
    size_t len = Utf8Sequence(body, &cp);
    std::string_view piece;
    if (len == 0) {
      len = 1;
      piece = "?";
    } else if (cp == ' ' || UnprintableCodePoint(cp)) {
      pending_space = true;
      body.remove_prefix(len);
      continue;
    } else {
      piece = body.substr(0, len);
    }
    body.remove_prefix(len);
    const size_t needed = piece.size() + (pending_space && !out.empty() ? 1 : 0);
    if (out.size() + needed > max_bytes) {
      out += "...";
      break;
    }
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += piece;
  }
  if (out.empty()) return "(no details)";
  return out;
}

HeartbeatReceiver::HeartbeatReceiver(TokenMap tokens, std::shared_ptr<HeartbeatStore> store)
    : tokens_(std::make_shared<const TokenMap>(std::move(tokens))), store_(std::move(store)) {}

HeartbeatReceiver::TokenMap HeartbeatReceiver::TokensOf(const NamedCheckSpecs& checks) {
  TokenMap tokens;
  for (const auto& [name, spec] : checks) {
    if (const auto* heartbeat = dynamic_cast<const HeartbeatCheckSpec*>(spec)) {
      tokens.emplace(name, heartbeat->settings().token);
    }
  }
  return tokens;
}

void HeartbeatReceiver::Update(const NamedCheckSpecs& checks) {
  auto tokens = std::make_shared<const TokenMap>(TokensOf(checks));
  std::lock_guard lock(mutex_);
  tokens_ = std::move(tokens);
}

std::shared_ptr<const HeartbeatReceiver::TokenMap> HeartbeatReceiver::Tokens() const {
  std::lock_guard lock(mutex_);
  return tokens_;
}

HeartbeatResponse HeartbeatReceiver::Unauthorized(std::string_view name, bool token_given,
                                                  const TokenMap& tokens) {
  // Names that do not exist are not logged: anyone can make them up.
  if (tokens.contains(name)) {
    log::Warn("heartbeat rejected: wrong or missing bearer token",
              {{"check", std::string(name)}, {"token_given", token_given ? "true" : "false"}});
  }
  HeartbeatResponse response = Respond(401, "wrong or missing bearer token");
  response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

HeartbeatResponse HeartbeatReceiver::Handle(std::string_view method, std::string_view path,
                                            std::string_view authorization_header,
                                            std::string_view body) const {
  if (!path.starts_with(kPathPrefix)) return Respond(404, "not found");
  std::string_view name = path.substr(kPathPrefix.size());
  bool ok = true;
  constexpr std::string_view kFailSuffix = "/fail";
  if (name.ends_with(kFailSuffix)) {
    name.remove_suffix(kFailSuffix.size());
    ok = false;
  }
  // 401 before 404 and 405: only a client holding some heartbeat check's
  // token learns which names exist. Every token is compared, so the time
  // taken does not depend on which one (if any) matched.
  const std::shared_ptr<const TokenMap> tokens = Tokens();
  const std::optional<std::string_view> token = BearerToken(authorization_header);
  bool holds_a_token = false;
  for (const auto& [unused_name, expected] : *tokens) {
    holds_a_token |= ConstantTimeEquals(token.value_or(std::string_view()), expected);
  }
  if (!holds_a_token || !token) return Unauthorized(name, token.has_value(), *tokens);
  if (!tokens->contains(name)) return Respond(404, "no heartbeat check with that name");
  if (method != "POST") {
    HeartbeatResponse response = Respond(405, "use POST");
    response.headers.emplace_back("Allow", "POST");
    return response;
  }
  return Receive(name, ok, authorization_header, body);
}

HeartbeatResponse HeartbeatReceiver::Receive(std::string_view name, bool ok,
                                             std::string_view authorization_header,
                                             std::string_view body) const {
  const std::shared_ptr<const TokenMap> tokens = Tokens();
  auto it = tokens->find(name);
  if (it == tokens->end()) return Respond(404, "no heartbeat check with that name");
  std::optional<std::string_view> token = BearerToken(authorization_header);
  // Compare even without a token so both failures take the same time.
  const bool authorized =
      ConstantTimeEquals(token.value_or(std::string_view()), it->second) && token.has_value();
  if (!authorized) return Unauthorized(name, token.has_value(), *tokens);
  if (body.size() > kMaxBodyBytes) {
    return Respond(413, "body larger than " + std::to_string(kMaxBodyBytes) + " bytes");
  }
  std::string detail = ok ? std::string() : SanitizeHeartbeatDetail(body, kMaxBodyBytes);
  if (!store_ || !store_->Record(name, ok, std::move(detail))) {
    return Respond(503, "heartbeat store not ready");
  }
  log::Info(ok ? "heartbeat received" : "heartbeat failure received",
            {{"check", std::string(name)}});
  return Respond(200, ok ? "ok" : "failure recorded");
}

PushEndpoint HeartbeatReceiver::Endpoint(std::shared_ptr<const HeartbeatReceiver> receiver) {
  PushEndpoint endpoint;
  endpoint.path_prefix = std::string(kPathPrefix);
  endpoint.max_body_bytes = kMaxBodyBytes;
  endpoint.handle = [receiver = std::move(receiver)](std::string_view method, std::string_view path,
                                                     std::string_view authorization,
                                                     std::string_view body) {
    return receiver->Handle(method, path, authorization, body);
  };
  return endpoint;
}

// --- the type's shared part ---

HeartbeatService::HeartbeatService(std::shared_ptr<HeartbeatStore> store, std::string storage_path)
    : store_(std::move(store)),
      receiver_(std::make_shared<HeartbeatReceiver>(HeartbeatReceiver::TokenMap{}, store_)),
      storage_path_(std::move(storage_path)) {}

std::shared_ptr<HeartbeatService> HeartbeatService::FromOptions(
    const CheckServices::Options& options) {
  return std::make_shared<HeartbeatService>(std::make_shared<HeartbeatStore>(options.store),
                                            options.storage_path);
}

std::optional<std::string> HeartbeatService::Open() {
  store::Store* db = store_->store();
  if (db != nullptr && !storage_path_.empty()) {
    // The state file of the versions before the store: imported once (a
    // stored row with a newer ping wins), then renamed, so the next start
    // does not import it again. The import logs what it did or why not.
    const std::string legacy = (std::filesystem::path(storage_path_) / kLegacyFileName).string();
    std::error_code ec;
    if (std::filesystem::exists(legacy, ec)) store::ImportHeartbeatJson(*db, legacy);
  }
  store_->Load();
  return std::nullopt;
}

void HeartbeatService::ChecksWillRun(const NamedCheckSpecs& checks, uv_loop_t* /*loop*/,
                                     bool /*first*/) {
  // In memory; the store's writer persists the new names off the loop.
  WatchHeartbeatChecks(checks, *store_);
  receiver_->Update(checks);
}

void HeartbeatService::ChecksWillProbe(const NamedCheckSpecs& checks) {
  store_->Watch(HeartbeatChecksOf(checks));
}

std::vector<PushEndpoint> HeartbeatService::PushEndpoints() const {
  return {HeartbeatReceiver::Endpoint(receiver_)};
}

}  // namespace hx
