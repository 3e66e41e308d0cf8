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
// Wiring, all of it here: HeartbeatService is the type's CheckService
// (checks/common/check_services.h), added by AddBuiltinCheckServices(). It
// owns the HeartbeatStore (over the daemon's one store, loaded at start-up
// after a one-time import of the old heartbeats.json), is told the running
// checks before each config's checks are created (watches the heartbeat
// ones, hands their tokens to the receiver) and offers the receiver as the
// /heartbeat/ push endpoint the web server serves.
// HeartbeatCheckSpec::CreateCheck() finds it through its CheckContext. The
// daemon, the check set and the web server never name the type.

#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checks/check.h"
#include "checks/common/check_services.h"
#include "checks/heartbeat/heartbeat_store.h"
#include "util/duration.h"

namespace hx {

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

  /// A check reading the store of the context's HeartbeatService under the
  /// context's name. Without the service its attempts report that
  /// heartbeats are not set up; a name the store does not watch, that it is
  /// not watched.
  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// "push, ttl 26h" — never the token.
  std::string Target() const override;

 private:
  HeartbeatCheckSettings settings_;
};

/// Reads a `heartbeat:` mapping (calls reader.Finish()); nullptr on any
/// error. Reads token_file here, at config load.
std::shared_ptr<const HeartbeatCheckSpec> ParseHeartbeatCheckSpec(config::MapReader& reader);

/// Watches every heartbeat check of `checks` in `store` (HeartbeatStore::
/// Watch(): binds spec to name, starts the grace period of new names, forgets
/// removed ones). Never waits on disk: call it on the loop thread too.
void WatchHeartbeatChecks(const NamedCheckSpecs& checks, HeartbeatStore& store);

/// The heartbeat checks among `checks`, as HeartbeatStore::Watch() takes them.
NamedCheckSpecs HeartbeatChecksOf(const NamedCheckSpecs& checks);

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
using HeartbeatResponse = PushResponse;

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

  /// The tokens of the heartbeat checks among `checks`.
  static TokenMap TokensOf(const NamedCheckSpecs& checks);

  /// Takes the tokens of the heartbeat checks among `checks` (a reloaded
  /// config's); requests already past the lookup finish with the old token.
  /// Thread-safe.
  void Update(const NamedCheckSpecs& checks);

  /// `receiver` as the web server's push endpoint for kPathPrefix.
  static PushEndpoint Endpoint(std::shared_ptr<const HeartbeatReceiver> receiver);

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
  // The 401 answer; logs a rejected ping of an existing check.
  static HeartbeatResponse Unauthorized(std::string_view name, bool token_given,
                                        const TokenMap& tokens);
  std::shared_ptr<const TokenMap> Tokens() const;

  mutable std::mutex mutex_;  // guards tokens_ (the pointer; the map is immutable)
  std::shared_ptr<const TokenMap> tokens_;
  const std::shared_ptr<HeartbeatStore> store_;
};

/// The heartbeat type's shared part (see the top of this file): the store,
/// the receiver and the /heartbeat/ endpoint. Its methods are called at
/// start-up and on the loop thread; the store and the receiver it shares are
/// thread-safe.
class HeartbeatService final : public CheckService {
 public:
  /// The state file of the versions before the store, under --storage.path.
  static constexpr std::string_view kLegacyFileName = "heartbeats.json";

  /// `storage_path`: where Open() looks for kLegacyFileName (empty: nowhere).
  explicit HeartbeatService(std::shared_ptr<HeartbeatStore> store, std::string storage_path = {});
  /// A HeartbeatStore over options.store, importing from options.storage_path.
  static std::shared_ptr<HeartbeatService> FromOptions(const CheckServices::Options& options);

  /// Imports <storage_path>/heartbeats.json into the store if it is there
  /// (store::ImportHeartbeatJson: once; a corrupt file is moved aside and
  /// logged), then loads the heartbeat state from the store. Never fails:
  /// the daemon checked --storage.path before opening the store, and a
  /// memory-only store still serves heartbeats.
  std::optional<std::string> Open() override;
  /// Watches the heartbeat checks among `checks` and hands their tokens to
  /// the receiver. No I/O: the store's writer persists new names.
  void ChecksWillRun(const NamedCheckSpecs& checks, uv_loop_t* loop, bool first) override;
  /// Binds the checks to their restored state in memory; saves nothing.
  void ChecksWillProbe(const NamedCheckSpecs& checks) override;
  /// POST /heartbeat/<name>[/fail], always (a reload may add the first
  /// heartbeat check).
  std::vector<PushEndpoint> PushEndpoints() const override;

  const std::shared_ptr<HeartbeatStore>& store() const { return store_; }
  const std::shared_ptr<HeartbeatReceiver>& receiver() const { return receiver_; }

 private:
  const std::shared_ptr<HeartbeatStore> store_;
  const std::shared_ptr<HeartbeatReceiver> receiver_;
  const std::string storage_path_;
};

}  // namespace hx
