// The public page's projection: display names, plain-word states, the worst
// of a matcher's checks, history merged per day, and nothing else.
#include "status/public_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace hx {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

constexpr double kNow = 1714564800.0;  // 2024-05-01T12:00:00Z
const int64_t kToday = store::UnixDay(kNow);

std::shared_ptr<const CheckStatus> Check(const std::string& name, std::optional<Health> state,
                                         std::vector<std::pair<std::string, std::string>> labels) {
  auto info = std::make_shared<CheckInfo>();
  info->name = name;
  info->type = "http";
  info->target = "GET http://10.1.2.3/" + name;
  info->labels = std::move(labels);
  auto status = std::make_shared<CheckStatus>();
  status->info = info;
  status->state = state;
  return status;
}

BoardSnapshot Snapshot(std::vector<std::shared_ptr<const CheckStatus>> checks) {
  BoardSnapshot snapshot;
  snapshot.checks = std::move(checks);
  return snapshot;
}

PublicPageConfig Page(std::vector<PublicGroup> groups) {
  PublicPageConfig page;
  page.title = "Status";
  page.groups = std::move(groups);
  return page;
}

// Days of history per check name, the last entry today.
class FakeHistory : public HistoryView {
 public:
  // `uptimes` oldest first; nullopt = a day without a verdict.
  void Set(const std::string& check, std::vector<std::optional<double>> uptimes,
           std::optional<double> uptime_30d) {
    CheckHistory history;
    for (size_t i = 0; i < uptimes.size(); ++i) {
      store::DailyAggregate day;
      day.check = check;
      day.day = kToday - static_cast<int64_t>(uptimes.size() - 1 - i);
      if (uptimes[i]) {
        day.attempts = 10;
        day.seconds_healthy = 86400 * *uptimes[i];
        day.seconds_unhealthy = 86400 - day.seconds_healthy;
      }
      history.days.push_back(day);
    }
    history.uptime_30d = uptime_30d;
    histories_[check] = history;
  }
  CheckHistory ForCheck(std::string_view check, int days, double) const override {
    ++calls;
    auto it = histories_.find(std::string(check));
    if (it != histories_.end()) return it->second;
    CheckHistory empty;
    for (int i = 0; i < days; ++i) {
      store::DailyAggregate day;
      day.day = kToday - days + 1 + i;
      empty.days.push_back(day);
    }
    return empty;
  }
  mutable int calls = 0;

 private:
  std::map<std::string, CheckHistory> histories_;
};

TEST(PublicViewTest, NamedChecksShowTheirDisplayNameAndStateInPlainWords) {
  const PublicPageConfig page = Page({{"Services",
                                       {{"Website", "www-1", {}},
                                        {"API", "api-1", {}},
                                        {"Search", "search-1", {}},
                                        {"Mail", "mail-1", {}}}}});
  const PublicView view = BuildPublicView(
      page,
      Snapshot({Check("www-1", Health::kHealthy, {}), Check("api-1", Health::kDegraded, {}),
                Check("search-1", Health::kUnhealthy, {}), Check("mail-1", std::nullopt, {})}),
      nullptr, kNow);
  ASSERT_EQ(view.groups.size(), 1u);
  std::vector<std::string> lines;
  for (const PublicComponent& c : view.groups[0].components) {
    lines.push_back(c.name + ": " + std::string(PublicStateText(c.state)));
    EXPECT_TRUE(c.days.empty());
    EXPECT_FALSE(c.uptime_30d);
  }
  EXPECT_THAT(lines, ElementsAre("Website: Operational", "API: Degraded performance",
                                 "Search: Outage", "Mail: Unknown"));
  EXPECT_EQ(view.groups[0].state, PublicState::kOutage);
  EXPECT_EQ(view.overall, PublicState::kOutage);
  EXPECT_FALSE(view.has_history);
}

TEST(PublicViewTest, AMatcherShowsTheWorstOfItsChecks) {
  const PublicPageConfig page = Page({{"Payments", {{"Payments", "", {{"team", "payments"}}}}}});
  auto view = [&](Health eu, Health us) {
    return BuildPublicView(page,
                           Snapshot({Check("pay-eu", eu, {{"region", "eu"}, {"team", "payments"}}),
                                     Check("pay-us", us, {{"region", "us"}, {"team", "payments"}}),
                                     Check("other", Health::kUnhealthy, {{"team", "web"}})}),
                           nullptr, kNow);
  };
  EXPECT_EQ(view(Health::kHealthy, Health::kHealthy).groups[0].components[0].state,
            PublicState::kOperational);
  EXPECT_EQ(view(Health::kHealthy, Health::kDegraded).groups[0].components[0].state,
            PublicState::kDegraded);
  EXPECT_EQ(view(Health::kUnhealthy, Health::kDegraded).groups[0].components[0].state,
            PublicState::kOutage);
  // The unhealthy check that is not on the page does not make the page red.
  EXPECT_EQ(view(Health::kHealthy, Health::kHealthy).overall, PublicState::kOperational);
}

TEST(PublicViewTest, ACheckMissingFromTheBoardIsUnknown) {
  const PublicPageConfig page = Page({{"G", {{"Gone", "removed-by-reload", {}}}}});
  const PublicView view = BuildPublicView(page, Snapshot({}), nullptr, kNow);
  EXPECT_EQ(view.groups[0].components[0].state, PublicState::kUnknown);
  EXPECT_EQ(view.overall, PublicState::kUnknown);
}

TEST(PublicViewTest, HistoryIsMergedPerDayTakingTheWorse) {
  FakeHistory history;
  history.Set("pay-eu", {std::nullopt, 1.0, 0.5}, 0.99);
  history.Set("pay-us", {0.9, std::nullopt, 0.75}, 0.98);
  const PublicPageConfig page = Page({{"Payments", {{"Payments", "", {{"team", "payments"}}}}}});
  const PublicView view =
      BuildPublicView(page,
                      Snapshot({Check("pay-eu", Health::kHealthy, {{"team", "payments"}}),
                                Check("pay-us", Health::kHealthy, {{"team", "payments"}})}),
                      &history, kNow);
  ASSERT_TRUE(view.has_history);
  const PublicComponent& c = view.groups[0].components[0];
  ASSERT_EQ(c.days.size(), 3u);
  EXPECT_THAT(c.days[0].uptime, Optional(0.9));
  EXPECT_THAT(c.days[1].uptime, Optional(1.0));
  EXPECT_THAT(c.days[2].uptime, Optional(0.5));
  EXPECT_EQ(c.days[2].day, kToday);
  EXPECT_THAT(c.uptime_30d, Optional(0.98));
  EXPECT_FALSE(c.uptime_7d);
}

TEST(PublicViewTest, AskedForNinetyDays) {
  FakeHistory history;
  const PublicPageConfig page = Page({{"G", {{"Web", "www", {}}}}});
  const PublicView view =
      BuildPublicView(page, Snapshot({Check("www", Health::kHealthy, {})}), &history, kNow);
  EXPECT_EQ(view.groups[0].components[0].days.size(), 90u);
  EXPECT_EQ(history.calls, 1);
  EXPECT_FALSE(view.groups[0].components[0].days.front().uptime);
}

TEST(PublicViewTest, StateWords) {
  EXPECT_EQ(PublicStateText(PublicState::kOperational), "Operational");
  EXPECT_EQ(PublicStateText(PublicState::kDegraded), "Degraded performance");
  EXPECT_EQ(PublicStateText(PublicState::kOutage), "Outage");
  EXPECT_EQ(PublicStateText(PublicState::kUnknown), "Unknown");
}

}  // namespace
}  // namespace hx
