#include "status/layered_layout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <stdexcept>
#include <vector>

namespace hx {
namespace {

// A graph shaped like a fleet's dependencies: node i depends on one to three
// earlier nodes, mostly close by (a service on its neighbours), sometimes far
// back (shared infrastructure). Deterministic for a seed.
std::vector<LayoutEdge> ServiceLikeGraph(size_t n, unsigned seed) {
  std::mt19937 random(seed);
  std::vector<LayoutEdge> edges;
  for (size_t i = 1; i < n; ++i) {
    const size_t count = 1 + random() % 3;
    std::vector<size_t> seen;
    for (size_t k = 0; k < count; ++k) {
      const size_t back = random() % 8 == 0 ? i : std::min<size_t>(i, 12);
      const size_t to = i - 1 - random() % back;
      if (std::find(seen.begin(), seen.end(), to) != seen.end()) continue;
      seen.push_back(to);
      edges.push_back({i, to});
    }
  }
  return edges;
}

// The layer a y coordinate belongs to (node centres, node tops and bottoms
// and dummy points all round to their layer).
size_t LayerAt(double y, const LayeredLayoutOptions& o) {
  return static_cast<size_t>(
      std::lround((y - o.margin - o.node_height / 2) / (o.node_height + o.layer_gap)));
}

// Crossings of the drawing as drawn, from the edge polylines alone: two
// segments between the same two layers cross when their ends are in
// opposite order above and below.
size_t DrawnCrossings(const LayeredLayout& layout, const LayeredLayoutOptions& o) {
  std::map<size_t, std::vector<std::pair<double, double>>>
      segments;  // upper layer -> (x above, x below)
  for (const auto& path : layout.edge_paths) {
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      const size_t upper = LayerAt(path[i].y, o);
      if (LayerAt(path[i + 1].y, o) != upper + 1) continue;  // a straight (over-budget) edge
      segments[upper].emplace_back(path[i].x, path[i + 1].x);
    }
  }
  size_t crossings = 0;
  for (const auto& [layer, list] : segments) {
    for (size_t a = 0; a < list.size(); ++a) {
      for (size_t b = a + 1; b < list.size(); ++b) {
        if ((list[a].first - list[b].first) * (list[a].second - list[b].second) < 0) ++crossings;
      }
    }
  }
  return crossings;
}

// No two boxes in a layer overlap or come closer than the gap, and no long
// edge's bend point lies inside (or within the gap of) a node's box.
void ExpectNoOverlaps(const LayeredLayout& layout, const LayeredLayoutOptions& o) {
  std::map<size_t, std::vector<double>> nodes_by_layer;
  for (size_t i = 0; i < layout.centres.size(); ++i) {
    nodes_by_layer[layout.layer_of[i]].push_back(layout.centres[i].x);
  }
  for (auto& [layer, xs] : nodes_by_layer) {
    std::sort(xs.begin(), xs.end());
    for (size_t i = 1; i < xs.size(); ++i) {
      ASSERT_GE(xs[i] - xs[i - 1], o.node_width + o.node_gap - 1e-6) << "layer " << layer;
    }
  }
  for (const auto& path : layout.edge_paths) {
    for (size_t i = 1; i + 1 < path.size(); ++i) {
      for (double x : nodes_by_layer[LayerAt(path[i].y, o)]) {
        ASSERT_GE(std::abs(path[i].x - x), (o.node_width + o.dummy_width) / 2 + o.node_gap - 1e-6);
      }
    }
  }
  for (const auto& centre : layout.centres) {
    EXPECT_GE(centre.x - o.node_width / 2, o.margin - 1e-6);
    EXPECT_LE(centre.x + o.node_width / 2, layout.width - o.margin + 1e-6);
    EXPECT_LE(centre.y + o.node_height / 2, layout.height - o.margin + 1e-6);
  }
}

void ExpectEdgesPointDown(const std::vector<LayoutEdge>& edges, const LayeredLayout& layout) {
  ASSERT_EQ(layout.edge_paths.size(), edges.size());
  for (size_t e = 0; e < edges.size(); ++e) {
    EXPECT_LT(layout.layer_of[edges[e].from], layout.layer_of[edges[e].to]);
    const auto& path = layout.edge_paths[e];
    ASSERT_GE(path.size(), 2u);
    for (size_t i = 1; i < path.size(); ++i) EXPECT_GT(path[i].y, path[i - 1].y) << "edge " << e;
    EXPECT_EQ(path.front().x, layout.centres[edges[e].from].x);
    EXPECT_EQ(path.back().x, layout.centres[edges[e].to].x);
  }
}

TEST(LayeredLayoutTest, EmptyGraph) {
  const LayeredLayout layout = ComputeLayeredLayout(0, {});
  EXPECT_EQ(layout.layer_count, 0u);
  EXPECT_TRUE(layout.centres.empty());
  EXPECT_GT(layout.width, 0);
}

TEST(LayeredLayoutTest, LongestPathLayersPutDependenciesBelow) {
  // 0 -> 1 -> 2, 0 -> 2, 3 -> 2, 4 alone.
  const std::vector<LayoutEdge> edges = {{0, 1}, {1, 2}, {0, 2}, {3, 2}};
  const LayeredLayout layout = ComputeLayeredLayout(5, edges);
  EXPECT_EQ(layout.layer_count, 3u);
  // Nodes without dependencies (2 and the lone 4) are on the bottom layer;
  // every other node sits one layer above its deepest dependency.
  EXPECT_THAT(layout.layer_of, ::testing::ElementsAre(0, 1, 2, 1, 2));
  EXPECT_EQ(layout.dummy_count, 1u);           // 0 -> 2 crosses layer 1
  EXPECT_EQ(layout.edge_paths[2].size(), 3u);  // so it bends once
  ExpectEdgesPointDown(edges, layout);
  ExpectNoOverlaps(layout, {});
}

TEST(LayeredLayoutTest, ASingleEdgeIsVertical) {
  const LayeredLayout layout = ComputeLayeredLayout(2, {{0, 1}});
  EXPECT_DOUBLE_EQ(layout.centres[0].x, layout.centres[1].x);
  EXPECT_LT(layout.centres[0].y, layout.centres[1].y);
}

TEST(LayeredLayoutTest, UntanglesAFullyCrossedBipartiteGraph) {
  // Top 0,1,2,3 on bottom 7,6,5,4 in index order: every pair crosses
  // (6 crossings); one sweep finds the order without any.
  const std::vector<LayoutEdge> edges = {{0, 7}, {1, 6}, {2, 5}, {3, 4}};
  const LayeredLayoutOptions options;
  const LayeredLayout layout = ComputeLayeredLayout(8, edges, options);
  EXPECT_EQ(layout.initial_crossings, 6u);
  EXPECT_EQ(layout.crossings, 0u);
  EXPECT_EQ(DrawnCrossings(layout, options), 0u);
  ExpectNoOverlaps(layout, options);
}

TEST(LayeredLayoutTest, UntanglesInterleavedTrees) {
  // Three two-level trees whose nodes are numbered round-robin, so the
  // initial (index) order interleaves them; a planar drawing exists.
  std::vector<LayoutEdge> edges;
  const size_t trees = 3, leaves = 4;
  const size_t roots = 0;                 // 0..2 roots (bottom)
  const size_t mids = trees;              // 3..8: two middles per tree
  const size_t tops = trees + 2 * trees;  // 9..: leaves
  for (size_t m = 0; m < 2 * trees; ++m) edges.push_back({mids + m, roots + m % trees});
  for (size_t t = 0; t < leaves * trees; ++t) edges.push_back({tops + t, mids + t % (2 * trees)});
  const size_t n = tops + leaves * trees;
  const LayeredLayoutOptions options;
  const LayeredLayout layout = ComputeLayeredLayout(n, edges, options);
  EXPECT_GT(layout.initial_crossings, 10u);
  EXPECT_EQ(layout.crossings, 0u);
  EXPECT_EQ(DrawnCrossings(layout, options), 0u);
  ExpectEdgesPointDown(edges, layout);
  ExpectNoOverlaps(layout, options);
}

TEST(LayeredLayoutTest, ReducesCrossingsOfServiceLikeGraphs) {
  const LayeredLayoutOptions options;
  for (size_t n : {20, 60, 200}) {
    const std::vector<LayoutEdge> edges = ServiceLikeGraph(n, 7);
    const LayeredLayout layout = ComputeLayeredLayout(n, edges, options);
    // The count the algorithm reports is the drawing's own.
    EXPECT_EQ(DrawnCrossings(layout, options), layout.crossings) << n;
    EXPECT_LT(layout.crossings, layout.initial_crossings / 2) << n << " nodes";
    ExpectEdgesPointDown(edges, layout);
    ExpectNoOverlaps(layout, options);
  }
}

TEST(LayeredLayoutTest, AdjacentExchangesOnlyEverRemoveCrossings) {
  LayeredLayoutOptions without;
  without.transpose_passes = 0;
  size_t fewer = 0;
  for (unsigned seed : {1u, 2u, 3u, 4u}) {
    const std::vector<LayoutEdge> edges = ServiceLikeGraph(120, seed);
    const LayeredLayout plain = ComputeLayeredLayout(120, edges, without);
    const LayeredLayout refined = ComputeLayeredLayout(120, edges);
    EXPECT_LE(refined.crossings, plain.crossings) << seed;
    EXPECT_EQ(DrawnCrossings(refined, LayeredLayoutOptions{}), refined.crossings) << seed;
    ExpectNoOverlaps(refined, LayeredLayoutOptions{});
    fewer += refined.crossings < plain.crossings;
  }
  EXPECT_GT(fewer, 0u);
}

TEST(LayeredLayoutTest, SameInputSameDrawing) {
  const std::vector<LayoutEdge> edges = ServiceLikeGraph(300, 11);
  const LayeredLayout a = ComputeLayeredLayout(300, edges);
  const LayeredLayout b = ComputeLayeredLayout(300, edges);
  EXPECT_EQ(a.centres, b.centres);
  EXPECT_EQ(a.edge_paths, b.edge_paths);
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.crossings, b.crossings);
}

