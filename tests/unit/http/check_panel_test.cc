// The check panel (GET /check/<name>) and the JSON of one check (GET
// /status/<check>) rendered from a board snapshot and journal entries:
// newest-first order as given, every field of an entry, HTML escaping of
// everything from config and targets, a Content-Security-Policy that allows
// exactly the page's styles and no script, and the notes for a memory-only or
// missing store.

#include "http/check_panel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <re2/re2.h>

#include <nlohmann/json.hpp>

#include "http/landing_page.h"
#include "status/status_json.h"
#include "support/check_info.h"

namespace hx {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kNow = 1'765'000'000.0;

store::JournalEntry Entry(uint64_t attempt, double time, std::string state, std::string previous,
                          std::string reason, std::string detail) {
  store::JournalEntry e;
  e.check = "api";
  e.attempt_id = attempt;
  e.time = time;
  e.state = std::move(state);
  e.previous_state = std::move(previous);
  e.reason = std::move(reason);
  e.detail = std::move(detail);
  e.duration = 0.25;
  return e;
}

class CheckPanelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CheckInfo info = TestCheckInfo("api");
    info.labels = {{"owner", "<img src=x onerror=alert(1)>"}, {"team", "core"}};
    board_.AddCheck(0, info);
    RunRecord run;
    run.check_id = 0;
    run.result = CheckResult::Unhealthy(FailureReason::kHttpStatus, "HTTP 503 <b>bold</b>");
    run.state = Health::kUnhealthy;
    run.transition = Transition::kChanged;
    run.finished_at = kNow - 5;
    board_.Record(run);
    store::JournalEntry newest =
        Entry(7, kNow - 5, "unhealthy", "healthy", "http_status", "HTTP 503 <b>bold</b>");
    newest.address = "127.0.0.1:8080";
    newest.http_status = 503;
    newest.phases_json = R"({"connect":0.002,"resolve":0.001})";
    newest.body_excerpt = "<html>\x01oops</html>";
    journal_ = {newest, Entry(6, kNow - 65, "healthy", "unhealthy", "", ""),
                Entry(5, kNow - 125, "unhealthy", "", "timeout", "timed out after 2s")};
  }

  StatusBoard board_;
  std::vector<store::JournalEntry> journal_;
};

TEST_F(CheckPanelTest, StatusJsonOfOneCheckIsTheStatusObjectPlusItsJournal) {
  const BoardSnapshot snapshot = board_.Snapshot();
  ASSERT_EQ(FindCheck(snapshot, "api"), 0u);
  EXPECT_EQ(FindCheck(snapshot, "nope"), std::nullopt);
  const json one = json::parse(RenderCheckStatusJson(snapshot, 0, kNow, journal_, "persistent"));
  json all = json::parse(RenderStatusJson(snapshot, kNow))["checks"][0];
  for (auto& [key, value] : all.items()) EXPECT_EQ(one[key], value) << key;
  EXPECT_EQ(one["journal_storage"], "persistent");
  ASSERT_EQ(one["journal"].size(), 3u);
  const json& e = one["journal"][0];
  EXPECT_EQ(e, json::parse(R"({
    "time": "2025-12-06T05:46:35.000Z", "time_unix": 1764999995.0, "attempt": 7,
    "state": "unhealthy", "previous_state": "healthy", "reason": "http_status",
    "detail": "HTTP 503 <b>bold</b>", "duration_ms": 250.0,
    "phases_ms": {"connect": 2.0, "resolve": 1.0}, "address": "127.0.0.1:8080",
    "http_status": 503, "body_excerpt": "<html>\u0001oops</html>"})"));
  const json& healthy = one["journal"][1];
  EXPECT_EQ(healthy["reason"], nullptr);
  EXPECT_EQ(healthy["address"], nullptr);
  EXPECT_EQ(healthy["http_status"], nullptr);
  EXPECT_EQ(healthy["body_excerpt"], nullptr);
  EXPECT_EQ(one["journal"][2]["previous_state"], nullptr);
}

TEST_F(CheckPanelTest, BadPhasesJsonShowsNoPhases) {
  journal_[0].phases_json = "not json";
  const json one =
      json::parse(RenderCheckStatusJson(board_.Snapshot(), 0, kNow, journal_, "persistent"));
  EXPECT_EQ(one["journal"][0]["phases_ms"], json::object());
}

