// PostgresCheck against real PostgreSQL 15 servers (a primary with
// scram-sha-256 for TCP clients and, for the replication tests, a streaming
// replica) on a real libuv loop. The servers are shared by every test of this
// binary (SetUpTestSuite); tests that change server state undo it.

#include "checks/postgres/postgres_check.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <re2/re2.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/parse_context.h"
#include "io/io_context.h"
#include "support/dnsmasq_server.h"
#include "support/loop_test.h"
#include "support/postgres_server.h"
#include "support/tcp_test_server.h"

namespace hx {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr milliseconds kWait{10000};
// 50 scram-sha-256 logins cost seconds of client CPU (and minutes under valgrind).
constexpr milliseconds kSlowWait{180000};
constexpr char kSuperuserPassword[] = "su-Secret-71f3";
constexpr char kMonitorPassword[] = "mon-Secret-4b2e";
constexpr int kMaxConnections = 70;

std::optional<double> FindObservation(const CheckResult& r, const std::string& name) {
  for (const Observation& o : r.observations) {
    if (o.name() == name) return o.value;
  }
  return std::nullopt;
}

// Parses a `postgres:` mapping given as YAML text; fails the test on errors.
std::shared_ptr<const PostgresCheckSpec> Parse(const std::string& yaml,
                                               std::vector<std::string>* errors = nullptr) {
  const YAML::Node node = YAML::Load(yaml);
  config::ParseContext ctx("test.yml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "PGPASSWORD_TEST") return std::string(kMonitorPassword);
    return std::nullopt;
  });
  config::MapReader reader(node, "postgres", ctx);
  auto spec = ParsePostgresCheckSpec(reader);
  if (errors != nullptr) {
    for (const config::ConfigError& e : ctx.errors()) errors->push_back(e.path + ": " + e.message);
  } else {
    for (const config::ConfigError& e : ctx.errors()) ADD_FAILURE() << e.ToString();
  }
  return spec;
}

class PostgresCheckTest : public LoopTest {
 protected:
  // The servers are made on first use (tests against closed ports need
  // none) and shared by the rest of the binary.
  static PostgresServer& Primary() {
    if (primary_ == nullptr) {
      primary_ = new PostgresServer(
          {.superuser_password = kSuperuserPassword, .max_connections = kMaxConnections});
      // Deliberately not in pg_monitor: the check must work for a plain role.
      primary_->Execute("CREATE ROLE monitor LOGIN PASSWORD '" + std::string(kMonitorPassword) +
                        "'");
    }
    return *primary_;
  }

  static void TearDownTestSuite() {
    delete replica_;
    replica_ = nullptr;
    delete primary_;
    primary_ = nullptr;
  }

  static PostgresServer& Replica() {
    if (replica_ == nullptr) {
      replica_ = Primary().CreateReplica().release();
      // A replayed commit, so the replica has a last-replay timestamp.
      primary_->Execute("CREATE TABLE IF NOT EXISTS ticks (at timestamptz)");
      primary_->Execute("INSERT INTO ticks VALUES (now())");
      EXPECT_TRUE(primary_->WaitForReplay(*replica_, kWait));
    }
    return *replica_;
  }

  static std::string Dsn(const PostgresServer& server, const std::string& extra = "",
                         const std::string& password = kMonitorPassword) {
    return "host=127.0.0.1 port=" + std::to_string(server.port()) +
           " dbname=postgres user=monitor password=" + password + " " + extra;
  }

  static std::shared_ptr<PostgresCheckSettings> Settings(const std::string& dsn) {
    auto spec = Parse("dsn: \"" + dsn + "\"");
    if (!spec) return nullptr;
    return std::make_shared<PostgresCheckSettings>(spec->settings());
  }

  CheckResult RunOnce(std::shared_ptr<const PostgresCheckSettings> settings) {
    PostgresCheck check(io(), std::move(settings));
    const CheckResult result = RunAttempt(check).value_or(CheckResult{});
    for (const char* secret : {kMonitorPassword, kSuperuserPassword}) {
      EXPECT_THAT(result.detail, Not(HasSubstr(secret)));
    }
    return result;
  }

