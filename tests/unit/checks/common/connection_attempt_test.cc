// The connection base's promises (checks/common/connection_attempt.h), on a
// real libuv loop against loopback listeners, with a type of the test's own
// whose only protocol is "write, then judge": which hooks run how often under
// each ip_policy, that a write of a connection already judged reports nothing,
// and that a cancelled attempt is freed once its socket has closed.
#include "checks/common/connection_attempt.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "io/io_context.h"
#include "support/daemon_process.h"
#include "support/loop_test.h"
#include "support/tcp_test_server.h"

namespace hx {
namespace {

using std::chrono::milliseconds;

struct Hooks {
  int alive = 0;  // attempts allocated
  int connecting = 0;
  int connected = 0;
  int write_done = 0;
  int ended = 0;  // OnConnectionEnded
};

// What a connection to each address does once connected: it writes "ping"
// and ends healthy when the write completed; with `judge_first_at_once` the
// first connection writes "abandoned" and ends unhealthy before its write
// completes; `silent` ones do nothing.
struct Script {
  std::string host = "two.test";
  uint16_t port = 0;
  IpPolicy ip_policy = IpPolicy::kFirst;
  bool judge_first_at_once = false;
  bool silent = false;
};

class ScriptedAttempt final : public ConnectionAttempt {
 public:
  ScriptedAttempt(IoContext& io, const Script& script, Hooks* hooks)
      : ConnectionAttempt(io, script.port, script.ip_policy), script_(script), hooks_(hooks) {
    ++hooks_->alive;
  }
  ~ScriptedAttempt() override { --hooks_->alive; }

 private:
  void Begin() override { ResolveAndConnect(script_.host, IpProtocol::kIp4); }
  void OnConnecting() override { ++hooks_->connecting; }
  void OnConnected() override {
    ++hooks_->connected;
    if (script_.silent) return;
    if (script_.judge_first_at_once && connection() == 1) {
      WriteRaw("abandoned");
      EndConnection(CheckResult::Unhealthy(FailureReason::kProtocolError,
                                           "judged before its write completed"));
      return;
    }
    WriteRaw("ping");
  }
  void HandleRead(ssize_t /*nread*/, const uv_buf_t* /*buf*/) override {}
  void OnWriteDone() override {
    ++hooks_->write_done;
    EndConnection(CheckResult::Healthy("written on connection " + std::to_string(connection())));
  }
  void OnConnectionEnded() override { ++hooks_->ended; }

  Script script_;
  Hooks* hooks_;
};

class ScriptedCheck final : public AsyncCheck {
 public:
  ScriptedCheck(IoContext& io, Script script, Hooks* hooks)
      : io_(io), script_(std::move(script)), hooks_(hooks) {}

 private:
  std::unique_ptr<Attempt> NewAttempt() override {
    return std::make_unique<ScriptedAttempt>(io_, script_, hooks_);
  }
  IoContext& io_;
  Script script_;
  Hooks* hooks_;
};

// two.test is 127.0.0.2, then 127.0.0.1 (a hosts file of the test's own);
// the server listens on 127.0.0.1 only.
class ConnectionAttemptTest : public LoopTest {
 protected:
  ConnectionAttemptTest() : LoopTest(milliseconds(5000)) {}

  void SetUp() override {
    LoopTest::SetUp();
    ResolveFromHostsFileOnly(dir_.Write("hosts", "127.0.0.2 two.test\n127.0.0.1 two.test\n"));
  }

  CheckResult Run(Script script) {
    script.port = server_.port();
    ScriptedCheck check(io(), std::move(script), &hooks_);
    std::optional<CheckResult> result = RunAttempt(check);
    EXPECT_TRUE(result.has_value());
    EXPECT_TRUE(RunUntil([this] { return hooks_.alive == 0; })) << "the attempt was not freed";
    return result.value_or(CheckResult::Unhealthy(FailureReason::kInternal, "no result"));
  }

  // Something listening on 127.0.0.2 too (the kernel completes the handshake
  // from the backlog, nobody accepts); closed by the caller.
  int ListenOnSecond() const {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in second{};
    second.sin_family = AF_INET;
    second.sin_port = htons(server_.port());
    inet_pton(AF_INET, "127.0.0.2", &second.sin_addr);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&second), sizeof second), 0);
    EXPECT_EQ(listen(fd, 8), 0);
    return fd;
  }

  std::string Port() const { return std::to_string(server_.port()); }

  TempDir dir_;
  TcpTestServer server_{{.mode = TcpTestServer::Mode::kHold}};
  Hooks hooks_;
};

TEST_F(ConnectionAttemptTest, FirstMovesPastARefusedAddressWithoutEndingAConnection) {
  const CheckResult r = Run({.ip_policy = IpPolicy::kFirst});
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.detail, "written on connection 2");
  EXPECT_EQ(hooks_.connecting, 2);
  EXPECT_EQ(hooks_.connected, 1);
  EXPECT_EQ(hooks_.write_done, 1);
  EXPECT_EQ(hooks_.ended, 0);  // the attempt's result; nothing to reset
}

TEST_F(ConnectionAttemptTest, AllJudgesEachAddressAndNamesTheRefusedOne) {
  const CheckResult r = Run({.ip_policy = IpPolicy::kAll});
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "1 of 2 addresses failed: 127.0.0.2:" + Port() + ": connection refused");
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "127.0.0.2:" + Port());
  EXPECT_EQ(hooks_.connecting, 2);
  EXPECT_EQ(hooks_.connected, 1);
  EXPECT_EQ(hooks_.ended, 2);  // once per address judged
}

// The first connection is judged while its write is still owed; that write's
// callback arrives while the second connection is being opened and must
// neither count as the second's write nor judge it.
TEST_F(ConnectionAttemptTest, AWriteOfAJudgedConnectionReportsNothing) {
  const int listener = ListenOnSecond();
  const CheckResult r = Run({.ip_policy = IpPolicy::kAll, .judge_first_at_once = true});
  close(listener);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail,
            "1 of 2 addresses failed: 127.0.0.2:" + Port() + ": judged before its write completed");
  EXPECT_EQ(r.reason, FailureReason::kProtocolError);
  EXPECT_EQ(hooks_.connected, 2);
  EXPECT_EQ(hooks_.write_done, 1);
  EXPECT_EQ(hooks_.ended, 2);
}

TEST_F(ConnectionAttemptTest, CancelledWhileConnectedIsFreedOnceItsSocketClosed) {
  ScriptedCheck check(io(), {.host = "127.0.0.1", .port = server_.port(), .silent = true}, &hooks_);
  bool called = false;
  check.Start([&called](const CheckResult&) { called = true; });
  ASSERT_TRUE(RunUntil([this] { return hooks_.connected == 1; }));
  check.Cancel();
  EXPECT_EQ(hooks_.alive, 1) << "freed before its close callback arrived";
  EXPECT_TRUE(RunUntil([this] { return hooks_.alive == 0; }));
  EXPECT_TRUE(server_.WaitForClientCloses(1, milliseconds(5000)));
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace hx
