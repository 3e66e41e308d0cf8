#pragma once
// The `postgres:` check type: connect to a PostgreSQL server with libpq's
// non-blocking API on the event loop, run one query, optionally match its
// first value, and check the server's role, replication lag and connection
// usage.
//
//   postgres:
//     dsn: "host=db.internal port=5432 dbname=app user=monitor"  # or postgresql://...
//     password_file: /etc/health_exporter/db.pass  # optional; or password=${PGPASSWORD}
//     query: "SELECT 1"                            # default
//     expect: "^1$"                                # optional RE2, first column of first row
//     expect_role: primary                         # or replica; via pg_is_in_recovery()
//     max_replication_lag: 30s                     # on a replica: above -> degraded
//     connections_degraded_above: 90%              # of max_connections -> degraded

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checks/check.h"
#include "checks/common/attempt.h"
#include "io/resolver.h"
#include "util/duration.h"

namespace re2 {
class RE2;
}

namespace hx {

enum class PostgresRole : uint8_t { kPrimary, kReplica };

/// The parsed `postgres:` mapping. Plain data; immutable once parsed, safe to share.
struct PostgresCheckSettings {
  /// libpq keyword/value pairs for PQconnectStartParams, as given in the DSN
  /// (the password, if any, included) plus application_name and the defaults
  /// libpq would take from the environment at load time.
  std::vector<std::pair<std::string, std::string>> conninfo;
  /// Effective connection target, for Target() and for resolving. `host` is a
  /// name, an IP literal or a unix-socket directory; empty means libpq's
  /// default socket directory.
  std::string host;
  std::string port = "5432";
  std::string user;
  std::string dbname;
  /// True when `host` is a name that must be resolved (by the loop's
  /// resolver) before connecting: not an IP literal, not a socket, no
  /// hostaddr given.
  bool resolve_host = false;
  IpProtocol ip_protocol = IpProtocol::kAuto;  ///< the family `host` resolves to

  std::string query = "SELECT 1";
  std::shared_ptr<const re2::RE2> expect;  ///< nullptr: any result is fine
  std::optional<PostgresRole> expect_role;
  std::optional<Duration> max_replication_lag;
  std::optional<double> connections_degraded_above;  ///< fraction in [0, 1]
};

/// The validated config of one PostgreSQL check. Immutable; thread-safe.
class PostgresCheckSpec final : public CheckSpec {
 public:
  explicit PostgresCheckSpec(PostgresCheckSettings settings);

  const PostgresCheckSettings& settings() const { return *settings_; }

  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// "postgres://monitor@db.internal:5432/app" (never a password).
  std::string Target() const override;

 private:
  std::shared_ptr<const PostgresCheckSettings> settings_;
};

/// Reads a `postgres:` mapping (calls reader.Finish()); nullptr on any error.
/// The DSN is validated with PQconninfoParse; password_file is read here.
std::shared_ptr<const PostgresCheckSpec> ParsePostgresCheckSpec(config::MapReader& reader);

/// Runs PostgreSQL attempts on the loop: the loop's resolver
/// (IoContext::resolver(); host names only; the addresses are handed to libpq
/// as hostaddr, with the name kept in host for TLS and messages, so libpq
/// never resolves on the loop thread), PQconnectStartParams + PQconnectPoll driven by
/// a uv_poll_t on PQsocket(), then the configured query and one status query
/// (role, replication lag, connection usage) with PQsendQuery /
/// PQconsumeInput / PQgetResult. No timer of its own: the scheduler's hard
/// timeout calls Cancel(), which closes the poll handle and PQfinish()es the
/// connection at once.
///
/// Each attempt is an Attempt (checks/common/attempt.h): it outlives Cancel()
/// while libuv still owes it callbacks (closing poll handles). Loop-thread only; not thread-safe.
class PostgresCheck final : public AsyncCheck {
 public:
  PostgresCheck(IoContext& io, std::shared_ptr<const PostgresCheckSettings> settings);
  PostgresCheck(const PostgresCheck&) = delete;
  PostgresCheck& operator=(const PostgresCheck&) = delete;

 private:
  class PostgresAttempt;

  std::unique_ptr<Attempt> NewAttempt() override;

  IoContext& io_;
  std::shared_ptr<const PostgresCheckSettings> settings_;
};

/// The query run after the configured one: one row of
/// (in_recovery bool, lag_seconds numeric or NULL, client_backends, max_connections).
/// Lag is 0 while everything received has been replayed, else
/// now() - pg_last_xact_replay_timestamp() (NULL before the first replayed commit).
extern const char* const kPostgresStatusQuery;

/// libpq's error text as one short line: the first line only, without the
/// `connection to server at "...", port N failed: ` prefix and the FATAL
/// severity, e.g. `password authentication failed for user "monitor"` or
/// `connection refused`. Any occurrence of `secret` (if non-empty) is masked.
std::string PostgresErrorLine(std::string_view message, std::string_view secret);

/// Takes the SQLSTATEs out of libpq's error text written with
/// PQERRORS_VERBOSE (`FATAL:  28P01: password authentication failed...`),
/// leaving the text as the default verbosity writes it, and returns the last
/// one (the last connection attempt's); "" when the text has none (libpq's
/// own errors: "Connection refused", "server closed the connection").
std::string TakeSqlState(std::string* message);

/// The failure reason of a server error by its SQLSTATE: auth_failed
/// (class 28, and 42501 insufficient privilege), not_serving (57P01-57P03:
/// shut down, crashed, starting up or shutting down; class 53 but 53300),
/// threshold (53300 too many connections), wrong_role (25006: a write on a
/// read-only replica), connection_closed (class 08 but 08P01),
/// protocol_error (08P01), answer_mismatch for any other error.
FailureReason PostgresReason(std::string_view sqlstate);

/// The `postgres` check type, for the registry.
CheckType PostgresCheckType();

}  // namespace hx