  static PostgresServer* primary_;
  static PostgresServer* replica_;
};

PostgresServer* PostgresCheckTest::primary_ = nullptr;
PostgresServer* PostgresCheckTest::replica_ = nullptr;

TEST_F(PostgresCheckTest, HealthyPrimaryReportsFirstValueAndConnectionUsage) {
  CheckResult r = RunOnce(Settings(Dsn(Primary())));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "1 row, first value \"1\"");
  const auto ratio = FindObservation(r, "postgres_connections_used_ratio");
  ASSERT_TRUE(ratio.has_value());
  EXPECT_GT(*ratio, 0);  // our own session counts
  EXPECT_LT(*ratio, 1);
  EXPECT_FALSE(FindObservation(r, "postgres_replication_lag_seconds").has_value());
}

TEST_F(PostgresCheckTest, SetsApplicationName) {
  auto settings = Settings(Dsn(Primary()));
  settings->query = "SELECT current_setting('application_name')";
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.detail, "1 row, first value \"health_exporter\"");
}

TEST_F(PostgresCheckTest, LocalhostComesFromTheHostsFile) {
  // "localhost" may resolve to ::1 before 127.0.0.1, where nothing listens:
  // every address is handed to libpq.
  CheckResult r = RunOnce(Settings("host=localhost port=" + std::to_string(Primary().port()) +
                                   " dbname=postgres user=monitor password=" + kMonitorPassword));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(Primary().port()))
      << "the address that answered, not ::1 that refused";
}

TEST_F(PostgresCheckTest, HostNameIsResolvedByTheLoopsResolverAndGivenAsHostaddr) {
  DnsmasqServer dns({"--host-record=pg.test,127.0.0.1"});
  ASSERT_TRUE(dns.ok()) << dns.error();
  io().set_resolver_options(dns.ResolverOptions());
  const std::string rest = " port=" + std::to_string(Primary().port()) +
                           " dbname=postgres user=monitor password=" + kMonitorPassword;
  auto settings = Settings("host=pg.test" + rest);
  ASSERT_TRUE(settings);
  EXPECT_TRUE(settings->resolve_host);
  // libpq keeps the name as host (what it shows and verifies TLS against) and
  // connects to hostaddr, so it never resolves on the loop itself.
  settings->query = "SELECT current_setting('application_name') || ' ' || inet_server_addr()";
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "1 row, first value \"health_exporter 127.0.0.1/32\"");
  EXPECT_NE(dns.Log().find("pg.test"), std::string::npos) << dns.Log();
  settings->ip_protocol = IpProtocol::kIp6;
  r = RunOnce(settings);
  EXPECT_EQ(r.detail, "no IPv6 address");
  EXPECT_EQ(r.reason, FailureReason::kDnsError);
  r = RunOnce(Settings("host=nothere.test" + rest));
  EXPECT_EQ(r.detail, "no such host");
  EXPECT_EQ(r.reason, FailureReason::kDnsNxdomain);
  EXPECT_EQ(r.address, "");
}

TEST_F(PostgresCheckTest, UnixSocketNeedsNoResolving) {
  auto settings =
      Settings("host=" + Primary().socket_dir() + " port=" + std::to_string(Primary().port()) +
               " dbname=postgres user=postgres");
  EXPECT_FALSE(settings->resolve_host);
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.address,
            "unix:" + Primary().socket_dir() + "/.s.PGSQL." + std::to_string(Primary().port()));
}

