// RedisCheck against real redis-server processes (and silent or scripted TCP
// servers) on a real libuv loop; plus parsing of the `redis:` mapping.

#include "checks/redis/redis_check.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/parse_context.h"
#include "io/io_context.h"
#include "scheduler/check_scheduler.h"
#include "scheduler/uv_clock.h"
#include "support/dnsmasq_server.h"
#include "support/loop_test.h"
#include "support/redis_server.h"
#include "support/tcp_test_server.h"

namespace hx {
namespace {

using std::chrono::milliseconds;
using Role = RedisCheckSettings::Role;

constexpr milliseconds kWait{10000};
constexpr char kAdminPassword[] = "adm1n-Secret-pw";
constexpr char kMonitorPassword[] = "m0nitor-Secret-pw";

RedisCheckSettings Tcp(uint16_t port) {
  RedisCheckSettings s;
  s.host = "127.0.0.1";
  s.port = port;
  return s;
}

std::optional<double> Observation(const CheckResult& r, const std::string& name) {
  for (const auto& o : r.observations) {
    if (o.name() == name) return o.value;
  }
  return std::nullopt;
}

// A closed port: a bound socket that never listens answers SYNs with RST and
// keeps the port from being taken while it is open.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~ClosedPort() { close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

class RedisCheckTest : public LoopTest {
 protected:
  // Servers shared by the read-only tests: starting redis-server per test
  // would dominate the suite's run time.
  static void SetUpTestSuite() {
    plain_ = new RedisServer({.unix_socket = true});
    secured_ = new RedisServer({.requirepass = kAdminPassword,
                                .acl_users = {std::string("monitor on >") + kMonitorPassword +
                                              " -@all +ping +info +select +auth"}});
  }
  static void TearDownTestSuite() {
    delete plain_;
    delete secured_;
    plain_ = secured_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(plain_->ok()) << plain_->error();
    ASSERT_TRUE(secured_->ok()) << secured_->error();
    LoopTest::SetUp();
  }

  std::unique_ptr<Check> Make(RedisCheckSettings settings) {
    return RedisCheckSpec(std::move(settings)).CreateCheck(io());
  }

  /// Starts one attempt and runs the loop until it reports.
  CheckResult RunOnce(RedisCheckSettings settings) {
    auto check = Make(std::move(settings));
    return RunAttempt(*check).value_or(CheckResult{});
  }

  static RedisServer* plain_;
  static RedisServer* secured_;
};

RedisServer* RedisCheckTest::plain_ = nullptr;
RedisServer* RedisCheckTest::secured_ = nullptr;

TEST_F(RedisCheckTest, PingedMasterIsHealthy) {
  CheckResult r = RunOnce(Tcp(plain_->port()));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "role master");
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(plain_->port()));
  // No maxmemory: no ratio to report.
  EXPECT_TRUE(r.observations.empty());
}

TEST_F(RedisCheckTest, LocalhostComesFromTheHostsFile) {
  // "localhost" may resolve to ::1 first, where nothing listens: the check
  // moves on to the next address.
  RedisCheckSettings s = Tcp(plain_->port());
  s.host = "localhost";
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "role master");
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(plain_->port()))
      << "the address that answered";
}

TEST_F(RedisCheckTest, HostNameIsResolvedByTheLoopsResolver) {
  DnsmasqServer dns({"--host-record=redis.test,127.0.0.1"});
  ASSERT_TRUE(dns.ok()) << dns.error();
  io().set_resolver_options(dns.ResolverOptions());
  RedisCheckSettings s = Tcp(plain_->port());
  s.host = "redis.test";
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.detail, "role master");
  EXPECT_NE(dns.Log().find("redis.test"), std::string::npos) << dns.Log();
  s.ip_protocol = IpProtocol::kIp6;
  r = RunOnce(s);
  EXPECT_EQ(r.detail, "no IPv6 address");
  EXPECT_EQ(r.reason, FailureReason::kDnsError);
  EXPECT_EQ(r.address, "") << "nothing was talked to";
  s.host = "nothere.test";
  s.ip_protocol = IpProtocol::kAuto;
  r = RunOnce(s);
  EXPECT_EQ(r.detail, "no such host");
  EXPECT_EQ(r.reason, FailureReason::kDnsNxdomain);
}

TEST_F(RedisCheckTest, ExpectedMasterRoleIsHealthy) {
  RedisCheckSettings s = Tcp(plain_->port());
  s.expect_role = Role::kMaster;
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
}

