// CurlMulti's easy-handle pool and its epoll set, against a real HTTP server
// on 127.0.0.1 and a real uv loop.

#include "io/curl_multi.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checks/http/http_check.h"
#include "config/parse_context.h"
#include "io/io_context.h"
#include "support/loop_test.h"
#include "support/test_http_server.h"

namespace hx {
namespace {

class CurlMultiTest : public LoopTest {
 protected:
  CurlMultiTest() : LoopTest(std::chrono::seconds(20)) {}

  void TearDown() override {
    checks_.clear();
    DestroyIo();
    LoopTest::TearDown();
  }

  std::shared_ptr<const HttpCheckSpec> Parse(const std::string& yaml) {
    config::ParseContext ctx(
        "test.yml", [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
    const YAML::Node node = YAML::Load(yaml);
    config::MapReader reader(node, "checks[0].http", ctx);
    auto spec = ParseHttpCheckSpec(reader);
    for (const auto& e : ctx.errors()) ADD_FAILURE() << e.ToString();
    return spec;
  }

  CheckResult Run(const std::shared_ptr<const HttpCheckSpec>& spec) {
    checks_.push_back(spec->CreateCheck(io()));
    std::optional<CheckResult> result;
    checks_.back()->Start([&](CheckResult r) { result = std::move(r); });
    if (!RunUntil([&] { return result.has_value(); })) {
      ADD_FAILURE() << "attempt did not finish";
      checks_.back()->Cancel();
      return CheckResult::Unhealthy(FailureReason::kInternal, "<hung>");
    }
    return *result;
  }

  std::vector<std::unique_ptr<Check>> checks_;
};

TEST_F(CurlMultiTest, ReleasedHandleIsReusedWithItsOptionsReset) {
  CurlMulti& curl = io().curl();
  CURL* first = curl.AcquireEasy();
  ASSERT_NE(first, nullptr);
  static char marker = 'x';
  ASSERT_EQ(curl_easy_setopt(first, CURLOPT_PRIVATE, &marker), CURLE_OK);
  curl.ReleaseEasy(first);

  CURL* again = curl.AcquireEasy();
  EXPECT_EQ(again, first);
  char* value = &marker;
  ASSERT_EQ(curl_easy_getinfo(again, CURLINFO_PRIVATE, &value), CURLE_OK);
  EXPECT_EQ(value, nullptr) << "an option of the previous user survived the release";
  CURL* other = curl.AcquireEasy();
  EXPECT_NE(other, again);
  curl.ReleaseEasy(again);
  curl.ReleaseEasy(other);
}

TEST_F(CurlMultiTest, ChecksSharingPooledHandlesSendOnlyTheirOwnRequest) {
  TestHttpServer server;
  auto post = Parse("url: " + server.Url("/status/200") +
                    "\nmethod: PUT\nbody: 'secret-body'\nheaders: {X-Token: secret-token}");
  auto get = Parse("url: " + server.Url("/status/204"));
  ASSERT_NE(post, nullptr);
  ASSERT_NE(get, nullptr);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Run(post).health, Health::kHealthy);
    const CheckResult r = Run(get);
    EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
    EXPECT_EQ(r.detail, "HTTP 204");
  }
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 6u);
  for (size_t i = 1; i < requests.size(); i += 2) {
    EXPECT_EQ(requests[i].method, "GET");
    EXPECT_EQ(requests[i].path, "/status/204");
    EXPECT_EQ(requests[i].Header("X-Token"), "");
    EXPECT_EQ(requests[i].body, "");
  }
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].Header("X-Token"), "secret-token");
  EXPECT_EQ(requests[0].body, "secret-body");
  // Each attempt closed its connection: nothing is left in the epoll set.
  EXPECT_EQ(io().curl().watched_sockets(), 0u);
}

TEST_F(CurlMultiTest, ManyTransfersAtOnceShareTheEpollSet) {
  TestHttpServer server;
  auto spec = Parse("url: " + server.Url("/delay/20"));
  ASSERT_NE(spec, nullptr);
  constexpr int kChecks = 100;
  int finished = 0;
  int healthy = 0;
  for (int i = 0; i < kChecks; ++i) {
    checks_.push_back(spec->CreateCheck(io()));
    checks_.back()->Start([&](CheckResult r) {
      ++finished;
      if (r.health == Health::kHealthy) ++healthy;
    });
  }
  ASSERT_TRUE(RunUntil([&] { return io().curl().watched_sockets() > 1; }));
  EXPECT_TRUE(RunUntil([&] { return finished == kChecks; }));
  EXPECT_EQ(healthy, kChecks);
  EXPECT_EQ(io().curl().active(), 0u);
  EXPECT_EQ(io().curl().watched_sockets(), 0u);
}

TEST_F(CurlMultiTest, ShutdownReleasesPooledHandlesAndRefusesNewTransfers) {
  TestHttpServer server;
  auto spec = Parse("url: " + server.Url("/status/200"));
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(Run(spec).health, Health::kHealthy);  // leaves a handle in the pool
  io().curl().Shutdown();
  CURL* easy = io().curl().AcquireEasy();  // a fresh handle: the pool is gone
  ASSERT_NE(easy, nullptr);
  EXPECT_FALSE(io().curl().Add(easy, [](CURLcode) {}));
  io().curl().ReleaseEasy(easy);  // cleaned up, not pooled
  // TearDown checks that every uv handle (the epoll watch included) closed.
}

}  // namespace
}  // namespace hx
