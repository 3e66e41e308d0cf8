// The uptime bar, percentages and latency trend as markup: one cell per day
// with its colour class and tooltip, rounding that never shows 100 % for
// less, escaping, gaps in the trend for days without attempts, and the
// landing page carrying the block under its one hashed <style>.

#include "http/history_svg.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <regex>

#include "http/landing_page.h"
#include "status/daily_history.h"

namespace hx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kDay = 86400;
constexpr int64_t kToday = 20'428;  // 2025-12-06
constexpr double kNow = kToday * kDay + 12 * 3600;

store::DailyAggregate Day(int64_t day, double up, double down, int64_t attempts,
                          std::optional<double> p95 = 0.012) {
  store::DailyAggregate row;
  row.day = day;
  row.seconds_healthy = up;
  row.seconds_unhealthy = down;
  row.results_healthy = attempts;
  row.attempts = attempts;
  if (attempts > 0) {
    row.latency_p50 = p95 ? *p95 / 2 : std::optional<double>();
    row.latency_p95 = p95;
    row.latency_p99 = p95 ? *p95 * 2 : std::optional<double>();
  }
  row.longest_outage = down;
  return row;
}

CheckHistory NinetyDays() {
  CheckHistory history;
  for (int64_t d = kToday - 89; d <= kToday; ++d) {
    history.days.push_back(d < kToday - 60 ? Day(d, 0, 0, 0) : Day(d, kDay, 0, 5760));
  }
  history.days[80] = Day(kToday - 9, kDay - 600, 600, 5760, 0.2);  // 99.3 %
  DailyHistory::ComputeUptime(history, kNow);
  return history;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(HistorySvgTest, UptimeIsRoundedDownAndADashWithoutFigures) {
  EXPECT_EQ(FormatUptime(1.0), "100%");
  EXPECT_EQ(FormatUptime(0.99999), "99.99%");
  EXPECT_EQ(FormatUptime(0.9995), "99.95%");
  EXPECT_EQ(FormatUptime(0.5), "50.00%");
  EXPECT_EQ(FormatUptime(0.0), "0.00%");
  EXPECT_EQ(FormatUptime(std::nullopt), "\xE2\x80\x93");
}

TEST(HistorySvgTest, ADaysColourFollowsItsUptime) {
  EXPECT_EQ(UptimeClass(Day(1, 0, 0, 0)), "u-none");
  EXPECT_EQ(UptimeClass(Day(1, kDay, 0, 10)), "u-ok");
  EXPECT_EQ(UptimeClass(Day(1, kDay - 86, 86, 10)), "u-ok");       // 99.90 %
  EXPECT_EQ(UptimeClass(Day(1, kDay - 600, 600, 10)), "u-minor");  // 99.31 %
  EXPECT_EQ(UptimeClass(Day(1, kDay * 0.96, kDay * 0.04, 10)), "u-major");
  EXPECT_EQ(UptimeClass(Day(1, kDay / 2, kDay / 2, 10)), "u-bad");
  // Only unknown time (pending, blocked) is no verdict.
  store::DailyAggregate unknown = Day(1, 0, 0, 3);
  unknown.seconds_unknown = 100;
  EXPECT_EQ(UptimeClass(unknown), "u-none");
}

TEST(HistorySvgTest, TheTooltipHasTheDaysFigures) {
  store::DailyAggregate day = Day(kToday, kDay - 600, 600, 5760, 0.2);
  day.results_healthy = 5700;
  day.results_unhealthy = 60;
  EXPECT_EQ(DayTooltip(day),
            "2025-12-06 \xC2\xB7 uptime 99.30% \xC2\xB7 5760 attempts (60 not healthy) \xC2\xB7 "
            "p95 200 ms \xC2\xB7 longest outage 10m 0s");
  EXPECT_EQ(DayTooltip(Day(kToday - 1, 0, 0, 0)), "2025-12-05: no data");
}

TEST(HistorySvgTest, TheBarHasOneCellPerDayOldestLeftAndThePercentages) {
  const std::string html = RenderUptimeBlock(NinetyDays());
  EXPECT_EQ(Count(html, "<rect "), 90u);
  EXPECT_EQ(Count(html, "<title>"), 90u);
  EXPECT_EQ(Count(html, "class=\"u-none\""), 29u);
  EXPECT_EQ(Count(html, "class=\"u-minor\""), 1u);
  EXPECT_EQ(Count(html, "class=\"u-ok\""), 60u);
  // Oldest first: the first cell is 89 days ago, the last today.
  EXPECT_LT(html.find("2025-09-08: no data"), html.find("2025-12-06 \xC2\xB7"));
  EXPECT_THAT(html, HasSubstr("<rect x=\"445\" class=\"u-ok\"><title>2025-12-06"));
  EXPECT_THAT(html, HasSubstr("<dt>24 h</dt><dd>100%</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>7 d</dt><dd>100%</dd>"));
  // 600 s down in 61 days of verdicts (today half a day).
  EXPECT_THAT(html, HasSubstr("<dt>30 d</dt><dd>99.97%</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>90 d</dt><dd>99.98%</dd>"));
  EXPECT_THAT(html, HasSubstr("aria-label=\"Uptime per UTC day, last 90 days: 99.98%\""));
}

TEST(HistorySvgTest, TheLatencyTrendHasLabelledAxesTwoLinesAndGaps) {
  CheckHistory history = NinetyDays();
  history.days[85] = Day(kToday - 4, kDay, 0, 0);  // a day without attempts
  const std::string svg = RenderLatencyTrendSvg(history, 30);
  EXPECT_THAT(svg, HasSubstr("latency (ms)"));
  EXPECT_THAT(svg, HasSubstr("day (UTC)"));
  EXPECT_THAT(svg, HasSubstr(">Dec 6</text>"));
  // The p95 line has a gap: it is lifted at the empty day (two M commands).
  const std::regex p95_path("<path class=\"p95\" d=\"([^\"]*)\"");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(svg, match, p95_path));
  EXPECT_EQ(Count(match[1], "M"), 2u);
  EXPECT_THAT(svg, HasSubstr("<path class=\"p50\""));
  // The 200 ms day sets the scale: the top grid line is 200.
  EXPECT_THAT(svg, HasSubstr(">200</text>"));
  EXPECT_THAT(svg,
              HasSubstr("<title>2025-11-27: p50 100 ms, p95 200 ms, p99 400 ms, 5760 attempts"));
  // 29 days with attempts, two points each.
  EXPECT_EQ(Count(svg, "<circle "), 58u);

  const std::string empty = RenderLatencyTrendSvg(CheckHistory{}, 30);
  EXPECT_THAT(empty, HasSubstr("no attempts in the last 30 days"));
  EXPECT_THAT(empty, Not(HasSubstr("<path")));
}

