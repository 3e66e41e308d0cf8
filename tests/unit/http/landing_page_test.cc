#include "http/landing_page.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace hx {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kNow = 1714564800.0;  // 2024-05-01T12:00:00Z

std::shared_ptr<const CheckStatus> MakeCheck(
    const std::string& name, std::optional<Health> state, bool critical = true,
    std::vector<std::pair<std::string, std::string>> labels = {}) {
  auto info = std::make_shared<CheckInfo>();
  info->name = name;
  info->type = "http";
  info->target = "GET http://127.0.0.1/" + name;
  info->critical = critical;
  info->labels = std::move(labels);
  info->interval = 15s;
  info->timeout = 5s;
  auto status = std::make_shared<CheckStatus>();
  status->info = info;
  status->state = state;
  if (state) {
    LastResult last;
    last.health = *state;
    last.detail = "detail of " + name;
    if (*state != Health::kHealthy) last.reason = FailureReason::kConnectRefused;
    last.duration = 12ms;
    last.finished_at = kNow - 12;
    status->last = last;
    status->state_since = kNow - 300;
    status->runs = 3;
    for (int i = 0; i < 3; ++i) {
      status->history.push_back(
          {*state, kNow - 12 - 15 * (2 - i), 12ms, "run " + std::to_string(i),
           static_cast<uint64_t>(i + 1),
           *state == Health::kHealthy ? FailureReason::kNone : FailureReason::kConnectRefused});
    }
    if (*state != Health::kHealthy) status->consecutive_failures = 3;
  }
  return status;
}

BoardSnapshot Snapshot(std::vector<std::shared_ptr<const CheckStatus>> checks) {
  BoardSnapshot snapshot;
  snapshot.checks = std::move(checks);
  snapshot.overall = ComputeOverallStatus(snapshot.checks);
  return snapshot;
}

// Card names in page order, each prefixed by its group: "payments/db".
std::vector<std::string> CardOrder(const std::string& html) {
  const std::regex tag(
      R"re(<section class="group" data-group="([^"]*)"|<article class="card \w+" data-check="([^"]*)")re");
  std::vector<std::string> order;
  std::string group;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator();
       ++it) {
    if ((*it)[1].matched) {
      group = (*it)[1];
    } else {
      order.push_back(group + "/" + std::string((*it)[2]));
    }
  }
  return order;
}

std::string Between(const std::string& text, const std::string& open, const std::string& close) {
  const size_t start = text.find(open);
  if (start == std::string::npos) return "";
  const size_t end = text.find(close, start + open.size());
  return text.substr(start + open.size(), end - start - open.size());
}

std::string Sha256Base64(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  unsigned char encoded[128];
  const int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(size));
  return std::string(reinterpret_cast<const char*>(encoded), length);
}

TEST(LandingPageQueryTest, GroupsByTeamUnlessAskedOtherwise) {
  EXPECT_EQ(ParseLandingPageQuery("").group_label, "team");
  EXPECT_EQ(ParseLandingPageQuery("verbose=1").group_label, "team");
  EXPECT_EQ(ParseLandingPageQuery("group=env").group_label, "env");
  EXPECT_EQ(ParseLandingPageQuery("x=1&group=env&y").group_label, "env");
  EXPECT_EQ(ParseLandingPageQuery("group=").group_label, "");
  EXPECT_EQ(ParseLandingPageQuery("group").group_label, "");
  EXPECT_EQ(ParseLandingPageQuery("group=a%20b+c%3C%zz").group_label, "a b c<%zz");
}

TEST(LandingPageFormatTest, AgoAndLatency) {
  EXPECT_EQ(FormatAgo(-3), "just now");
  EXPECT_EQ(FormatAgo(0.4), "just now");
  EXPECT_EQ(FormatAgo(12.7), "12s ago");
  EXPECT_EQ(FormatAgo(65), "1m 5s ago");
  EXPECT_EQ(FormatAgo(120), "2m ago");
  EXPECT_EQ(FormatAgo(3 * 3600 + 4 * 60 + 5), "3h 4m ago");
  EXPECT_EQ(FormatAgo(2 * 86400 + 3 * 3600), "2d 3h ago");
  EXPECT_EQ(FormatLatency(420us), "0.42 ms");
  EXPECT_EQ(FormatLatency(12ms), "12 ms");
  EXPECT_EQ(FormatLatency(1250ms), "1.25 s");
}