TEST_F(PostgresCheckTest, ExpectMatchAndMismatch) {
  auto settings = Settings(Dsn(Primary()));
  settings->query = "SELECT 40 + 2";
  settings->expect = std::make_shared<const re2::RE2>("^42$");
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "1 row, first value \"42\" (matches)");

  settings->expect = std::make_shared<const re2::RE2>("^1$");
  r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "first value \"42\" does not match \"^1$\"");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(Primary().port()));

  settings->query = "SELECT 1 WHERE false";
  r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "query returned no rows, expected a value matching \"^1$\"");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);

  settings->query = "SELECT NULL";
  r = RunOnce(settings);
  EXPECT_EQ(r.detail, "first value is NULL, expected a match for \"^1$\"");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
}

TEST_F(PostgresCheckTest, WrongPasswordIsReadableAndSecretFree) {
  CheckResult r = RunOnce(Settings(Dsn(Primary(), "", "wrong-Secret-0c1d")));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "password authentication failed for user \"monitor\"");
  EXPECT_EQ(r.reason, FailureReason::kAuthFailed);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(Primary().port()));
}

TEST_F(PostgresCheckTest, UnknownRoleAndMissingPasswordAreAuthFailures) {
  CheckResult r = RunOnce(Settings("host=127.0.0.1 port=" + std::to_string(Primary().port()) +
                                   " dbname=postgres user=nobody password=x-Secret-9a"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "password authentication failed for user \"nobody\"");
  EXPECT_EQ(r.reason, FailureReason::kAuthFailed);
  // The server asks for a password the check does not have: libpq's own
  // error, without a SQLSTATE.
  r = RunOnce(Settings("host=127.0.0.1 port=" + std::to_string(Primary().port()) +
                       " dbname=postgres user=monitor"));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "fe_sendauth: no password supplied");
  EXPECT_EQ(r.reason, FailureReason::kAuthFailed);
}

TEST_F(PostgresCheckTest, UnknownDatabase) {
  auto settings = Settings("host=127.0.0.1 port=" + std::to_string(Primary().port()) +
                           " dbname=nope user=monitor password=" + kMonitorPassword);
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "database \"nope\" does not exist");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
}

TEST_F(PostgresCheckTest, ServerDownIsConnectionRefused) {
  // A bound socket that never listens refuses connections, and no other
  // process can take its port while the test runs.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  CheckResult r = RunOnce(Settings("host=127.0.0.1 port=" + std::to_string(ntohs(addr.sin_port)) +
                                   " dbname=postgres user=monitor"));
  close(fd);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "connection refused");
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
}

TEST_F(PostgresCheckTest, CancelWhileConnectingToASilentServerReleasesEverything) {
  TcpTestServer silent({.mode = TcpTestServer::Mode::kHold});
  auto check = std::make_unique<PostgresCheck>(
      io(), Settings("host=127.0.0.1 port=" + std::to_string(silent.port()) +
                     " dbname=postgres user=monitor"));
  Outcome outcome;
  check->Start(outcome.Callback());
  // Connected and waiting for the server's first answer.
  ASSERT_TRUE(RunUntil([&] { return silent.accepted() == 1; }));
  uv_run(loop(), UV_RUN_NOWAIT);
  EXPECT_FALSE(outcome.done());
  check->Cancel();
  EXPECT_TRUE(silent.WaitForClientCloses(1, kWait));
  uv_run(loop(), UV_RUN_NOWAIT);
  EXPECT_EQ(outcome.calls, 0);
  // Start again and destroy the check mid-attempt: the destructor cancels.
  check->Start(outcome.Callback());
  ASSERT_TRUE(RunUntil([&] { return silent.accepted() == 2; }));
  check.reset();
  EXPECT_TRUE(silent.WaitForClientCloses(2, kWait));
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(PostgresCheckTest, QueryErrorIsOneLine) {
  auto settings = Settings(Dsn(Primary()));
  settings->query = "SELECT * FROM x";
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "query failed: ERROR: relation \"x\" does not exist");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);

  // A role that may log in but not read the table: its grants are at fault.
  Primary().Execute("CREATE TABLE IF NOT EXISTS secrets (x int)");
  settings->query = "SELECT * FROM secrets";
  r = RunOnce(settings);
  EXPECT_EQ(r.detail, "query failed: ERROR: permission denied for table secrets");
  EXPECT_EQ(r.reason, FailureReason::kAuthFailed);
}