TEST_F(RedisCheckTest, MasterWhenReplicaExpectedIsUnhealthy) {
  RedisCheckSettings s = Tcp(plain_->port());
  s.expect_role = Role::kReplica;
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "role master, expected replica");
  EXPECT_EQ(r.reason, FailureReason::kWrongRole);
}

TEST_F(RedisCheckTest, RequirepassWithRightPasswordIsHealthy) {
  RedisCheckSettings s = Tcp(secured_->port());
  s.password = kAdminPassword;
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "role master");
}

TEST_F(RedisCheckTest, WrongPasswordIsAnAuthenticationFailureWithoutTheSecret) {
  RedisCheckSettings s = Tcp(secured_->port());
  s.password = "not-the-Right-pw";
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail,
            "authentication failed: WRONGPASS invalid username-password pair or user is disabled");
  EXPECT_EQ(r.reason, FailureReason::kAuthFailed);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(secured_->port()));
  EXPECT_EQ(r.detail.find("not-the-Right-pw"), std::string::npos);
}

TEST_F(RedisCheckTest, MissingPasswordIsNoauth) {
  CheckResult r = RunOnce(Tcp(secured_->port()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "NOAUTH: password required");
  EXPECT_EQ(r.reason, FailureReason::kAuthFailed);
}

TEST_F(RedisCheckTest, PasswordForServerWithoutOneIsAnAuthenticationFailure) {
  RedisCheckSettings s = Tcp(plain_->port());
  s.password = "unneeded-Secret-pw";
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_TRUE(r.detail.starts_with("authentication failed: ERR AUTH")) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kAuthFailed);
  EXPECT_EQ(r.detail.find("unneeded-Secret-pw"), std::string::npos);
}

TEST_F(RedisCheckTest, AclUserWithPasswordIsHealthy) {
  RedisCheckSettings s = Tcp(secured_->port());
  s.username = "monitor";
  s.password = kMonitorPassword;
  s.db = 0;
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "role master");
}

TEST_F(RedisCheckTest, AclUserWithWrongPasswordFails) {
  RedisCheckSettings s = Tcp(secured_->port());
  s.username = "monitor";
  s.password = kAdminPassword;  // the default user's, not monitor's
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_TRUE(r.detail.starts_with("authentication failed: WRONGPASS")) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kAuthFailed);
  EXPECT_EQ(r.detail.find(kAdminPassword), std::string::npos);
}

TEST_F(RedisCheckTest, AclUserWithoutInfoPermissionFailsAtInfo) {
  RedisServer server({.acl_users = {"pinger on >pinger-Secret-pw -@all +ping +auth"}});
  ASSERT_TRUE(server.ok()) << server.error();
  RedisCheckSettings s = Tcp(server.port());
  s.username = "pinger";
  s.password = "pinger-Secret-pw";
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_TRUE(r.detail.starts_with("INFO failed: NOPERM")) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kAuthFailed) << "the credentials do not allow INFO";
}

TEST_F(RedisCheckTest, SelectsTheConfiguredDatabase) {
  RedisCheckSettings s = Tcp(plain_->port());
  s.db = 3;
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
}

TEST_F(RedisCheckTest, DatabaseOutOfRangeIsUnhealthy) {
  // Proves SELECT is sent: the default 16 databases end at 15.
  RedisCheckSettings s = Tcp(plain_->port());
  s.db = 16;
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "SELECT 16 failed: ERR DB index is out of range");
  EXPECT_EQ(r.reason, FailureReason::kAnswerMismatch);
}

TEST_F(RedisCheckTest, UnixSocketIsHealthy) {
  RedisCheckSettings s;
  s.socket_path = plain_->socket_path();
  s.db = 2;
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "role master");
  EXPECT_EQ(r.address, "unix:" + plain_->socket_path());
}

TEST_F(RedisCheckTest, MissingUnixSocketIsUnhealthy) {
  RedisCheckSettings s;
  s.socket_path = plain_->dir() + "/no-such.sock";
  CheckResult r = RunOnce(s);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "no such file or directory");
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused) << "nobody listens there";
  EXPECT_EQ(r.address, "unix:" + s.socket_path);
}

TEST_F(RedisCheckTest, ClosedPortIsConnectionRefused) {
  ClosedPort closed;
  CheckResult r = RunOnce(Tcp(closed.port()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "connection refused");
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(closed.port()));
}