TEST(LandingPageTest, GroupsByLabelWithUrgentChecksFirstAndOtherLast) {
  const auto snapshot = Snapshot({
      MakeCheck("web", Health::kHealthy, true, {{"team", "payments"}}),
      MakeCheck("cache", Health::kUnhealthy, false, {{"team", "payments"}}),
      MakeCheck("queue", std::nullopt, true, {{"team", "payments"}}),
      MakeCheck("db", Health::kUnhealthy, true, {{"team", "payments"}}),
      MakeCheck("api", Health::kDegraded, true, {{"team", "payments"}}),
      MakeCheck("smtp", Health::kHealthy, true),
      MakeCheck("blob", Health::kHealthy, true, {{"team", "archive"}}),
  });
  const std::string html = RenderLandingPage(snapshot, kNow, LandingPageRequest{});
  EXPECT_EQ(CardOrder(html), (std::vector<std::string>{
                                 "archive/blob", "payments/db", "payments/cache", "payments/api",
                                 "payments/queue", "payments/web", "other/smtp"}));
  EXPECT_THAT(html, HasSubstr("<main id=\"board\" data-overall=\"unhealthy\""));
  EXPECT_THAT(html, HasSubstr("<strong class=\"unhealthy\">unhealthy</strong>"));
  EXPECT_THAT(html, HasSubstr("1 critical check is unhealthy"));
  EXPECT_THAT(html, HasSubstr("(no team label)"));
  // Counts by state in the banner.
  for (const char* count : {"\"healthy\"><b>3</b>", "\"degraded\"><b>1</b>",
                            "\"unhealthy\"><b>2</b>", "\"pending\"><b>1</b>"}) {
    EXPECT_THAT(html, HasSubstr(std::string("data-state=") + count)) << count;
  }

  LandingPageRequest none;
  none.group_label = "";
  EXPECT_EQ(CardOrder(RenderLandingPage(snapshot, kNow, none)),
            (std::vector<std::string>{"all checks/db", "all checks/cache", "all checks/api",
                                      "all checks/queue", "all checks/web", "all checks/smtp",
                                      "all checks/blob"}));
}

TEST(LandingPageTest, CardShowsStateInWordsLatencyAgeAndHistory) {
  const std::string html = RenderLandingPage(
      Snapshot({MakeCheck("db", Health::kUnhealthy), MakeCheck("queue", std::nullopt)}), kNow, {});
  EXPECT_THAT(html, HasSubstr("data-check=\"db\" data-state=\"unhealthy\" data-critical=\"true\""));
  EXPECT_THAT(html, HasSubstr("</svg>Unhealthy</span><h3>db</h3>"));
  EXPECT_THAT(html, HasSubstr("<dt>Latency</dt><dd>12 ms</dd>"));
  EXPECT_THAT(html,
              HasSubstr("title=\"2024-05-01T11:59:48.000Z\"><dt>Last run</dt><dd>12s ago</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>In state</dt><dd>5m</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>Failures</dt><dd>3 in a row</dd>"));
  // The failure reason, with its meaning as the tooltip.
  // Two columns wide, and it breaks after the underscore if it must (not
  // "connect_refu" / "sed" in a narrow card).
  EXPECT_THAT(html, HasSubstr("<div class=\"wide\" title=\"the target refused the connection\">"
                              "<dt>Reason</dt><dd>connect_<wbr>refused</dd></div>"));
  EXPECT_THAT(html, HasSubstr("<p class=\"detail\">detail of db</p>"));
  // 17 empty slots, then the 3 results oldest first, each with a tooltip.
  const std::string strip = Between(html, "<ol class=\"history\"", "</ol>");
  EXPECT_THAT(strip, HasSubstr("aria-label=\"Last 3 results, 3 not healthy; oldest first\""));
  std::string cells;
  const std::regex cell("<li class=\"(\\w+)\"");
  for (auto it = std::sregex_iterator(strip.begin(), strip.end(), cell);
       it != std::sregex_iterator(); ++it) {
    cells += (*it)[1].str()[0];
  }
  EXPECT_EQ(cells, std::string(17, 'e') + "uuu");
  EXPECT_THAT(strip, HasSubstr("title=\"unhealthy \xC2\xB7 12 ms \xC2\xB7 42s ago "
                               "(2024-05-01T11:59:18.000Z) \xC2\xB7 connect_refused\nrun 0\""));
  // A pending check says so and has no facts yet.
  EXPECT_THAT(html, HasSubstr("data-check=\"queue\" data-state=\"pending\""));
  EXPECT_THAT(html, HasSubstr("</svg>Pending</span><h3>queue</h3>"));
  EXPECT_THAT(html, HasSubstr("Waiting for the first result"));
  EXPECT_THAT(html, HasSubstr("aria-label=\"Last 0 results, 0 not healthy; oldest first\""));
}

