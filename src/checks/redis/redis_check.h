#pragma once
// The `redis:` check type: connect (TCP or unix socket), authenticate,
// select a database, PING, then read INFO replication and memory to judge the
// server's role, its replication link and its memory use.
//
//   redis:
//     address: 127.0.0.1:6379      # host:port, [v6]:port or unix:/run/redis.sock
//     username: monitor            # optional ACL user (needs a password)
//     password_file: /etc/health_exporter/redis.pass   # or password: ${REDIS_PASSWORD}
//     db: 0                        # SELECTed when not 0
//     expect_role: master          # or replica
//     memory_degraded_above: 90%   # used_memory / maxmemory, when maxmemory is set

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "checks/check.h"
#include "checks/common/attempt.h"
#include "io/resolver.h"

namespace hx {

/// The parsed `redis:` mapping. Plain data; immutable once parsed, safe to
/// share. `password` is a secret: it never leaves this struct except on the
/// wire to the server.
struct RedisCheckSettings {
  enum class Role : uint8_t { kAny, kMaster, kReplica };

  std::string host;         ///< name or IP (no brackets); empty for a unix socket
  uint16_t port = 0;        ///< 0 for a unix socket
  std::string socket_path;  ///< set for "unix:/path" addresses
  std::string username;     ///< ACL user; empty: AUTH with the password only
  std::string password;     ///< empty: no AUTH
  int64_t db = 0;
  Role expect_role = Role::kAny;
  /// Fraction of maxmemory above which the check is degraded; unset: never.
  std::optional<double> memory_degraded_above;
  IpProtocol ip_protocol = IpProtocol::kAuto;  ///< the family a host name resolves to
};

/// The validated config of one Redis check. Immutable; thread-safe.
class RedisCheckSpec final : public CheckSpec {
 public:
  explicit RedisCheckSpec(RedisCheckSettings settings);

  const RedisCheckSettings& settings() const { return *settings_; }

  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// "redis://127.0.0.1:6379/0", "redis://[::1]:6379/2", "unix:/run/redis.sock"
  /// or "unix:/run/redis.sock?db=2"; never a user name or password.
  std::string Target() const override;

 private:
  std::shared_ptr<const RedisCheckSettings> settings_;
};

/// Reads a `redis:` mapping (calls reader.Finish()); nullptr on any error.
/// Reads `password_file` now, so a missing file fails the config load.
std::shared_ptr<const RedisCheckSpec> ParseRedisCheckSpec(config::MapReader& reader);

/// Runs Redis attempts on the loop with hiredis' async API and its libuv
/// adapter: host names through the loop's resolver (IoContext::resolver();
/// hiredis would resolve with a blocking call), then per address
/// redisAsyncConnect to the IP until
/// one connects; then [AUTH] -> [SELECT] -> PING -> INFO replication -> INFO
/// memory, one command at a time. The check has no timer of its own; the
/// scheduler's hard timeout cancels it.
///
/// Each attempt is an Attempt (checks/common/attempt.h). hiredis 0.14 frees
/// its context by itself on connection errors and must never be freed from
/// inside one of its own callbacks, so an attempt that ends inside a callback
/// defers the free to a libuv close callback; Cancel() and the destructor,
/// which run outside hiredis, free the context (and close its socket) at once.
/// Callbacks of a context the attempt no longer uses are recognised and
/// ignored. Loop-thread only; not thread-safe.
class RedisCheck final : public AsyncCheck {
 public:
  RedisCheck(IoContext& io, std::shared_ptr<const RedisCheckSettings> settings);
  RedisCheck(const RedisCheck&) = delete;
  RedisCheck& operator=(const RedisCheck&) = delete;

 private:
  class RedisAttempt;

  std::unique_ptr<Attempt> NewAttempt() override;

  IoContext& io_;
  std::shared_ptr<const RedisCheckSettings> settings_;
};

/// The `redis` check type, for the registry.
CheckType RedisCheckType();

}  // namespace hx