TEST(LayeredLayoutTest, DummyBudgetDrawsTheLongestEdgesStraight) {
  // A chain 0 -> 1 -> ... -> 9 and shortcuts from 0 to every node: spans
  // 2..9 need 1 + 2 + ... + 8 = 36 dummies.
  std::vector<LayoutEdge> edges;
  for (size_t i = 0; i + 1 < 10; ++i) edges.push_back({i, i + 1});
  for (size_t i = 2; i < 10; ++i) edges.push_back({0, i});
  LayeredLayoutOptions options;
  EXPECT_EQ(ComputeLayeredLayout(10, edges, options).dummy_count, 36u);
  options.max_dummies = 10;  // spans 2..5 fit (1 + 2 + 3 + 4 = 10 dummies)
  const LayeredLayout layout = ComputeLayeredLayout(10, edges, options);
  EXPECT_EQ(layout.dummy_count, 10u);
  EXPECT_EQ(layout.straight_edges, 4u);
  EXPECT_EQ(layout.edge_paths.back().size(), 2u);  // 0 -> 9, the longest, is straight
  ExpectEdgesPointDown(edges, layout);
  ExpectNoOverlaps(layout, options);
}

TEST(LayeredLayoutTest, LargeGraphStaysWithinItsBounds) {
  const size_t n = 5000;
  const std::vector<LayoutEdge> edges = ServiceLikeGraph(n, 3);
  const LayeredLayoutOptions options;
  const LayeredLayout layout = ComputeLayeredLayout(n, edges, options);
  EXPECT_LE(layout.dummy_count, 20 * n);
  EXPECT_LE(layout.sweeps, options.max_sweeps);
  EXPECT_LE(layout.crossings, layout.initial_crossings);
  ExpectEdgesPointDown(edges, layout);
}

TEST(LayeredLayoutTest, RejectsWhatIsNotADag) {
  EXPECT_THROW(ComputeLayeredLayout(2, {{0, 1}, {1, 0}}), std::invalid_argument);
  EXPECT_THROW(ComputeLayeredLayout(3, {{0, 1}, {1, 2}, {2, 0}}), std::invalid_argument);
  EXPECT_THROW(ComputeLayeredLayout(2, {{0, 0}}), std::invalid_argument);
  EXPECT_THROW(ComputeLayeredLayout(2, {{0, 2}}), std::invalid_argument);
}

}  // namespace
}  // namespace hx