TEST(LandingPageTest, EscapesEverythingFromConfigAndTargets) {
  auto check = std::const_pointer_cast<CheckStatus>(
      MakeCheck("<i>name</i>", Health::kUnhealthy, true, {{"team", "<u>t\"eam</u>"}}));
  auto info = std::make_shared<CheckInfo>(*check->info);
  info->target = "GET http://127.0.0.1/?a=1&b=<x>";
  check->info = info;
  check->last->detail = "body does not match \"<script>alert(1)</script>\"";
  check->history.back().detail = "<img src=x onerror=alert(2)>";
  const auto snapshot = Snapshot({check});
  for (const std::string& group : {std::string("team"), std::string("<g>&\"")}) {
    LandingPageRequest request;
    request.group_label = group;
    const std::string html = RenderLandingPage(snapshot, kNow, request);
    EXPECT_THAT(html, Not(HasSubstr("<i>")));
    EXPECT_THAT(html, Not(HasSubstr("<u>")));
    EXPECT_THAT(html, Not(HasSubstr("<img")));
    EXPECT_THAT(html, Not(HasSubstr("<x>")));
    EXPECT_THAT(html, Not(HasSubstr("<g>")));
    EXPECT_THAT(html, Not(HasSubstr("<script>alert")));
    EXPECT_THAT(html, HasSubstr("<h3>&lt;i&gt;name&lt;/i&gt;</h3>"));
    EXPECT_THAT(html, HasSubstr("a=1&amp;b=&lt;x&gt;"));
    EXPECT_THAT(html, HasSubstr("&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;"));
    EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror=alert(2)&gt;"));
    EXPECT_THAT(html, HasSubstr("team=&lt;u&gt;t&quot;eam&lt;/u&gt;"));
  }
  LandingPageRequest request;
  request.group_label = "team";
  const std::string html = RenderLandingPage(snapshot, kNow, request);
  EXPECT_THAT(html, HasSubstr("data-group=\"&lt;u&gt;t&quot;eam&lt;/u&gt;\""));
  request.group_label = "<g>&\"";
  EXPECT_THAT(RenderLandingPage(snapshot, kNow, request),
              HasSubstr("data-group-label=\"&lt;g&gt;&amp;&quot;\""));
}

TEST(LandingPageTest, GroupLinksArePercentEncodedAndMarkTheCurrentChoice) {
  const auto snapshot =
      Snapshot({MakeCheck("db", Health::kHealthy, true, {{"a b&c", "x"}, {"team", "t"}})});
  const std::string html = RenderLandingPage(snapshot, kNow, {});
  EXPECT_THAT(html, HasSubstr("<a href=\"/?group=a%20b%26c\">a b&amp;c</a>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"/?group=team\" aria-current=\"page\">team</a>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"/?group=\">none</a>"));
}

TEST(LandingPageTest, ContentSecurityPolicyAllowsExactlyTheInlineStyleAndScript) {
  const std::string html = RenderLandingPage(Snapshot({}), kNow, {});
  const std::string policy =
      Between(html, "<meta http-equiv=\"Content-Security-Policy\" content=\"", "\">");
  const std::string style = Between(html, "<style>", "</style>");
  const std::string script = Between(html, "<script id=\"refresh\">", "</script>");
  ASSERT_FALSE(style.empty());
  ASSERT_FALSE(script.empty());
  EXPECT_THAT(policy, HasSubstr("default-src 'none'"));
  EXPECT_THAT(policy, HasSubstr("style-src 'sha256-" + Sha256Base64(style) + "'"));
  EXPECT_THAT(policy, HasSubstr("script-src 'sha256-" + Sha256Base64(script) + "'"));
  EXPECT_THAT(policy, HasSubstr("connect-src 'self'"));
  // One style and one script, no external assets.
  EXPECT_EQ(html.find("<style", html.find("<style") + 1), std::string::npos);
  EXPECT_EQ(html.find("<script", html.find("<script") + 1), std::string::npos);
  EXPECT_THAT(html, Not(HasSubstr(" src=")));
  EXPECT_THAT(html, Not(HasSubstr("href=\"http")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, HasSubstr("<meta name=\"viewport\" content=\"width=device-width, "
                              "initial-scale=1\">"));
  // Script text goes through textContent; it never builds markup from data.
  EXPECT_THAT(script, Not(HasSubstr("innerHTML")));
  EXPECT_THAT(script, Not(HasSubstr("outerHTML")));
  EXPECT_THAT(script, Not(HasSubstr("insertAdjacentHTML")));
  EXPECT_THAT(html, HasSubstr("No checks are configured."));
  EXPECT_THAT(html, HasSubstr("<strong class=\"healthy\">healthy</strong>"));
}

}  // namespace
}  // namespace hx
