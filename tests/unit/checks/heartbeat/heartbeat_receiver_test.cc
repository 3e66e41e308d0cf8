// HeartbeatReceiver: routing, bearer-token authentication, body limits and
// sanitising of failure details; the token never leaks into answers or logs.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "checks/heartbeat/heartbeat_check.h"
#include "config/config.h"
#include "support/daemon_process.h"
#include "util/log.h"

namespace hx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kToken = "backup-token-7c1e44b0a9d2f3e8";
constexpr std::string_view kOtherToken = "report-token-0a1b2c3d4e5f6a7b";

TEST(ConstantTimeEqualsTest, ComparesContentsAndLengths) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals(kToken, std::string(kToken)));
  EXPECT_FALSE(ConstantTimeEquals(kToken, kOtherToken));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd")) << "a prefix is not equal";
  EXPECT_FALSE(ConstantTimeEquals("abcd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abC"));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST(SanitizeHeartbeatDetailTest, MakesOnePrintableLine) {
  EXPECT_EQ(SanitizeHeartbeatDetail("disk full"), "disk full");
  EXPECT_EQ(SanitizeHeartbeatDetail("  line one\r\nline two\n\n\tend \n"), "line one line two end");
  EXPECT_EQ(SanitizeHeartbeatDetail("bell\x07 and esc\x1b[31mred"), "bell and esc [31mred");
  EXPECT_EQ(SanitizeHeartbeatDetail("Sauvegarde échouée ✗"), "Sauvegarde échouée ✗");
  EXPECT_EQ(SanitizeHeartbeatDetail("bad \xff\xfe utf8 \xc3"), "bad ?? utf8 ?");
  EXPECT_EQ(SanitizeHeartbeatDetail("overlong \xc0\xaf slash"), "overlong ?? slash");
  // U+2028 (line separator) and U+202E (right-to-left override).
  EXPECT_EQ(SanitizeHeartbeatDetail("a\xe2\x80\xa8"
                                    "b\xe2\x80\xae"
                                    "c"),
            "a b c");
  EXPECT_EQ(SanitizeHeartbeatDetail("\x85 C1 \xc2\x85 next-line"), "? C1 next-line");
  EXPECT_EQ(SanitizeHeartbeatDetail(""), "(no details)");
  EXPECT_EQ(SanitizeHeartbeatDetail(" \r\n\t "), "(no details)");
}

TEST(SanitizeHeartbeatDetailTest, CapsAtACharacterBoundary) {
  EXPECT_EQ(SanitizeHeartbeatDetail("abcdef", 4), "abcd...");
  EXPECT_EQ(SanitizeHeartbeatDetail("ab\xc3\xa9", 3), "ab...") << "never half a character";
  const std::string long_body(5000, 'x');
  EXPECT_EQ(SanitizeHeartbeatDetail(long_body).size(), 1024u + 3);
}

