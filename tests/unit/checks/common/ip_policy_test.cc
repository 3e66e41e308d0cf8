#include "checks/common/ip_policy.h"

#include <gtest/gtest.h>

#include "io/resolver.h"

namespace hx {
namespace {

AddressResult At(std::string_view ip, CheckResult result) {
  AddressResult r{};
  EXPECT_TRUE(ParseIpLiteral(ip, &r.address)) << ip;
  r.result = std::move(result);
  return r;
}

CheckResult WithLoss(CheckResult r, double loss) {
  r.observations.emplace_back(ObservationId::kIcmpLossRatio, loss);
  return r;
}

TEST(AddressPortTextTest, BracketsIpv6AndLeavesOutPortZero) {
  EXPECT_EQ(AddressPortText(At("127.0.0.2", {}).address, 443), "127.0.0.2:443");
  EXPECT_EQ(AddressPortText(At("::1", {}).address, 443), "[::1]:443");
  EXPECT_EQ(AddressPortText(At("::1", {}).address, 0), "::1");
  EXPECT_EQ(AddressPortText(At("127.0.0.1", {}).address, 0), "127.0.0.1");
}

TEST(CombineAddressResultsTest, AllHealthySaysSoAndKeepsTheFirstDetail) {
  CheckResult r = CombineAddressResults({At("127.0.0.1", WithLoss(CheckResult::Healthy("a"), 0)),
                                         At("127.0.0.2", WithLoss(CheckResult::Healthy("b"), 0.2))},
                                        80);
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "a (all 2 addresses)");
  ASSERT_EQ(r.observations.size(), 1U);
  EXPECT_EQ(r.observations[0].value, 0);  // the first address's
}

TEST(CombineAddressResultsTest, OneAddressKeepsItsDetailAsIs) {
  CheckResult r = CombineAddressResults({At("127.0.0.1", CheckResult::Healthy("ok"))}, 80);
  EXPECT_EQ(r.detail, "ok");
}

TEST(CombineAddressResultsTest, WorstCountsAndEveryFailingAddressIsNamed) {
  CheckResult r =
      CombineAddressResults({At("127.0.0.1", WithLoss(CheckResult::Degraded("slow"), 0.1)),
                             At("127.0.0.2", WithLoss(CheckResult::Healthy("fine"), 0)),
                             At("::1", WithLoss(CheckResult::Unhealthy("connection refused"), 1))},
                            25);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "2 of 3 addresses failed: 127.0.0.1:25: slow; [::1]:25: connection refused");
  ASSERT_EQ(r.observations.size(), 1U);
  EXPECT_EQ(r.observations[0].value, 1);  // the worst address's
}

TEST(CombineAddressResultsTest, DegradedOnlySaysDegraded) {
  CheckResult r = CombineAddressResults({At("127.0.0.1", CheckResult::Healthy("fine")),
                                         At("127.0.0.2", CheckResult::Degraded("slow"))},
                                        0);
  EXPECT_EQ(r.health, Health::kDegraded);
  EXPECT_EQ(r.detail, "1 of 2 addresses degraded: 127.0.0.2: slow");
}

TEST(UseLowestOfAllTest, TakesTheEarliestOfEveryAddressNotJustTheWorst) {
  auto expiry = [](CheckResult r, double at) {
    r.observations.emplace_back(ObservationId::kTlsCertExpiryTimestampSeconds, at);
    return r;
  };
  const std::vector<AddressResult> results = {
      At("127.0.0.1", expiry(CheckResult::Healthy("ok"), 100)),
      At("127.0.0.2", expiry(CheckResult::Unhealthy("bad"), 300))};
  CheckResult r = CombineAddressResults(results, 443);
  ASSERT_EQ(r.observations.size(), 1U);
  EXPECT_EQ(r.observations[0].value, 300);  // the worst address's
  UseLowestOfAll(results, ObservationId::kTlsCertExpiryTimestampSeconds, &r);
  ASSERT_EQ(r.observations.size(), 1U);
  EXPECT_EQ(r.observations[0].value, 100);
  UseLowestOfAll(results, ObservationId::kIcmpLossRatio, &r);  // none reported: none added
  EXPECT_EQ(r.observations.size(), 1U);
}

TEST(CombineAddressResultsTest, NothingProbedIsUnhealthy) {
  EXPECT_EQ(CombineAddressResults({}, 80).health, Health::kUnhealthy);
}

}  // namespace
}  // namespace hx