// A view that answers with the same history for every check, and says
// which checks it was asked about.
class FixedHistory final : public HistoryView {
 public:
  CheckHistory ForCheck(std::string_view check, int days, double) const override {
    asked.push_back(std::string(check) + "/" + std::to_string(days));
    return NinetyDays();
  }
  mutable std::vector<std::string> asked;
};

std::string Sha256Base64(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  unsigned char out[128];
  const int n = EVP_EncodeBlock(out, digest, static_cast<int>(size));
  return std::string(reinterpret_cast<char*>(out), n);
}

TEST(HistorySvgTest, EveryCardOfTheLandingPageGetsItsBarUnderTheHashedStyle) {
  auto info = std::make_shared<CheckInfo>();
  info->name = "api<1>";
  info->type = "http";
  auto status = std::make_shared<CheckStatus>();
  status->info = info;
  BoardSnapshot snapshot;
  snapshot.checks = {status};
  FixedHistory history;
  const std::string html = RenderLandingPage(snapshot, kNow, {}, &history);
  EXPECT_EQ(history.asked, std::vector<std::string>{"api<1>/90"});
  EXPECT_EQ(Count(html, "<svg class=\"ubar\""), 1u);
  const size_t open = html.find("<style>") + 7;
  const std::string style = html.substr(open, html.find("</style>") - open);
  EXPECT_THAT(style, HasSubstr(".u-ok{"));
  EXPECT_THAT(html, HasSubstr("style-src 'sha256-" + Sha256Base64(style) + "'"));
  // Without a view the page is as before.
  EXPECT_THAT(RenderLandingPage(snapshot, kNow, {}), Not(HasSubstr("class=\"ubar\"")));
}

}  // namespace
}  // namespace hx