TEST_F(PostgresCheckTest, PrimaryWhenReplicaExpected) {
  auto settings = Settings(Dsn(Primary()));
  settings->expect_role = PostgresRole::kReplica;
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "role is primary, expected replica");
  EXPECT_EQ(r.reason, FailureReason::kWrongRole);

  settings->expect_role = PostgresRole::kPrimary;
  r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "1 row, first value \"1\"; primary");
}

TEST_F(PostgresCheckTest, StreamingReplica) {
  PostgresServer& replica = Replica();
  auto settings = Settings(Dsn(replica));
  settings->expect_role = PostgresRole::kPrimary;
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "role is replica, expected primary");
  EXPECT_EQ(r.reason, FailureReason::kWrongRole);

  // A write sent to a replica: the server says it is the wrong role.
  auto write = Settings(Dsn(replica));
  write->query = "CREATE TEMP TABLE t (x int)";
  r = RunOnce(write);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail,
            "query failed: ERROR: cannot execute CREATE TABLE in a read-only transaction");
  EXPECT_EQ(r.reason, FailureReason::kWrongRole);

  // Caught up: lag is 0 however long ago the last commit was.
  Primary().Execute("INSERT INTO ticks VALUES (now())");
  ASSERT_TRUE(Primary().WaitForReplay(replica, kWait));
  settings->expect_role = PostgresRole::kReplica;
  settings->max_replication_lag = std::chrono::seconds(30);
  r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "1 row, first value \"1\"; replica, lag 0s");
  EXPECT_EQ(FindObservation(r, "postgres_replication_lag_seconds"), 0.0);

  // Replay paused while the primary keeps writing: received WAL is not
  // replayed, so lag is the age of the last replayed commit, > 0.
  replica.Execute("SELECT pg_wal_replay_pause()");
  Primary().Execute("INSERT INTO ticks VALUES (now())");
  const std::string written = Primary().Execute("SELECT pg_current_wal_lsn()");
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (replica.Execute("SELECT coalesce(pg_last_wal_receive_lsn() >= '" + written +
                         "'::pg_lsn, false)") != "t") {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "replica never received the WAL";
    std::this_thread::sleep_for(milliseconds(10));
  }
  settings->max_replication_lag = Duration(0);
  r = RunOnce(settings);
  replica.Execute("SELECT pg_wal_replay_resume()");
  EXPECT_EQ(r.health, Health::kDegraded) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
  EXPECT_TRUE(RE2::FullMatch(r.detail, R"(replication lag \d+(\.\d+)?m?s > 0s)")) << r.detail;
  const auto lag = FindObservation(r, "postgres_replication_lag_seconds");
  ASSERT_TRUE(lag.has_value());
  EXPECT_GT(*lag, 0);
  EXPECT_TRUE(Primary().WaitForReplay(replica, kWait));
}

TEST_F(PostgresCheckTest, ConnectionsAboveThresholdAreDegraded) {
  std::vector<PostgresServer::Connection> held;
  for (int i = 0; i < 10; ++i) held.push_back(Primary().Connect());
  auto settings = Settings(Dsn(Primary()));
  // 10 held + the check's own session = at least 11 of 70 (16%).
  settings->connections_degraded_above = 0.10;
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kDegraded) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
  std::string percent;
  int used = 0;
  ASSERT_TRUE(RE2::FullMatch(r.detail, R"(connections (\d+)% of max_connections \((\d+)/70\))",
                             &percent, &used))
      << r.detail;
  EXPECT_GE(used, 11);
  EXPECT_EQ(percent, std::to_string(static_cast<int>(std::lround(used * 100.0 / 70))));
  EXPECT_NEAR(*FindObservation(r, "postgres_connections_used_ratio"), used / 70.0, 1e-9);

  settings->connections_degraded_above = 0.90;
  r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
}

