#include "scheduler/threshold.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hx {
namespace {

constexpr Health H = Health::kHealthy;
constexpr Health D = Health::kDegraded;
constexpr Health U = Health::kUnhealthy;
constexpr Transition kSame = Transition::kUnchanged;
constexpr Transition kMove = Transition::kChanged;
constexpr Transition kPend = Transition::kChangePending;

// One fed result and what the tracker must say afterwards.
struct Step {
  Health result;
  Transition transition;
  Health state;
  int failures;   // consecutive unhealthy results
  int successes;  // consecutive healthy results
};

struct Case {
  std::string name;
  int failure_threshold;
  int success_threshold;
  std::vector<Step> steps;
};

std::string Name(Health h) { return std::string(HealthName(h)); }

std::string Name(Transition t) {
  switch (t) {
    case Transition::kUnchanged:
      return "unchanged";
    case Transition::kChanged:
      return "changed";
    case Transition::kChangePending:
      return "pending";
  }
  return "?";
}

class ThresholdTableTest : public testing::TestWithParam<Case> {};

TEST_P(ThresholdTableTest, FollowsSequence) {
  const Case& c = GetParam();
  ThresholdTracker tracker(c.failure_threshold, c.success_threshold);
  EXPECT_FALSE(tracker.state().has_value());
  for (size_t i = 0; i < c.steps.size(); ++i) {
    const Step& step = c.steps[i];
    SCOPED_TRACE("step " + std::to_string(i) + " result " + Name(step.result));
    EXPECT_EQ(Name(tracker.Record(step.result)), Name(step.transition));
    ASSERT_TRUE(tracker.state().has_value());
    EXPECT_EQ(Name(*tracker.state()), Name(step.state));
    EXPECT_EQ(tracker.consecutive_failures(), step.failures);
    EXPECT_EQ(tracker.consecutive_successes(), step.successes);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sequences, ThresholdTableTest,
    testing::Values(
        Case{"FirstHealthySetsStateAtOnce", 3, 3, {{H, kMove, H, 0, 1}, {H, kSame, H, 0, 2}}},
        Case{"FirstUnhealthySetsStateAtOnce", 3, 3, {{U, kMove, U, 1, 0}, {U, kSame, U, 2, 0}}},
        Case{"FirstDegradedSetsStateAtOnce", 3, 3, {{D, kMove, D, 0, 0}}},
        Case{"ThresholdOneMovesImmediately",
             1,
             1,
             {{H, kMove, H, 0, 1},
              {U, kMove, U, 1, 0},
              {D, kMove, D, 0, 0},
              {H, kMove, H, 0, 1},
              {D, kMove, D, 0, 0},
              {U, kMove, U, 1, 0}}},
        Case{"FailureThresholdThreeNeedsThreeInARow",
             3,
             1,
             {{H, kMove, H, 0, 1},
              {U, kPend, H, 1, 0},
              {U, kPend, H, 2, 0},
              {U, kMove, U, 3, 0},
              {U, kSame, U, 4, 0}}},
        Case{"HealthyResultResetsFailureCount",
             3,
             3,
             {{H, kMove, H, 0, 1},
              {U, kPend, H, 1, 0},
              {U, kPend, H, 2, 0},
              {H, kSame, H, 0, 1},
              {U, kPend, H, 1, 0},
              {U, kPend, H, 2, 0},
              {U, kMove, U, 3, 0}}},
        Case{"UnhealthyResultResetsSuccessCount",
             3,
             3,
             {{U, kMove, U, 1, 0},
              {H, kPend, U, 0, 1},
              {H, kPend, U, 0, 2},
              {U, kSame, U, 1, 0},
              {H, kPend, U, 0, 1},
              {H, kPend, U, 0, 2},
              {H, kMove, H, 0, 3}}},
        // A mix of degraded and unhealthy results degrades a healthy check;
        // only an unbroken unhealthy streak makes it unhealthy.
        Case{"HealthyToDegradedByMixedBadResults",
             3,
             3,
             {{H, kMove, H, 0, 1},
              {D, kPend, H, 0, 0},
              {U, kPend, H, 1, 0},
              {D, kMove, D, 0, 0},
              {U, kPend, D, 1, 0},
              {U, kPend, D, 2, 0},
              {U, kMove, U, 3, 0}}},
        Case{"UnhealthyWinsOverDegradedWhenBothReached",
             2,
             1,
             {{H, kMove, H, 0, 1}, {U, kPend, H, 1, 0}, {U, kMove, U, 2, 0}}},
        Case{"UnhealthyToDegradedByMixedGoodResults",
             3,
             3,
             {{U, kMove, U, 1, 0},
              {D, kPend, U, 0, 0},
              {H, kPend, U, 0, 1},
              {D, kMove, D, 0, 0},
              {H, kPend, D, 0, 1},
              {H, kPend, D, 0, 2},
              {H, kMove, H, 0, 3}}},
        Case{"HealthyWinsOverDegradedWhenBothReached",
             1,
             2,
             {{U, kMove, U, 1, 0}, {H, kPend, U, 0, 1}, {H, kMove, H, 0, 2}}},
        Case{"DegradedToHealthyNeedsSuccessThreshold",
             1,
             3,
             {{D, kMove, D, 0, 0},
              {H, kPend, D, 0, 1},
              {D, kSame, D, 0, 0},
              {H, kPend, D, 0, 1},
              {H, kPend, D, 0, 2},
              {H, kMove, H, 0, 3}}},
        Case{"DegradedToUnhealthyNeedsFailureThreshold",
             3,
             1,
             {{D, kMove, D, 0, 0},
              {U, kPend, D, 1, 0},
              {U, kPend, D, 2, 0},
              {D, kSame, D, 0, 0},
              {U, kPend, D, 1, 0},
              {U, kPend, D, 2, 0},
              {U, kMove, U, 3, 0}}},
        // Healthy results count towards "degraded or better" too, so a good
        // streak that ends degraded still leaves unhealthy.
        Case{"GoodStreakEndingDegradedReachesDegraded",
             1,
             3,
             {{U, kMove, U, 1, 0},
              {H, kPend, U, 0, 1},
              {H, kPend, U, 0, 2},
              {D, kMove, D, 0, 0},
              {H, kPend, D, 0, 1}}}),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(ThresholdTrackerTest, ThresholdsBelowOneActLikeOne) {
  ThresholdTracker tracker(0, -2);
  EXPECT_EQ(tracker.Record(Health::kHealthy), Transition::kChanged);
  EXPECT_EQ(tracker.Record(Health::kUnhealthy), Transition::kChanged);
  EXPECT_EQ(tracker.Record(Health::kHealthy), Transition::kChanged);
}

}  // namespace
}  // namespace hx
