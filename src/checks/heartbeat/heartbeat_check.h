#pragma once
// The `heartbeat:` check type: push-based monitoring for cron jobs and batch
// work. The job reports in; the check turns unhealthy when it stops doing so.
//
//   - name: nightly-backup
//     interval: 10s          # how often the state is re-evaluated
//     heartbeat:
//       ttl: 26h             # no successful ping within ttl -> unhealthy
//       token_file: /etc/health_exporter/backup.token   # or token: "${BACKUP_TOKEN}"
//
//   POST /heartbeat/nightly-backup        Authorization: Bearer <token>  -> healthy
//   POST /heartbeat/nightly-backup/fail   (body: what went wrong)       -> unhealthy
//
// Pieces: HeartbeatReceiver (called by the web server's threads) checks the
// token and records pings in the HeartbeatStore (heartbeat_store.h);
// HeartbeatCheck (on the loop thread) only reads the store and judges.
//
// Wiring at start-up (before creating the checks):
//   auto store = std::make_shared<HeartbeatStore>(state_dir);
//   store->Load();
//   WatchHeartbeatChecks(config, *store);
//   io.set_heartbeat_store(store);
//   auto receiver = HeartbeatReceiver::FromConfig(config, store);

#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checks/check.h"
#include "checks/heartbeat/heartbeat_store.h"
#include "util/duration.h"

namespace hx {

struct Config;

/// The parsed `heartbeat:` mapping. Plain data; immutable once parsed, safe
/// to share. `token` is a secret: never log or show it.
struct HeartbeatCheckSettings {
  Duration ttl{};
  std::string token;
};

/// Shortest accepted token: anything shorter is guessable.
inline constexpr size_t kMinHeartbeatTokenLength = 16;

/// The validated config of one heartbeat check. Immutable; thread-safe.
class HeartbeatCheckSpec final : public CheckSpec {
 public:
  explicit HeartbeatCheckSpec(HeartbeatCheckSettings settings);

  const HeartbeatCheckSettings& settings() const { return settings_; }

  /// A check reading the store of `io` (see IoContext::heartbeat_store())
  /// under the name WatchHeartbeatChecks() bound to this spec. Without a
  /// store or binding, its attempts report that heartbeats are not set up.
  std::unique_ptr<Check> CreateCheck(IoContext& io) const override;
  /// "push, ttl 26h" — never the token.
  std::string Target() const override;

 private:
  HeartbeatCheckSettings settings_;
};

/// Reads a `heartbeat:` mapping (calls reader.Finish()); nullptr on any
/// error. Reads token_file here, at config load.
std::shared_ptr<const HeartbeatCheckSpec> ParseHeartbeatCheckSpec(config::MapReader& reader);

/// Watches every heartbeat check of `config` in `store` (HeartbeatStore::
/// Watch(): binds spec to name, starts the grace period of new names, forgets
/// removed ones) and saves the store, logging a failed save. Blocking file
/// I/O: call at start-up, before the checks are created.
void WatchHeartbeatChecks(const Config& config, HeartbeatStore& store);

/// The heartbeat checks of `config` with their specs, as HeartbeatStore::Watch()
/// takes them (a reload watches them in memory and saves off the loop).
std::vector<std::pair<std::string, const CheckSpec*>> HeartbeatChecksOf(const Config& config);

/// "3h12m", "5m3s", "42s", "27h": whole seconds; hours are not turned into
/// days so an age compares at a glance with a ttl such as "26h"; above an
/// hour, seconds are dropped. Pure.
std::string FormatHeartbeatAge(double seconds);

/// Judges one record at wall time `now`:
///   never pinged, within ttl of watched_since -> healthy
///       "waiting for the first heartbeat (ttl 26h)"
///   never pinged, later  -> unhealthy "no heartbeat since the daemon started watching (ttl 26h)"
///   last ping a failure  -> unhealthy "job reported failure: <detail>"
///   last ping too old    -> unhealthy "no heartbeat for 27h (ttl 26h)"
///   otherwise            -> healthy "last heartbeat 3h12m ago"
/// with observation heartbeat_last_ping_timestamp_seconds once pinged. Pure.
CheckResult JudgeHeartbeat(const HeartbeatRecord& record, Duration ttl, double now);

/// Evaluates one heartbeat check: reads the store and judges, synchronously
/// (no I/O, so Start() completes before it returns). Loop-thread only; not
/// thread-safe.
class HeartbeatCheck final : public Check {
 public:
  /// `store` may be null (not wired): attempts then report so. `wall_clock`
  /// defaults to the store's.
  HeartbeatCheck(std::shared_ptr<const HeartbeatStore> store, std::string name, Duration ttl,
                 WallClock wall_clock = {});