TEST_F(RedisCheckTest, ServerThatClosesIsUnhealthy) {
  TcpTestServer server({.mode = TcpTestServer::Mode::kCloseImmediately});
  CheckResult r = RunOnce(Tcp(server.port()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  // EOF, or a reset when the close finds our PING unread.
  EXPECT_TRUE(r.detail == "server closed the connection" || r.detail == "connection reset by peer")
      << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kConnectionClosed);
}

TEST_F(RedisCheckTest, LoadingReplyIsReported) {
  // A scripted server answers the first command (PING) with LOADING.
  TcpTestServer server({.mode = TcpTestServer::Mode::kBanner,
                        .banner = "-LOADING Redis is loading the dataset in memory\r\n"});
  CheckResult r = RunOnce(Tcp(server.port()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "server is loading the dataset");
  EXPECT_EQ(r.reason, FailureReason::kNotServing);
}

TEST_F(RedisCheckTest, RealServerLoadingItsDatasetIsReported) {
  // Save 20000 keys, then restart on the same dir with a delay per loaded
  // key: loading takes ~10 s, answering LOADING meanwhile.
  RedisServer writer({.extra_args = {"--enable-debug-command", "local"}});
  ASSERT_TRUE(writer.ok()) << writer.error();
  ASSERT_EQ(writer.Command({"DEBUG", "POPULATE", "20000"}), "OK");
  ASSERT_EQ(writer.Command({"SAVE"}), "OK");
  writer.Stop();
  RedisServer loader(
      {.data_dir = writer.dir(),
       .extra_args = {"--key-load-delay", "500", "--loading-process-events-interval-bytes", "1024"},
       .wait_until_loaded = false});
  ASSERT_TRUE(loader.ok()) << loader.error();
  CheckResult r = RunOnce(Tcp(loader.port()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "server is loading the dataset");
  EXPECT_EQ(r.reason, FailureReason::kNotServing);
}

TEST_F(RedisCheckTest, MasterdownReplyIsReported) {
  TcpTestServer server({.mode = TcpTestServer::Mode::kBanner,
                        .banner = "-MASTERDOWN Link with MASTER is down and "
                                  "replica-serve-stale-data is set to 'no'.\r\n"});
  CheckResult r = RunOnce(Tcp(server.port()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "replica's link to master is down (MASTERDOWN)");
  EXPECT_EQ(r.reason, FailureReason::kNotServing);
}

TEST_F(RedisCheckTest, PingWithoutPongIsUnhealthy) {
  TcpTestServer server({.mode = TcpTestServer::Mode::kBanner, .banner = "+OK\r\n"});
  CheckResult r = RunOnce(Tcp(server.port()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "PING answered without PONG");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
}

TEST_F(RedisCheckTest, ReplicaFollowsMasterThenLosesIt) {
  auto master = std::make_unique<RedisServer>(
      RedisServer::Options{.extra_args = {"--repl-diskless-sync-delay", "0"}});
  ASSERT_TRUE(master->ok()) << master->error();
  RedisServer replica({.replica_of = master->port()});
  ASSERT_TRUE(replica.ok()) << replica.error();
  ASSERT_TRUE(replica.WaitForInfo("replication", "master_link_status", "up", kWait));

  RedisCheckSettings s = Tcp(replica.port());
  s.expect_role = Role::kReplica;
  CheckResult up = RunOnce(s);
  EXPECT_EQ(up.health, Health::kHealthy) << up.detail;
  EXPECT_EQ(up.detail, "role replica, master link up");

  s.expect_role = Role::kMaster;
  CheckResult wrong_role = RunOnce(s);
  EXPECT_EQ(wrong_role.health, Health::kUnhealthy);
  EXPECT_EQ(wrong_role.detail, "role replica, expected master");
  EXPECT_EQ(wrong_role.reason, FailureReason::kWrongRole);

  master->Stop();
  ASSERT_TRUE(replica.WaitForInfo("replication", "master_link_status", "down", kWait));
  s.expect_role = Role::kReplica;
  CheckResult down = RunOnce(s);
  EXPECT_EQ(down.health, Health::kUnhealthy);
  EXPECT_EQ(down.detail, "replica's link to master is down");
  EXPECT_EQ(down.reason, FailureReason::kNotServing);
  // Without expect_role too: a replica without its master is unhealthy.
  s.expect_role = Role::kAny;
  EXPECT_EQ(RunOnce(s).detail, "replica's link to master is down");
}

TEST_F(RedisCheckTest, StaleReplicaRefusingCommandsIsMasterdown) {
  auto master = std::make_unique<RedisServer>(
      RedisServer::Options{.extra_args = {"--repl-diskless-sync-delay", "0"}});
  ASSERT_TRUE(master->ok()) << master->error();
  RedisServer replica(
      {.replica_of = master->port(), .extra_args = {"--replica-serve-stale-data", "no"}});
  ASSERT_TRUE(replica.ok()) << replica.error();
  ASSERT_TRUE(replica.WaitForInfo("replication", "master_link_status", "up", kWait));
  master->Stop();
  ASSERT_TRUE(replica.WaitForInfo("replication", "master_link_status", "down", kWait));
  CheckResult r = RunOnce(Tcp(replica.port()));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "replica's link to master is down (MASTERDOWN)");
  EXPECT_EQ(r.reason, FailureReason::kNotServing);
}

TEST_F(RedisCheckTest, MemoryRatioIsObservedAndDegradesAboveThreshold) {
  RedisServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  // ~2 MB of values, so that the few KB a connection adds barely move the ratio.
  const std::string value(100 * 1000, 'x');
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(server.Command({"SET", "key" + std::to_string(i), value}), "OK");
  }
  const std::optional<std::string> used_text = server.InfoField("memory", "used_memory");
  ASSERT_TRUE(used_text.has_value());
  const double used = std::stod(*used_text);

  RedisCheckSettings s = Tcp(server.port());
  s.memory_degraded_above = 0.9;

  // About 95 % of maxmemory: degraded.
  ASSERT_EQ(server.Command(
                {"CONFIG", "SET", "maxmemory", std::to_string(static_cast<uint64_t>(used / 0.95))}),
            "OK");
  CheckResult high = RunOnce(s);
  EXPECT_EQ(high.health, Health::kDegraded) << high.detail;
  EXPECT_EQ(high.reason, FailureReason::kThreshold);
  EXPECT_TRUE(high.detail.starts_with("memory 9")) << high.detail;
  EXPECT_TRUE(high.detail.ends_with("% of maxmemory (above 90%)")) << high.detail;
  const std::optional<double> high_ratio = Observation(high, "redis_memory_used_ratio");
  ASSERT_TRUE(high_ratio.has_value());
  EXPECT_GT(*high_ratio, 0.9);
  EXPECT_LT(*high_ratio, 1.0);

  // About 25 %: healthy, ratio still observed.
  ASSERT_EQ(server.Command(
                {"CONFIG", "SET", "maxmemory", std::to_string(static_cast<uint64_t>(used * 4))}),
            "OK");
  CheckResult low = RunOnce(s);
  EXPECT_EQ(low.health, Health::kHealthy) << low.detail;
  EXPECT_TRUE(low.detail.starts_with("role master, memory 2")) << low.detail;
  EXPECT_TRUE(low.detail.ends_with("% of maxmemory")) << low.detail;
  const std::optional<double> low_ratio = Observation(low, "redis_memory_used_ratio");
  ASSERT_TRUE(low_ratio.has_value());
  EXPECT_GT(*low_ratio, 0.2);
  EXPECT_LT(*low_ratio, 0.3);
}

TEST_F(RedisCheckTest, CancelWhileServerNeverAnswersReleasesTheConnection) {
  TcpTestServer server({.mode = TcpTestServer::Mode::kHold});
  auto check = Make(Tcp(server.port()));
  Outcome outcome;
  check->Start(outcome.Callback());
  ASSERT_TRUE(RunUntil([&] { return server.accepted() == 1; }));
  // Connected with PING written and unanswered: the attempt is mid-command.
  uv_run(loop(), UV_RUN_NOWAIT);
  EXPECT_FALSE(outcome.done());
  check->Cancel();
  EXPECT_TRUE(server.WaitForClientCloses(1, kWait));
  RunUntilIdle();
  EXPECT_EQ(outcome.calls, 0);
  // The check is reusable after a cancel.
  check->Start(outcome.Callback());
  ASSERT_TRUE(RunUntil([&] { return server.accepted() == 2; }));
  check.reset();  // the destructor cancels too
  EXPECT_TRUE(server.WaitForClientCloses(2, kWait));
  RunUntilIdle();
  EXPECT_EQ(outcome.calls, 0);
}

// Collects the scheduler's records.
class RecordingSink final : public RunSink {
 public:
  void OnRun(const RunRecord& run) override { runs.push_back(run); }
  void OnSkipped(size_t) override {}
  std::vector<RunRecord> runs;
};

TEST_F(RedisCheckTest, SchedulerTimeoutCancelsASilentServerAndClosesTheConnection) {
  TcpTestServer server({.mode = TcpTestServer::Mode::kHold});
  UvClock clock(loop());
  RecordingSink sink;
  CheckScheduler scheduler(clock, sink, /*seed=*/1);
  CheckConfig config;
  config.name = "silent-redis";
  config.type = "redis";
  config.interval = milliseconds(500);  // the first run comes within one interval
  config.timeout = milliseconds(200);
  config.spec = std::make_shared<RedisCheckSpec>(Tcp(server.port()));
  scheduler.Add(config, config.spec->CreateCheck(io()));
  scheduler.Start();
  ASSERT_TRUE(RunUntil([&] { return !sink.runs.empty(); }));
  EXPECT_TRUE(sink.runs[0].timed_out);
  EXPECT_EQ(sink.runs[0].result.detail, "timeout after 200ms");
  EXPECT_TRUE(server.WaitForClientCloses(1, kWait));
  scheduler.Stop();
}

TEST_F(RedisCheckTest, CancelWhileConnectingReleasesTheSocket) {
  TcpTestServer server({.mode = TcpTestServer::Mode::kNeverAccept});
  auto check = Make(Tcp(server.port()));
  Outcome outcome;
  check->Start(outcome.Callback());
  uv_run(loop(), UV_RUN_NOWAIT);
  EXPECT_FALSE(outcome.done());
  check->Cancel();
  // TearDown asserts that the loop has no handle left.
  RunUntilIdle();
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(RedisCheckTest, CancelWhileResolvingNeverReports) {
  RedisCheckSettings s = Tcp(plain_->port());
  s.host = "localhost";
  auto check = Make(s);
  Outcome outcome;
  check->Start(outcome.Callback());
  check.reset();
  RunUntilIdle();
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(RedisCheckTest, DestroyingTheCheckFromItsCallbackIsSafe) {
  auto check = Make(Tcp(plain_->port()));
  Outcome outcome;
  check->Start([&](CheckResult r) {
    ++outcome.calls;
    outcome.result = std::move(r);
    check.reset();
  });
  ASSERT_TRUE(RunUntil([&] { return outcome.done(); }));
  EXPECT_EQ(outcome.result.health, Health::kHealthy) << outcome.result.detail;
}

TEST_F(RedisCheckTest, FiftyConcurrentChecksOnOneLoop) {
  constexpr int kChecks = 50;
  std::vector<std::unique_ptr<Check>> checks;
  std::vector<Outcome> outcomes(kChecks);
  for (int i = 0; i < kChecks; ++i) {
    RedisCheckSettings s;
    if (i % 2 == 0) {
      s = Tcp(secured_->port());
      s.username = "monitor";
      s.password = kMonitorPassword;
    } else {
      s.socket_path = plain_->socket_path();
    }
    s.db = i % 4;
    checks.push_back(Make(s));
  }
  for (int i = 0; i < kChecks; ++i) checks[i]->Start(outcomes[i].Callback());
  ASSERT_TRUE(RunUntil([&] {
    for (const Outcome& o : outcomes) {
      if (!o.done()) return false;
    }
    return true;
  }));
  uv_run(loop(), UV_RUN_NOWAIT);
  for (int i = 0; i < kChecks; ++i) {
    EXPECT_EQ(outcomes[i].calls, 1) << i;
    EXPECT_EQ(outcomes[i].result.health, Health::kHealthy)
        << i << ": " << outcomes[i].result.detail;
  }
}

// --- Parsing of the `redis:` mapping ---------------------------------------

struct Parsed {
  std::shared_ptr<const RedisCheckSpec> spec;
  std::vector<std::string> errors;
};

Parsed Parse(const std::string& yaml) {
  config::ParseContext ctx("inline.yml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "REDIS_PASSWORD") return "env-Secret-pw";
    return std::nullopt;
  });
  YAML::Node root = YAML::Load(yaml);
  config::MapReader reader(root, "redis", ctx);
  Parsed out;
  out.spec = ParseRedisCheckSpec(reader);
  for (const auto& e : ctx.errors()) out.errors.push_back(e.ToString());
  return out;
}

TEST(RedisConfigTest, AddressOnly) {
  Parsed p = Parse("address: 127.0.0.1:6379");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const RedisCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 6379);
  EXPECT_EQ(s.db, 0);
  EXPECT_EQ(s.password, "");
  EXPECT_EQ(s.expect_role, Role::kAny);
  EXPECT_FALSE(s.memory_degraded_above.has_value());
  EXPECT_EQ(p.spec->Target(), "redis://127.0.0.1:6379/0");
}

TEST(RedisConfigTest, EveryKeyAndTargetWithoutSecrets) {
  Parsed p = Parse(R"(
address: "[::1]:6380"
username: monitor
password: "${REDIS_PASSWORD}"
db: 2
expect_role: replica
memory_degraded_above: 85%
)");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const RedisCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.host, "::1");
  EXPECT_EQ(s.port, 6380);
  EXPECT_EQ(s.username, "monitor");
  EXPECT_EQ(s.password, "env-Secret-pw");
  EXPECT_EQ(s.db, 2);
  EXPECT_EQ(s.expect_role, Role::kReplica);
  ASSERT_TRUE(s.memory_degraded_above.has_value());
  EXPECT_DOUBLE_EQ(*s.memory_degraded_above, 0.85);
  EXPECT_EQ(p.spec->Target(), "redis://[::1]:6380/2");
}

TEST(RedisConfigTest, UnixSocketTarget) {
  Parsed p = Parse("{address: 'unix:/run/redis/redis.sock', db: 1}");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().socket_path, "/run/redis/redis.sock");
  EXPECT_EQ(p.spec->settings().port, 0);
  EXPECT_EQ(p.spec->Target(), "unix:/run/redis/redis.sock?db=1");
  EXPECT_EQ(Parse("address: unix:/r.sock").spec->Target(), "unix:/r.sock");
}

TEST(RedisConfigTest, PasswordFileIsReadAtLoadWithoutTrailingNewline) {
  const std::string dir = std::filesystem::temp_directory_path() / "hx-redis-pw-XXXXXX";
  std::string pattern = dir;
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::string file = pattern + "/redis.pass";
  std::ofstream(file) << "file-Secret-pw\n";
  Parsed p = Parse("{address: 'cache:6379', password_file: '" + file + "'}");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().password, "file-Secret-pw");
  EXPECT_EQ(p.spec->Target(), "redis://cache:6379/0");

  std::ofstream(file, std::ios::trunc) << "\n";
  Parsed empty = Parse("{address: 'cache:6379', password_file: '" + file + "'}");
  EXPECT_EQ(empty.spec, nullptr);
  EXPECT_EQ(empty.errors, std::vector<std::string>{"inline.yml:1:40: redis.password_file: "
                                                   "password file \"" +
                                                   file + "\" is empty"});
  std::filesystem::remove_all(pattern);
}

TEST(RedisConfigTest, ErrorsNameTheKey) {
  Parsed p = Parse(R"(
address: "cache"
password: a
password_file: /etc/hostname
db: -1
expect_role: primary
memory_degraded_above: 0%
)");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_EQ(p.errors,
            (std::vector<std::string>{
                "inline.yml:2:10: redis.address: must be host:port or [ipv6]:port (or "
                "unix:/path/to/socket)",
                "inline.yml:4:16: redis.password_file: set either password or password_file, not "
                "both",
                "inline.yml:5:5: redis.db: must be an integer from 0 to 2147483647, got \"-1\"",
                "inline.yml:6:14: redis.expect_role: must be \"master\" or \"replica\", got "
                "\"primary\"",
                "inline.yml:7:24: redis.memory_degraded_above: must be above 0%",
            }));
}

TEST(RedisConfigTest, OverlongSocketPathIsRejected) {
  Parsed p = Parse("address: unix:/" + std::string(200, 's'));
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_EQ(p.errors, std::vector<std::string>{"inline.yml:1:10: redis.address: unix socket path "
                                               "must be shorter than 108 bytes"});
}

TEST(RedisConfigTest, UnreadablePasswordFileNamesThePathOnly) {
  Parsed p = Parse("{address: 'cache:6379', password_file: /nonexistent/redis.pass}");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_EQ(p.errors, std::vector<std::string>{"inline.yml:1:40: redis.password_file: cannot "
                                               "read password file \"/nonexistent/redis.pass\": "
                                               "No such file or directory"});
}

TEST(RedisConfigTest, UsernameNeedsPasswordAndRelativeSocketIsRejected) {
  Parsed p = Parse("{address: 'unix:redis.sock', username: monitor}");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_EQ(p.errors, (std::vector<std::string>{
                          "inline.yml:1:11: redis.address: a unix socket address must be "
                          "unix:/absolute/path",
                          "inline.yml:1:40: redis.username: needs a password or password_file",
                      }));
}

}  // namespace
}  // namespace hx