TEST_F(PostgresCheckTest, FiftyConcurrentChecksOnOneLoop) {
  auto settings = Settings(Dsn(Primary()));
  settings->query = "SELECT pg_backend_pid()";
  std::vector<std::unique_ptr<PostgresCheck>> checks;
  std::vector<Outcome> outcomes(50);
  for (int i = 0; i < 50; ++i) {
    checks.push_back(std::make_unique<PostgresCheck>(io(), settings));
    checks.back()->Start(outcomes[i].Callback());
  }
  ASSERT_TRUE(RunUntil(
      [&] {
        for (const Outcome& o : outcomes) {
          if (!o.done()) return false;
        }
        return true;
      },
      kSlowWait));
  std::set<std::string> backends;
  for (const Outcome& o : outcomes) {
    EXPECT_EQ(o.calls, 1);
    EXPECT_EQ(o.result.health, Health::kHealthy) << o.result.detail;
    backends.insert(o.result.detail);
  }
  // Each check had its own session.
  EXPECT_EQ(backends.size(), 50u);
}

TEST_F(PostgresCheckTest, RestartedServerIsRefusedThenHealthy) {
  PostgresServer& server = Primary();
  auto settings = Settings(Dsn(server));
  EXPECT_EQ(RunOnce(settings).health, Health::kHealthy);
  server.Stop();
  CheckResult r = RunOnce(settings);
  server.Start();
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "connection refused");
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(RunOnce(settings).health, Health::kHealthy);
}

// A server of its own, filled to its last slot and then shut down: a full
// server is over its limit (53300), one shutting down is not serving (57P03).
TEST_F(PostgresCheckTest, FullServerIsThresholdAndStoppingServerIsNotServing) {
  // Five slots, three of them reserved for superusers: two for the rest.
  PostgresServer server({.max_connections = 5});
  const std::string dsn =
      "host=127.0.0.1 port=" + std::to_string(server.port()) + " dbname=postgres user=monitor";
  server.Execute("CREATE ROLE monitor LOGIN");
  std::vector<PostgresServer::Connection> held;
  for (int i = 0; i < 2; ++i) held.push_back(server.Connect());
  CheckResult r = RunOnce(Settings(dsn));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_THAT(r.detail, HasSubstr("connection slots are reserved")) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(server.port()));

  // A smart shutdown (SIGTERM) waits for the sessions still open and turns
  // new ones away meanwhile.
  held.pop_back();
  std::ifstream pid_file(server.socket_dir() + "/data/postmaster.pid");
  pid_t postmaster = 0;
  ASSERT_TRUE(pid_file >> postmaster);
  ASSERT_EQ(kill(postmaster, SIGTERM), 0);
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  do {
    r = RunOnce(Settings(dsn));
  } while (r.detail != "the database system is shutting down" &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "the database system is shutting down");
  EXPECT_EQ(r.reason, FailureReason::kNotServing);
  held.clear();
}

// --- config parsing -------------------------------------------------------

TEST(PostgresConfigTest, TargetNeverShowsThePassword) {
  auto spec = Parse(R"(dsn: "postgresql://monitor:${PGPASSWORD_TEST}@db.internal:6432/app")");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->Target(), "postgres://monitor@db.internal:6432/app");
  EXPECT_TRUE(spec->settings().resolve_host);
  bool has_password = false;
  for (const auto& [key, value] : spec->settings().conninfo) {
    if (key == "password") has_password = value == kMonitorPassword;
  }
  EXPECT_TRUE(has_password);
  EXPECT_EQ(spec->settings().query, "SELECT 1");
}

TEST(PostgresConfigTest, PasswordFileIsReadAtLoad) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("hx-pg-pass-" + std::to_string(getpid())))
          .string();
  std::ofstream(path) << kMonitorPassword << "\n";
  auto spec = Parse("{dsn: 'host=127.0.0.1 user=monitor dbname=app', password_file: '" + path +
                    "', expect_role: replica, max_replication_lag: 30s,"
                    " connections_degraded_above: 90%}");
  std::filesystem::remove(path);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->Target(), "postgres://monitor@127.0.0.1:5432/app");
  EXPECT_FALSE(spec->settings().resolve_host);
  EXPECT_EQ(spec->settings().expect_role, PostgresRole::kReplica);
  EXPECT_EQ(spec->settings().max_replication_lag, std::chrono::seconds(30));
  EXPECT_DOUBLE_EQ(*spec->settings().connections_degraded_above, 0.9);
  std::string password;
  for (const auto& [key, value] : spec->settings().conninfo) {
    if (key == "password") password = value;
  }
  EXPECT_EQ(password, kMonitorPassword);
}