TEST_F(CheckPanelTest, PanelListsTheJournalAsGivenAndEscapesEverything) {
  CheckPanelInput input;
  input.journal = journal_;
  input.journal_storage = "persistent";
  input.journal_capacity = 50;
  const std::string html = RenderCheckPanel(board_.Snapshot(), 0, kNow, input);
  const size_t first = html.find("data-attempt=\"7\"");
  const size_t second = html.find("data-attempt=\"6\"");
  const size_t third = html.find("data-attempt=\"5\"");
  ASSERT_NE(first, std::string::npos);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_THAT(html, HasSubstr("<span class=\"change\">healthy \xE2\x86\x92 unhealthy</span>"));
  EXPECT_THAT(html, HasSubstr("<span class=\"reason\">http_status</span>"));
  EXPECT_THAT(html,
              HasSubstr("<time datetime=\"2025-12-06T05:46:35.000Z\">2025-12-06 05:46:35 UTC"));
  EXPECT_THAT(html, HasSubstr("<dt>HTTP status</dt><dd>503</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>Address</dt><dd>127.0.0.1:8080</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>Phases</dt><dd>connect 2.00 ms \xC2\xB7 resolve 1.00 ms</dd>"));
  EXPECT_THAT(html, HasSubstr("the last 50 are kept"));
  // Text from targets and config is escaped; control bytes are shown.
  EXPECT_THAT(html, HasSubstr("HTTP 503 &lt;b&gt;bold&lt;/b&gt;"));
  EXPECT_THAT(html, HasSubstr("<pre class=\"body\">&lt;html&gt;\\x01oops&lt;/html&gt;</pre>"));
  EXPECT_THAT(html, HasSubstr("owner=&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<b>bold")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
}

// "'sha256-<base64>'" computed here, independently of the page's code.
std::string Sha256Source(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  unsigned char encoded[128];
  const int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(size));
  return "'sha256-" + std::string(reinterpret_cast<const char*>(encoded), length) + "'";
}

TEST_F(CheckPanelTest, PolicyAllowsExactlyThePageStylesAndNoScript) {
  const std::string html = RenderCheckPanel(board_.Snapshot(), 0, kNow, CheckPanelInput{});
  // RE2, not std::regex: libstdc++'s regex recurses once per character of a
  // lazy [\s\S]*? and overflows the stack on a whole page under ASan.
  std::string csp;
  ASSERT_TRUE(RE2::PartialMatch(
      html, R"re(http-equiv="Content-Security-Policy" content="([^"]+)")re", &csp));
  EXPECT_THAT(csp, HasSubstr("default-src 'none'"));
  EXPECT_THAT(csp, Not(HasSubstr("script-src")));
  EXPECT_THAT(csp, Not(HasSubstr("unsafe-inline")));
  const RE2 style(R"re((?s)<style>(.*?)</style>)re");
  re2::StringPiece rest(html);
  std::string body;
  int styles = 0;
  while (RE2::FindAndConsume(&rest, style, &body)) {
    EXPECT_THAT(csp, HasSubstr(Sha256Source(body))) << "style " << styles;
    ++styles;
  }
  EXPECT_EQ(styles, 2);
}

TEST_F(CheckPanelTest, EveryCardOfTheStatusPageLinksToItsPanel) {
  board_.AddCheck(1, TestCheckInfo("payments-api.v2"));
  const std::string html = RenderLandingPage(board_.Snapshot(), kNow, LandingPageRequest{});
  EXPECT_THAT(html, HasSubstr("<a href=\"/check/api\">Failure journal and details</a>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"/check/payments-api.v2\">"));
  EXPECT_EQ(UrlPathEscape("a b/<c>"), "a%20b%2F%3Cc%3E");
}

TEST_F(CheckPanelTest, SaysWhenTheJournalIsEmptyOrNotKept) {
  CheckPanelInput input;
  input.journal_storage = "memory-only";
  std::string html = RenderCheckPanel(board_.Snapshot(), 0, kNow, input);
  EXPECT_THAT(html, HasSubstr("running memory-only"));
  EXPECT_THAT(html, HasSubstr("class=\"note empty-journal\""));
  input.journal_storage = "none";
  html = RenderCheckPanel(board_.Snapshot(), 0, kNow, input);
  EXPECT_THAT(html, HasSubstr("No store is configured"));
}

}  // namespace
}  // namespace hx
