#include "status/dependencies.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace hx {
namespace {

using ::testing::ElementsAre;

constexpr std::optional<Health> kPending = std::nullopt;
constexpr std::optional<Health> kUp = Health::kHealthy;
constexpr std::optional<Health> kSlow = Health::kDegraded;
constexpr std::optional<Health> kDown = Health::kUnhealthy;

// One table row: a graph written as "name: dep dep", the states, and the
// expected result as "name: root root" for every blocked check (others must
// be unblocked).
struct Case {
  std::string title;
  std::vector<std::pair<std::string, std::vector<std::string>>> graph;
  std::map<std::string, std::optional<Health>> states;  // absent = healthy
  std::map<std::string, std::vector<std::string>> blocked;
};

DependencyGraph Build(const Case& c) {
  std::vector<DependencyNode> nodes;
  for (const auto& [name, deps] : c.graph) nodes.push_back({name, deps});
  return DependencyGraph(std::move(nodes));
}

TEST(DependencyGraphTest, Table) {
  const std::vector<Case> cases = {
      {"no dependencies: a failing check is a root cause, not blocked",
       {{"a", {}}, {"b", {}}},
       {{"a", kDown}, {"b", kDown}},
       {}},
      {"direct dependency down",
       {{"api", {"db"}}, {"db", {}}},
       {{"api", kDown}, {"db", kDown}},
       {{"api", {"db"}}}},
      {"a healthy check is never blocked",
       {{"api", {"db"}}, {"db", {}}},
       {{"api", kUp}, {"db", kDown}},
       {}},
      {"a degraded check is not blocked",
       {{"api", {"db"}}, {"db", {}}},
       {{"api", kSlow}, {"db", kDown}},
       {}},
      {"a pending check is not blocked",
       {{"api", {"db"}}, {"db", {}}},
       {{"api", kPending}, {"db", kDown}},
       {}},
      {"a healthy dependency does not block",
       {{"api", {"db"}}, {"db", {}}},
       {{"api", kDown}, {"db", kUp}},
       {}},
      {"a degraded dependency does not block",
       {{"api", {"db"}}, {"db", {}}},
       {{"api", kDown}, {"db", kSlow}},
       {}},
      {"a pending dependency does not block",
       {{"api", {"db"}}, {"db", {}}},
       {{"api", kDown}, {"db", kPending}},
       {}},
      {"chain all down: every check above the bottom is blocked by the bottom",
       {{"web", {"api"}}, {"api", {"db"}}, {"db", {"disk"}}, {"disk", {}}},
       {{"web", kDown}, {"api", kDown}, {"db", kDown}, {"disk", kDown}},
       {{"web", {"disk"}}, {"api", {"disk"}}, {"db", {"disk"}}}},
      {"chain broken in the middle: the lowest failing check is the root",
       {{"web", {"api"}}, {"api", {"db"}}, {"db", {"disk"}}, {"disk", {}}},
       {{"web", kDown}, {"api", kDown}, {"db", kDown}, {"disk", kUp}},
       {{"web", {"db"}}, {"api", {"db"}}}},
      {"transitive through a healthy check",
       {{"web", {"api"}}, {"api", {"db"}}, {"db", {}}},
       {{"web", kDown}, {"api", kUp}, {"db", kDown}},
       {{"web", {"db"}}}},
      {"transitive through a degraded and a pending check",
       {{"web", {"api"}}, {"api", {"cache"}}, {"cache", {"db"}}, {"db", {}}},
       {{"web", kDown}, {"api", kSlow}, {"cache", kPending}, {"db", kDown}},
       {{"web", {"db"}}}},
      {"diamond: one root reached two ways is listed once",
       {{"top", {"left", "right"}}, {"left", {"db"}}, {"right", {"db"}}, {"db", {}}},
       {{"top", kDown}, {"left", kDown}, {"right", kUp}, {"db", kDown}},
       {{"top", {"db"}}, {"left", {"db"}}}},
      {"multiple roots, listed in config order",
       {{"app", {"queue", "db", "cache"}}, {"db", {}}, {"cache", {}}, {"queue", {}}},
       {{"app", kDown}, {"db", kDown}, {"cache", kUp}, {"queue", kDown}},
       {{"app", {"db", "queue"}}}},
      {"roots from different branches merge",
       {{"web", {"api", "auth"}}, {"api", {"db"}}, {"auth", {"ldap"}}, {"db", {}}, {"ldap", {}}},
       {{"web", kDown}, {"api", kDown}, {"auth", kUp}, {"db", kDown}, {"ldap", kDown}},
       {{"web", {"db", "ldap"}}, {"api", {"db"}}}},
      {"a blocked dependency is not a root cause; its own root is",
       {{"web", {"api", "cdn"}}, {"api", {"db"}}, {"db", {}}, {"cdn", {}}},
       {{"web", kDown}, {"api", kDown}, {"db", kDown}, {"cdn", kDown}},
       {{"web", {"db", "cdn"}}, {"api", {"db"}}}},
      {"unrelated failures do not block",
       {{"api", {"db"}}, {"db", {}}, {"mail", {}}},
       {{"api", kDown}, {"db", kUp}, {"mail", kDown}},
       {}},
      {"everything pending",
       {{"api", {"db"}}, {"db", {}}},
       {{"api", kPending}, {"db", kPending}},
       {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.title);
    const DependencyGraph graph = Build(c);
    std::vector<std::optional<Health>> states;
    for (const auto& [name, deps] : c.graph) {
      auto it = c.states.find(name);
      states.push_back(it == c.states.end() ? kUp : it->second);
    }
    const std::vector<BlockedInfo> result = graph.Evaluate(states);
    ASSERT_EQ(result.size(), c.graph.size());
    for (size_t i = 0; i < result.size(); ++i) {
      const std::string& name = graph.name(i);
      SCOPED_TRACE(name);
      auto expected = c.blocked.find(name);
      if (expected == c.blocked.end()) {
        EXPECT_FALSE(result[i].blocked);
        EXPECT_TRUE(result[i].blocked_by.empty());
        continue;
      }
      EXPECT_TRUE(result[i].blocked);
      std::vector<std::string> names;
      for (size_t root : result[i].blocked_by) names.push_back(graph.name(root));
      // Roots come in config order.
      std::vector<std::string> in_config_order;
      for (const auto& [node, deps] : c.graph) {
        for (const std::string& root : expected->second) {
          if (root == node) in_config_order.push_back(root);
        }
      }
      EXPECT_EQ(names, in_config_order);
    }
  }
}

TEST(DependencyGraphTest, ExposesIndices) {
  const DependencyGraph graph({{"api", {"db", "cache"}}, {"db", {}}, {"cache", {"db"}}});
  ASSERT_EQ(graph.size(), 3u);
  EXPECT_EQ(graph.name(2), "cache");
  EXPECT_THAT(graph.dependencies(0), ElementsAre(1u, 2u));
  EXPECT_THAT(graph.dependencies(1), ElementsAre());
  EXPECT_THAT(graph.dependencies(2), ElementsAre(1u));
}

TEST(DependencyGraphTest, FromChecksUsesConfigOrder) {
  std::vector<CheckConfig> checks(3);
  checks[0].name = "api";
  checks[0].depends_on = {"db"};
  checks[1].name = "db";
  checks[2].name = "web";
  checks[2].depends_on = {"api"};
  const DependencyGraph graph = DependencyGraph::FromChecks(checks);
  const std::vector<BlockedInfo> result = graph.Evaluate({kDown, kDown, kDown});
  EXPECT_EQ(result[0], (BlockedInfo{true, {1}}));
  EXPECT_EQ(result[1], (BlockedInfo{}));
  EXPECT_EQ(result[2], (BlockedInfo{true, {1}}));
}

TEST(DependencyGraphTest, RejectsWhatTheLoaderRejects) {
  using Nodes = std::vector<DependencyNode>;
  EXPECT_THROW(DependencyGraph(Nodes{{"a", {}}, {"a", {}}}), std::invalid_argument);
  EXPECT_THROW(DependencyGraph(Nodes{{"a", {"b"}}}), std::invalid_argument);
  EXPECT_THROW(DependencyGraph(Nodes{{"a", {"a"}}}), std::invalid_argument);
  EXPECT_THROW(DependencyGraph(Nodes{{"a", {"b", "b"}}, {"b", {}}}), std::invalid_argument);
  EXPECT_THROW(DependencyGraph(Nodes{{"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}}),
               std::invalid_argument);
  const DependencyGraph graph(Nodes{{"a", {}}});
  EXPECT_THROW(graph.Evaluate({}), std::invalid_argument);
  EXPECT_THROW(graph.Evaluate({kUp, kUp}), std::invalid_argument);
}

TEST(DependencyGraphTest, EmptyGraph) {
  const DependencyGraph graph({});
  EXPECT_TRUE(graph.Evaluate({}).empty());
}

// 10,000 checks, the shapes a scrape-time evaluation must survive: a chain
// as deep as the config (no recursion), and a wide fan-in to one database.
TEST(DependencyGraphTest, TenThousandChecksInAChain) {
  constexpr size_t kChecks = 10'000;
  std::vector<DependencyNode> nodes;
  // Listed bottom-last, so config order is the reverse of evaluation order.
  for (size_t i = 0; i < kChecks; ++i) {
    DependencyNode node{"c" + std::to_string(i), {}};
    if (i + 1 < kChecks) node.depends_on.push_back("c" + std::to_string(i + 1));
    nodes.push_back(std::move(node));
  }
  const DependencyGraph graph(std::move(nodes));
  std::vector<std::optional<Health>> states(kChecks, kDown);
  // A healthy check in the middle does not hide the bottom from the top
  // half: dependencies are transitive whatever the state in between.
  states[5000] = kUp;
  const std::vector<BlockedInfo> result = graph.Evaluate(states);
  for (size_t i = 0; i < kChecks; ++i) {
    SCOPED_TRACE(i);
    if (i == 5000 || i == kChecks - 1) {
      ASSERT_EQ(result[i], BlockedInfo{});
    } else {
      ASSERT_EQ(result[i], (BlockedInfo{true, {kChecks - 1}}));
    }
  }
  // The bottom two recover: the lowest failing check is the only root.
  states[kChecks - 1] = kUp;
  states[kChecks - 2] = kUp;
  const std::vector<BlockedInfo> later = graph.Evaluate(states);
  for (size_t i = 0; i < kChecks; ++i) {
    SCOPED_TRACE(i);
    if (i < kChecks - 3 && i != 5000) {
      ASSERT_EQ(later[i], (BlockedInfo{true, {kChecks - 3}}));
    } else {
      ASSERT_EQ(later[i], BlockedInfo{});
    }
  }
}

TEST(DependencyGraphTest, TenThousandChecksOnSharedDependencies) {
  // 9,990 services, each on one of 10 databases and on a shared network
  // check; every service and two databases are down.
  constexpr size_t kDatabases = 10;
  constexpr size_t kServices = 9'989;
  std::vector<DependencyNode> nodes;
  nodes.push_back({"network", {}});
  for (size_t d = 0; d < kDatabases; ++d) nodes.push_back({"db" + std::to_string(d), {"network"}});
  for (size_t s = 0; s < kServices; ++s) {
    nodes.push_back(
        {"svc" + std::to_string(s), {"db" + std::to_string(s % kDatabases), "network"}});
  }
  const DependencyGraph graph(std::move(nodes));
  ASSERT_EQ(graph.size(), 10'000u);
  std::vector<std::optional<Health>> states(graph.size(), kDown);
  states[0] = kUp;  // network
  for (size_t d = 2; d < kDatabases; ++d) states[1 + d] = kUp;
  const std::vector<BlockedInfo> result = graph.Evaluate(states);
  EXPECT_EQ(result[0], BlockedInfo{});
  EXPECT_EQ(result[1], BlockedInfo{});  // db0: down, but a root cause
  size_t blocked = 0;
  for (size_t s = 0; s < kServices; ++s) {
    const BlockedInfo& info = result[1 + kDatabases + s];
    const size_t db = s % kDatabases;
    if (db < 2) {
      ASSERT_EQ(info, (BlockedInfo{true, {1 + db}})) << s;
      ++blocked;
    } else {
      ASSERT_EQ(info, BlockedInfo{}) << s;
    }
  }
  EXPECT_EQ(blocked, 1998u);

  // The network goes down too: every database is blocked by it, and so is
  // every service, by the network alone.
  states[0] = kDown;
  const std::vector<BlockedInfo> outage = graph.Evaluate(states);
  EXPECT_EQ(outage[0], BlockedInfo{});
  EXPECT_EQ(outage[1], (BlockedInfo{true, {0}}));
  EXPECT_EQ(outage[5], BlockedInfo{});  // db4 is healthy
  for (size_t s = 0; s < kServices; ++s)
    ASSERT_EQ(outage[1 + kDatabases + s], (BlockedInfo{true, {0}}));
}

TEST(DependencyGraphTest, EvaluateIsRepeatableOnOneGraph) {
  // Immutable after construction: evaluations do not influence each other.
  const DependencyGraph graph({{"api", {"db"}}, {"db", {}}});
  EXPECT_EQ(graph.Evaluate({kDown, kDown})[0], (BlockedInfo{true, {1}}));
  EXPECT_EQ(graph.Evaluate({kDown, kUp})[0], BlockedInfo{});
  EXPECT_EQ(graph.Evaluate({kDown, kDown})[0], (BlockedInfo{true, {1}}));
}

}  // namespace
}  // namespace hx