  void Start(DoneCallback done) override;
  void Cancel() override {}
  /// Reads the store in memory: a restart shows the restored heartbeat at
  /// once instead of "pending" for up to the start window.
  bool IsInstant() const override { return true; }

 private:
  std::shared_ptr<const HeartbeatStore> store_;
  std::string name_;
  Duration ttl_;
  WallClock wall_clock_;
};

/// The `heartbeat` check type, for the registry.
CheckType HeartbeatCheckType();

/// Whether `a` equals `b`, in time independent of their contents and lengths
/// (compares SHA-256 digests with CRYPTO_memcmp). Thread-safe.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

/// Turns a posted failure body into one printable line for a detail: control
/// characters and line breaks become spaces, runs of spaces collapse, invalid
/// UTF-8 becomes "?", at most `max_bytes` are kept (cut at a character
/// boundary, "..." appended). Empty result -> "(no details)". Pure.
std::string SanitizeHeartbeatDetail(std::string_view body, size_t max_bytes = 1024);

/// What the web server should answer.
struct HeartbeatResponse {
  int status = 200;
  std::string body;  ///< short text, ends in "\n"
  /// Extra headers, e.g. {"Allow", "POST"} with 405, {"WWW-Authenticate",
  /// "Bearer"} with 401.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Accepts pushed heartbeats: checks the bearer token of the named check and
/// records the ping in the store. Immutable after construction apart from the
/// store, which is thread-safe: Handle() and Receive() may be called from any
/// number of threads at once. Holds tokens; never logs or returns them.
class HeartbeatReceiver {
 public:
  /// URL prefix served: /heartbeat/<name> and /heartbeat/<name>/fail.
  static constexpr std::string_view kPathPrefix = "/heartbeat/";
  /// Largest accepted request body; the server should read at most one byte
  /// more (or check Content-Length) and pass what it read.
  static constexpr size_t kMaxBodyBytes = 1024;

  /// `tokens`: check name -> token.
  using TokenMap = std::map<std::string, std::string, std::less<>>;
  HeartbeatReceiver(TokenMap tokens, std::shared_ptr<HeartbeatStore> store);

  /// The tokens of every heartbeat check of `config`.
  static std::shared_ptr<HeartbeatReceiver> FromConfig(const Config& config,
                                                       std::shared_ptr<HeartbeatStore> store);

  /// Takes the heartbeat checks and tokens of a reloaded config; requests
  /// already past the lookup finish with the old token. Thread-safe.
  void Update(const Config& config);

  /// Routes one HTTP request whose path starts with kPathPrefix (the path
  /// without query string). First 401 when the bearer token is missing or is
  /// no heartbeat check's token (so that names cannot be probed), then 404
  /// for an unknown path or name, 405 for a method other than POST, 401 for
  /// another check's token, 413 for a body over kMaxBodyBytes, else records
  /// the ping and answers 200.
  HeartbeatResponse Handle(std::string_view method, std::string_view path,
                           std::string_view authorization_header, std::string_view body) const;

  /// A POST for `name` (ok = the plain path, !ok = ".../fail").
  HeartbeatResponse Receive(std::string_view name, bool ok, std::string_view authorization_header,
                            std::string_view body) const;

  /// Whether any heartbeat check is configured (the server may skip the route).
  bool empty() const { return Tokens()->empty(); }

 private:
  static TokenMap TokensOf(const Config& config);
  // The 401 answer; logs a rejected ping of an existing check.
  static HeartbeatResponse Unauthorized(std::string_view name, bool token_given,
                                        const TokenMap& tokens);
  std::shared_ptr<const TokenMap> Tokens() const;

  mutable std::mutex mutex_;  // guards tokens_ (the pointer; the map is immutable)
  std::shared_ptr<const TokenMap> tokens_;
  const std::shared_ptr<HeartbeatStore> store_;
};

}  // namespace hx
