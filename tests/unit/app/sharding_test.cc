#include "app/sharding.h"

#include <gtest/gtest.h>

namespace hx {
namespace {

std::vector<CheckConfig> Checks(int n) {
  std::vector<CheckConfig> checks(n);
  for (int i = 0; i < n; ++i) checks[i].name = "check-" + std::to_string(i);
  return checks;
}

TEST(ShardingTest, ParsesIndexOverCount) {
  std::string error;
  auto s = ParseShard("2/3", &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->index, 2);
  EXPECT_EQ(s->count, 3);
  for (const char* bad : {"3/3", "-1/3", "1", "1/0", "a/3", "1/3x", "/3", "1/", "0/1001"}) {
    EXPECT_FALSE(ParseShard(bad, &error)) << bad;
    EXPECT_NE(error.find("--shard must be i/n"), std::string::npos);
  }
}

TEST(ShardingTest, EveryCheckRunsInExactlyOneShard) {
  const auto checks = Checks(1000);
  for (int n : {1, 2, 3, 7}) {
    std::vector<int> owners(checks.size(), 0);
    std::vector<int> sizes(n, 0);
    for (int i = 0; i < n; ++i) {
      auto in = ChecksInShard(checks, {i, n});
      for (size_t c = 0; c < checks.size(); ++c) {
        owners[c] += in[c];
        sizes[i] += in[c];
      }
    }
    for (int o : owners) EXPECT_EQ(o, 1);
    // Roughly even: no shard gets more than twice its fair share.
    for (int size : sizes) EXPECT_LT(size, 2 * 1000 / n + 10) << n;
  }
}

TEST(ShardingTest, ADependencyComponentStaysTogetherWhateverTheOrder) {
  auto checks = Checks(40);
  checks[5].depends_on = {"check-17"};
  checks[17].depends_on = {"check-33"};
  checks[2].depends_on = {"check-33"};
  for (int i = 0; i < 5; ++i) {
    auto in = ChecksInShard(checks, {i, 5});
    EXPECT_EQ(in[5], in[17]);
    EXPECT_EQ(in[17], in[33]);
    EXPECT_EQ(in[2], in[33]);
  }
  // The partition is a function of names, not positions.
  auto reversed = std::vector<CheckConfig>(checks.rbegin(), checks.rend());
  for (int i = 0; i < 3; ++i) {
    auto a = ChecksInShard(checks, {i, 3});
    auto b = ChecksInShard(reversed, {i, 3});
    for (size_t c = 0; c < checks.size(); ++c) EXPECT_EQ(a[c], b[checks.size() - 1 - c]);
  }
}

}  // namespace
}  // namespace hx