class HeartbeatReceiverTest : public ::testing::Test {
 protected:
  HeartbeatReceiverTest() {
    store_ = std::make_shared<HeartbeatStore>(nullptr, [] { return 1'700'000'000.0; });
    store_->Watch({{"backup", nullptr}, {"report", nullptr}});
    receiver_ = std::make_unique<HeartbeatReceiver>(
        std::map<std::string, std::string, std::less<>>{{"backup", std::string(kToken)},
                                                        {"report", std::string(kOtherToken)}},
        store_);
  }

  HeartbeatResponse Post(std::string_view path, std::string_view auth, std::string_view body = "") {
    return receiver_->Handle("POST", path, auth, body);
  }
  static std::string Bearer(std::string_view token) { return "Bearer " + std::string(token); }

  std::shared_ptr<HeartbeatStore> store_;
  std::unique_ptr<HeartbeatReceiver> receiver_;
};

TEST_F(HeartbeatReceiverTest, AGoodTokenRecordsASuccess) {
  HeartbeatResponse r = Post("/heartbeat/backup", Bearer(kToken));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  ASSERT_TRUE(store_->Find("backup")->pinged());
  EXPECT_TRUE(store_->Find("backup")->last_ok);
  EXPECT_DOUBLE_EQ(store_->Find("backup")->last_ping, 1'700'000'000.0);
  EXPECT_FALSE(store_->Find("report")->pinged()) << "only the named check changes";
}

TEST_F(HeartbeatReceiverTest, TheSchemeIsCaseInsensitiveAndSpacesAreTolerated) {
  EXPECT_EQ(Post("/heartbeat/backup", "bearer " + std::string(kToken)).status, 200);
  EXPECT_EQ(Post("/heartbeat/backup", "  BEARER \t" + std::string(kToken) + "  ").status, 200);
}

TEST_F(HeartbeatReceiverTest, AFailureRecordsTheSanitisedBody) {
  HeartbeatResponse r = Post("/heartbeat/backup/fail", Bearer(kToken), "pg_dump failed:\nexit 1\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "failure recorded\n");
  std::optional<HeartbeatRecord> record = store_->Find("backup");
  EXPECT_FALSE(record->last_ok);
  EXPECT_EQ(record->detail, "pg_dump failed: exit 1");

  EXPECT_EQ(Post("/heartbeat/backup/fail", Bearer(kToken)).status, 200);
  EXPECT_EQ(store_->Find("backup")->detail, "(no details)");
}

TEST_F(HeartbeatReceiverTest, WrongOrMissingTokensChangeNothing) {
  const std::string wrong[] = {
      "",                                 // no header
      "Bearer",                           // no token
      "Bearer ",                          //
      Bearer(kOtherToken),                // another check's token
      Bearer(kToken.substr(0, 10)),       // a prefix
      Bearer(std::string(kToken) + "x"),  // longer
      "Basic " + std::string(kToken),     // another scheme
      std::string(kToken),                // no scheme
      "Bearer" + std::string(kToken),     // no separator
  };
  for (const std::string& auth : wrong) {
    for (std::string_view path : {"/heartbeat/backup", "/heartbeat/backup/fail"}) {
      HeartbeatResponse r = Post(path, auth, "body");
      EXPECT_EQ(r.status, 401) << auth;
      EXPECT_EQ(r.body, "wrong or missing bearer token\n");
      EXPECT_THAT(r.headers, ::testing::Contains(std::pair<std::string, std::string>(
                                 "WWW-Authenticate", "Bearer")));
    }
  }
  EXPECT_FALSE(store_->Find("backup")->pinged());
}

TEST_F(HeartbeatReceiverTest, RoutingAndMethods) {
  EXPECT_EQ(Post("/heartbeat/unknown", Bearer(kToken)).status, 404);
  EXPECT_EQ(Post("/heartbeat/", Bearer(kToken)).status, 404);
  EXPECT_EQ(Post("/heartbeat/backup/extra", Bearer(kToken)).status, 404);
  EXPECT_EQ(Post("/heartbeat/backup/fail/fail", Bearer(kToken)).status, 404);
  EXPECT_EQ(Post("/heartbeatbackup", Bearer(kToken)).status, 404);
  EXPECT_EQ(receiver_->Receive("nope", true, Bearer(kToken), "").status, 404);
  for (std::string_view method : {"GET", "PUT", "HEAD", "DELETE", "post"}) {
    HeartbeatResponse r = receiver_->Handle(method, "/heartbeat/backup", Bearer(kToken), "");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_THAT(r.headers,
                ::testing::Contains(std::pair<std::string, std::string>("Allow", "POST")));
  }
  EXPECT_FALSE(store_->Find("backup")->pinged());
}

TEST_F(HeartbeatReceiverTest, BodiesOverOneKibibyteAreRefused) {
  const std::string at_limit(HeartbeatReceiver::kMaxBodyBytes, 'x');
  EXPECT_EQ(Post("/heartbeat/backup/fail", Bearer(kToken), at_limit).status, 200);
  EXPECT_EQ(store_->Find("backup")->detail, at_limit);
  HeartbeatResponse r = Post("/heartbeat/backup", Bearer(kToken), at_limit + "y");
  EXPECT_EQ(r.status, 413);
  EXPECT_FALSE(store_->Find("backup")->last_ok) << "a refused ping changes nothing";
}

TEST_F(HeartbeatReceiverTest, TheTokenNeverAppearsInAnswersOrLogs) {
  log::Init(spdlog::level::debug, log::Format::kLogfmt);
  ::testing::internal::CaptureStderr();
  std::vector<HeartbeatResponse> responses = {
      Post("/heartbeat/backup", Bearer(kToken)),
      Post("/heartbeat/backup/fail", Bearer(kToken), "failed"),
      Post("/heartbeat/backup", Bearer(kOtherToken)),
      Post("/heartbeat/report", Bearer(kToken)),
      Post("/heartbeat/backup", Bearer(kToken), std::string(2000, 'x')),
  };
  const std::string logs = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(logs, HasSubstr("heartbeat rejected")) << "the capture saw nothing";
  for (std::string_view secret : {kToken, kOtherToken}) {
    EXPECT_THAT(logs, Not(HasSubstr(secret)));
    for (const HeartbeatResponse& r : responses) EXPECT_THAT(r.body, Not(HasSubstr(secret)));
  }
}

TEST_F(HeartbeatReceiverTest, ManyThreadsPingAtOnce) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const bool backup = (t + i) % 2 == 0;
        HeartbeatResponse r = Post(backup ? "/heartbeat/backup" : "/heartbeat/report",
                                   Bearer(backup ? kToken : kOtherToken));
        if (r.status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 160);
  EXPECT_TRUE(store_->Find("backup")->last_ok);
  EXPECT_TRUE(store_->Find("report")->last_ok);
}

TEST(HeartbeatReceiverFromConfigTest, TakesTheTokensOfHeartbeatChecksOnly) {
  TempDir dir;
  const std::string token_file = dir.Write("report.token", std::string(kOtherToken) + "\n");
  LoadResult loaded = LoadConfigString(
      "checks:\n"
      "  - name: backup\n"
      "    heartbeat: {ttl: 26h, token: \"${BACKUP_TOKEN}\"}\n"
      "  - name: report\n"
      "    heartbeat: {ttl: 1h, token_file: \"" +
          token_file +
          "\"}\n"
          "  - name: web\n"
          "    tcp: {address: \"127.0.0.1:1\"}\n",
      "inline.yml", BuiltinCheckTypes(), [](const std::string& name) -> std::optional<std::string> {
        if (name == "BACKUP_TOKEN") return std::string(kToken);
        return std::nullopt;
      });
  ASSERT_TRUE(loaded.config.has_value()) << loaded.errors.size();
  auto store = std::make_shared<HeartbeatStore>(nullptr);
  NamedCheckSpecs checks;
  for (const CheckConfig& check : loaded.config->checks) {
    checks.emplace_back(check.name, check.spec.get());
  }
  WatchHeartbeatChecks(checks, *store);
  auto receiver = std::make_shared<HeartbeatReceiver>(HeartbeatReceiver::TokensOf(checks), store);
  EXPECT_FALSE(receiver->empty());
  EXPECT_EQ(
      receiver->Handle("POST", "/heartbeat/backup", "Bearer " + std::string(kToken), "").status,
      200);
  EXPECT_EQ(receiver->Handle("POST", "/heartbeat/report", "Bearer " + std::string(kOtherToken), "")
                .status,
            200);
  EXPECT_EQ(
      receiver->Handle("POST", "/heartbeat/report", "Bearer " + std::string(kToken), "").status,
      401);
  EXPECT_EQ(receiver->Handle("POST", "/heartbeat/web", "Bearer " + std::string(kToken), "").status,
            404);
}

}  // namespace
}  // namespace hx
