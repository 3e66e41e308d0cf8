// POST /-/probe's rate limit (ProbeGate) and the close names of an unknown
// check (app/probe.h).

#include <gtest/gtest.h>

#include <thread>

#include "app/probe.h"

namespace hx {
namespace {

using namespace std::chrono_literals;

TEST(ProbeGateTest, OneRunInFlightAndOneStartPerGapPerCheck) {
  ProbeGate gate(200ms, /*max_running=*/2);
  EXPECT_EQ(gate.TryStart("a"), 0);
  EXPECT_GE(gate.TryStart("a"), 1) << "in flight";
  EXPECT_EQ(gate.TryStart("b"), 0) << "another check is not limited by a";
  gate.Done("a");
  EXPECT_GE(gate.TryStart("a"), 1) << "within the gap";
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(gate.TryStart("a"), 0);
}

TEST(ProbeGateTest, AtMostMaxRunningInAll) {
  ProbeGate gate(0ms, /*max_running=*/2);
  EXPECT_EQ(gate.TryStart("a"), 0);
  EXPECT_EQ(gate.TryStart("b"), 0);
  EXPECT_EQ(gate.TryStart("c"), 1);
  gate.Done("a");
  EXPECT_EQ(gate.TryStart("c"), 0);
  gate.Done("a");  // twice: counted once
  EXPECT_EQ(gate.TryStart("d"), 1);
}

TEST(CloseNamesTest, NearestFirstAtMostThree) {
  const std::vector<std::string> names = {"api-primary", "api-secondary", "db", "cache"};
  EXPECT_EQ(CloseNames("api-primray", names), std::vector<std::string>({"api-primary"}));
  EXPECT_EQ(CloseNames("api", names), std::vector<std::string>({"api-primary", "api-secondary"}));
  EXPECT_TRUE(CloseNames("zzzzzz", names).empty());
}

}  // namespace
}  // namespace hx