TEST(PostgresConfigTest, DsnErrorsNeverEchoThePassword) {
  std::vector<std::string> errors;
  EXPECT_FALSE(Parse("dsn: \"host=db password='mon-Secret-4b2e\"", &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], Not(HasSubstr("Secret")));
  EXPECT_THAT(errors[0], HasSubstr("invalid DSN: "));

  errors.clear();
  EXPECT_FALSE(Parse("dsn: \"postgresql://monitor:mon%zzSecret@db/app\"", &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], Not(HasSubstr("Secret")));
  EXPECT_THAT(errors[0], Not(HasSubstr("%zz")));
}

TEST(PostgresErrorLineTest, TrimsLibpqMessages) {
  EXPECT_EQ(PostgresErrorLine("connection to server at \"127.0.0.1\", port 5432 failed: "
                              "Connection refused\n\tIs the server running on that host and "
                              "accepting TCP/IP connections?\n",
                              ""),
            "connection refused");
  EXPECT_EQ(PostgresErrorLine("connection to server at \"localhost\" (::1), port 1 failed: "
                              "Connection refused\n\tIs the server running?\n"
                              "connection to server at \"localhost\" (127.0.0.1), port 1 failed: "
                              "FATAL:  database \"nope\" does not exist\n",
                              ""),
            "database \"nope\" does not exist");
  EXPECT_EQ(PostgresErrorLine("FATAL:  role \"hunter2\" does not exist", "hunter2"),
            "role \"***\" does not exist");
}

TEST(PostgresSqlStateTest, VerboseTextLosesItsCodesAndTheLastOneCounts) {
  std::string message =
      "connection to server at \"localhost\" (::1), port 1 failed: FATAL:  57P03: the database "
      "system is starting up\n"
      "connection to server at \"localhost\" (127.0.0.1), port 1 failed: FATAL:  28P01: password "
      "authentication failed for user \"monitor\"\nLOCATION:  auth_failed, auth.c:326\n";
  EXPECT_EQ(TakeSqlState(&message), "28P01");
  EXPECT_EQ(PostgresErrorLine(message, ""), "password authentication failed for user \"monitor\"");
  std::string plain = "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n";
  EXPECT_EQ(TakeSqlState(&plain), "");
  EXPECT_EQ(PostgresReason("28P01"), FailureReason::kAuthFailed);
  EXPECT_EQ(PostgresReason("28000"), FailureReason::kAuthFailed);
  EXPECT_EQ(PostgresReason("42501"), FailureReason::kAuthFailed);
  EXPECT_EQ(PostgresReason("57P03"), FailureReason::kNotServing);
  EXPECT_EQ(PostgresReason("57P01"), FailureReason::kNotServing);
  EXPECT_EQ(PostgresReason("53300"), FailureReason::kThreshold);
  EXPECT_EQ(PostgresReason("25006"), FailureReason::kWrongRole);
  EXPECT_EQ(PostgresReason("08P01"), FailureReason::kProtocolError);
  EXPECT_EQ(PostgresReason("08006"), FailureReason::kConnectionClosed);
  EXPECT_EQ(PostgresReason("42P01"), FailureReason::kAnswerMismatch);
  EXPECT_EQ(PostgresReason("3D000"), FailureReason::kAnswerMismatch);
}

}  // namespace
}  // namespace hx
