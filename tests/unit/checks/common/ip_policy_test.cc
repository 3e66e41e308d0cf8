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
  CheckResult r = CombineAddressResults(
      {At("127.0.0.1", WithLoss(CheckResult::Degraded(FailureReason::kSlow, "slow"), 0.1)),
       At("127.0.0.2", WithLoss(CheckResult::Healthy("fine"), 0)),
       At("::1",
          WithLoss(CheckResult::Unhealthy(FailureReason::kConnectRefused, "connection refused"),
                   1))},
      25);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "2 of 3 addresses failed: 127.0.0.1:25: slow; [::1]:25: connection refused");
  ASSERT_EQ(r.observations.size(), 1U);
  EXPECT_EQ(r.observations[0].value, 1);  // the worst address's
}

// The reason, address and excerpt are those of the address whose state
// counts (the first worst one), never a healthy or better address's.
TEST(CombineAddressResultsTest, KeepsTheReasonAndEvidenceOfTheWorstAddress) {
  CheckResult slow = CheckResult::Degraded(FailureReason::kHttpStatus, "HTTP 429");
  slow.body_excerpt = "busy";
  CheckResult refused = CheckResult::Unhealthy(FailureReason::kConnectRefused, "refused");
  CheckResult expired = CheckResult::Unhealthy(FailureReason::kTlsExpired, "expired");
  expired.address = "127.0.0.4:8443";  // a type's own text wins over the resolved one
  CheckResult r =
      CombineAddressResults({At("127.0.0.1", CheckResult::Healthy("ok")), At("127.0.0.2", slow),
                             At("::1", refused), At("127.0.0.4", expired)},
                            443);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.reason, FailureReason::kConnectRefused);
  EXPECT_EQ(r.address, "[::1]:443");
  EXPECT_EQ(r.body_excerpt, "");

  r = CombineAddressResults({At("127.0.0.1", CheckResult::Healthy("ok")), At("127.0.0.2", slow)},
                            443);
  EXPECT_EQ(r.health, Health::kDegraded);
  EXPECT_EQ(r.reason, FailureReason::kHttpStatus);
  EXPECT_EQ(r.address, "127.0.0.2:443");
  EXPECT_EQ(r.body_excerpt, "busy");

  r = CombineAddressResults({At("127.0.0.2", slow), At("127.0.0.4", expired)}, 443);
  EXPECT_EQ(r.reason, FailureReason::kTlsExpired);
  EXPECT_EQ(r.address, "127.0.0.4:8443");

  r = CombineAddressResults(
      {At("127.0.0.1", CheckResult::Healthy("ok")), At("127.0.0.2", CheckResult::Healthy("ok"))},
      443);
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_EQ(r.address, "");  // evidence is for failures
}

TEST(CombineAddressResultsTest, DegradedOnlySaysDegraded) {
  CheckResult r =
      CombineAddressResults({At("127.0.0.1", CheckResult::Healthy("fine")),
                             At("127.0.0.2", CheckResult::Degraded(FailureReason::kSlow, "slow"))},
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
      At("127.0.0.2", expiry(CheckResult::Unhealthy(FailureReason::kTlsExpired, "bad"), 300))};
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
  EXPECT_EQ(CombineAddressResults({}, 80).reason, FailureReason::kInternal);
}

}  // namespace
}  // namespace hx
