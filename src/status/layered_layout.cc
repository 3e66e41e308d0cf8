#include "status/layered_layout.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

namespace hx {
namespace {

// A position in a layer: a real node (slot == node index) or a dummy node of
// a long edge (slot >= node count).
struct Slot {
  size_t layer = 0;
  double width = 0;
  double weight = 1;  // how strongly coordinate assignment keeps it where it wants to be
  bool dummy = false;
  std::vector<size_t> up;    // neighbours in the layer above
  std::vector<size_t> down;  // neighbours in the layer below
};

// Everything the sweeps work on.
struct Layering {
  std::vector<Slot> slots;
  std::vector<std::vector<size_t>> layers;  // slot ids, left to right
  std::vector<size_t> index_in_layer;       // per slot
};

void Reindex(Layering& g) {
  for (const auto& layer : g.layers) {
    for (size_t i = 0; i < layer.size(); ++i) g.index_in_layer[layer[i]] = i;
  }
}

// Longest-path layering: height 0 for nodes without outgoing edges, else one
// more than the highest successor; layer = max height - height (0 = top).
std::vector<size_t> LongestPathLayers(size_t n, const std::vector<LayoutEdge>& edges,
                                      size_t& layer_count) {
  std::vector<std::vector<size_t>> successors(n), predecessors(n);
  for (const LayoutEdge& edge : edges) {
    if (edge.from >= n || edge.to >= n) {
      throw std::invalid_argument("layered layout: edge " + std::to_string(edge.from) + " -> " +
                                  std::to_string(edge.to) + " leaves the " + std::to_string(n) +
                                  " nodes");
    }
    if (edge.from == edge.to) {
      throw std::invalid_argument("layered layout: self-loop at node " + std::to_string(edge.from));
    }
    successors[edge.from].push_back(edge.to);
    predecessors[edge.to].push_back(edge.from);
  }
  // Kahn's algorithm from the sinks up: a node is ready once every successor
  // has its height.
  std::vector<size_t> waiting(n), ready, height(n, 0);
  for (size_t i = 0; i < n; ++i) {
    waiting[i] = successors[i].size();
    if (waiting[i] == 0) ready.push_back(i);
  }
  for (size_t next = 0; next < ready.size(); ++next) {
    const size_t node = ready[next];
    for (size_t successor : successors[node]) {
      height[node] = std::max(height[node], height[successor] + 1);
    }
    for (size_t predecessor : predecessors[node]) {
      if (--waiting[predecessor] == 0) ready.push_back(predecessor);
    }
  }
  if (ready.size() != n) throw std::invalid_argument("layered layout: the graph has a cycle");
  const size_t top = n == 0 ? 0 : *std::max_element(height.begin(), height.end());
  layer_count = n == 0 ? 0 : top + 1;
  std::vector<size_t> layer(n);
  for (size_t i = 0; i < n; ++i) layer[i] = top - height[i];
  return layer;
}

// Crossings between layer `upper` and the one below it, by counting
// inversions of the lower ends of the edges sorted by their upper ends
// (Barth, Jünger, Mutzel: "Simple and efficient bilayer cross counting",
// with a Fenwick tree as the accumulator).
size_t CrossingsBelow(const Layering& g, size_t upper, std::vector<std::pair<size_t, size_t>>& ends,
                      std::vector<size_t>& tree) {
  ends.clear();
  for (size_t slot : g.layers[upper]) {
    for (size_t below : g.slots[slot].down) {
      ends.emplace_back(g.index_in_layer[slot], g.index_in_layer[below]);
    }
  }
  std::sort(ends.begin(), ends.end());
  const size_t size = g.layers[upper + 1].size();
  tree.assign(size + 1, 0);
  size_t crossings = 0, inserted = 0;
  for (const auto& [from, to] : ends) {
    // Edges already inserted whose lower end is right of `to` cross this one.
    size_t at_most = 0;
    for (size_t i = to + 1; i > 0; i -= i & (~i + 1)) at_most += tree[i];
    crossings += inserted - at_most;
    for (size_t i = to + 1; i <= size; i += i & (~i + 1)) ++tree[i];
    ++inserted;
  }
  return crossings;
}

size_t CountCrossings(const Layering& g) {
  std::vector<std::pair<size_t, size_t>> ends;
  std::vector<size_t> tree;
  size_t total = 0;
  for (size_t l = 0; l + 1 < g.layers.size(); ++l) total += CrossingsBelow(g, l, ends, tree);
  return total;
}

// One barycentre pass over `layer`: each slot moves to the mean relative
// position of its neighbours in the adjacent layer (`use_up`: the one above);
// a slot without such neighbours keeps its own relative position.
void OrderByBarycentre(Layering& g, size_t layer, bool use_up) {
  std::vector<size_t>& slots = g.layers[layer];
  const size_t other = use_up ? layer - 1 : layer + 1;
  const double other_span = std::max<double>(1, static_cast<double>(g.layers[other].size()) - 1);
  const double own_span = std::max<double>(1, static_cast<double>(slots.size()) - 1);
  std::vector<std::pair<double, size_t>> keyed;
  keyed.reserve(slots.size());
  for (size_t slot : slots) {
    const std::vector<size_t>& neighbours = use_up ? g.slots[slot].up : g.slots[slot].down;
    double key = static_cast<double>(g.index_in_layer[slot]) / own_span;
    if (!neighbours.empty()) {
      double sum = 0;
      for (size_t neighbour : neighbours) sum += static_cast<double>(g.index_in_layer[neighbour]);
      key = sum / static_cast<double>(neighbours.size()) / other_span;
    }
    keyed.emplace_back(key, slot);
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < keyed.size(); ++i) {
    slots[i] = keyed[i].second;
    g.index_in_layer[keyed[i].second] = i;
  }
}

// Crossings between the edges of a slot whose neighbours (in one adjacent
// layer) sit at the sorted positions `left` and those of a slot right of it
// at `right`: pairs u in left, v in right with u > v. O(|left| + |right|).
size_t PairCrossings(const std::vector<size_t>& left, const std::vector<size_t>& right) {
  size_t crossings = 0, below = 0;
  for (size_t u : left) {
    while (below < right.size() && right[below] < u) ++below;
    crossings += below;
  }
  return crossings;
}

// Adjacent exchanges ("transpose", Gansner et al. 1993): swaps two
// neighbours of `layer` whenever that removes crossings with both adjacent
// layers. A swap changes only the crossings between the two slots' own
// edges, so every swap strictly lowers the total. At most `passes` passes.
void Transpose(Layering& g, size_t layer, int passes) {
  std::vector<size_t>& slots = g.layers[layer];
  if (slots.size() < 2) return;
  // Neighbour positions per slot; the adjacent layers do not change here.
  std::vector<std::vector<size_t>> up(slots.size()), down(slots.size());
  auto sorted_positions = [&](const std::vector<size_t>& neighbours) {
    std::vector<size_t> positions;
    positions.reserve(neighbours.size());
    for (size_t neighbour : neighbours) positions.push_back(g.index_in_layer[neighbour]);
    std::sort(positions.begin(), positions.end());
    return positions;
  };
  std::vector<size_t> at(slots.size());  // at[i]: which entry of up/down is slot i now
  for (size_t i = 0; i < slots.size(); ++i) {
    up[i] = sorted_positions(g.slots[slots[i]].up);
    down[i] = sorted_positions(g.slots[slots[i]].down);
    at[i] = i;
  }
  for (int pass = 0; pass < passes; ++pass) {
    bool improved = false;
    for (size_t i = 0; i + 1 < slots.size(); ++i) {
      const size_t a = at[i], b = at[i + 1];
      const size_t now = PairCrossings(up[a], up[b]) + PairCrossings(down[a], down[b]);
      const size_t swapped = PairCrossings(up[b], up[a]) + PairCrossings(down[b], down[a]);
      if (swapped < now) {
        std::swap(slots[i], slots[i + 1]);
        std::swap(at[i], at[i + 1]);
        g.index_in_layer[slots[i]] = i;
        g.index_in_layer[slots[i + 1]] = i + 1;
        improved = true;
      }
    }
    if (!improved) break;
  }
}

// Places the slots of one layer (in their order) as close as possible, in
// the weighted least-squares sense, to `desired` x while keeping each pair of
// neighbours at least `separation` apart: with c_i the cumulative
// separations, z_i = x_i - c_i must be non-decreasing, which is isotonic
// regression of desired_i - c_i, solved exactly by pooling adjacent
// violators in O(layer size).
void PlaceLayer(const std::vector<size_t>& layer, const std::vector<double>& desired,
                const std::vector<double>& weight, const std::vector<double>& separation,
                std::vector<double>& x) {
  struct Block {
    double weight, weighted_sum;
    size_t count;
    double mean() const { return weighted_sum / weight; }
  };
  std::vector<Block> blocks;
  std::vector<double> offset(layer.size(), 0);
  for (size_t i = 0; i < layer.size(); ++i) {
    if (i > 0) offset[i] = offset[i - 1] + separation[i - 1];
    blocks.push_back({weight[i], weight[i] * (desired[i] - offset[i]), 1});
    while (blocks.size() > 1 && blocks[blocks.size() - 2].mean() > blocks.back().mean()) {
      const Block last = blocks.back();
      blocks.pop_back();
      blocks.back().weight += last.weight;
      blocks.back().weighted_sum += last.weighted_sum;
      blocks.back().count += last.count;
    }
  }
  size_t i = 0;
  for (const Block& block : blocks) {
    const double z = block.mean();
    for (size_t k = 0; k < block.count; ++k, ++i) x[layer[i]] = z + offset[i];
  }
}

}  // namespace

LayeredLayout ComputeLayeredLayout(size_t node_count, const std::vector<LayoutEdge>& edges,
                                   const LayeredLayoutOptions& options) {
  LayeredLayout out;
  const size_t n = node_count;
  const std::vector<size_t> layer = LongestPathLayers(n, edges, out.layer_count);
  out.layer_of = layer;

  // Dummy nodes, shortest edges first, within the budget.
  const size_t budget =
      options.max_dummies != 0 ? options.max_dummies : std::max<size_t>(1000, 20 * n);
  std::vector<size_t> by_span(edges.size());
  std::iota(by_span.begin(), by_span.end(), 0);
  auto span = [&](size_t e) { return layer[edges[e].to] - layer[edges[e].from]; };
  std::stable_sort(by_span.begin(), by_span.end(),
                   [&](size_t a, size_t b) { return span(a) < span(b); });
  std::vector<bool> straight(edges.size(), false);
  size_t dummies = 0;
  for (size_t e : by_span) {
    if (dummies + span(e) - 1 > budget) {
      straight[e] = true;
      ++out.straight_edges;
    } else {
      dummies += span(e) - 1;
    }
  }
  out.dummy_count = dummies;

  Layering g;
  g.slots.resize(n);
  g.layers.resize(out.layer_count);
  for (size_t i = 0; i < n; ++i) {
    g.slots[i].layer = layer[i];
    g.slots[i].width = options.node_width;
  }
  std::vector<std::vector<size_t>> chain(edges.size());  // dummy slots of each edge, top down
  for (size_t e = 0; e < edges.size(); ++e) {
    if (straight[e]) continue;
    size_t previous = edges[e].from;
    for (size_t l = layer[edges[e].from] + 1; l <= layer[edges[e].to]; ++l) {
      size_t next = edges[e].to;
      if (l < layer[edges[e].to]) {
        next = g.slots.size();
        Slot dummy;
        dummy.layer = l;
        dummy.width = options.dummy_width;
        dummy.weight = 2;  // long edges should run straight
        dummy.dummy = true;
        g.slots.push_back(std::move(dummy));
        chain[e].push_back(next);
      }
      g.slots[previous].down.push_back(next);
      g.slots[next].up.push_back(previous);
      previous = next;
    }
  }
  for (size_t slot = 0; slot < g.slots.size(); ++slot)
    g.layers[g.slots[slot].layer].push_back(slot);
  g.index_in_layer.resize(g.slots.size());
  Reindex(g);

  // Crossing reduction.
  out.initial_crossings = out.crossings = CountCrossings(g);
  std::vector<std::vector<size_t>> best = g.layers;
  int without_improvement = 0;
  for (int sweep = 0;
       sweep < options.max_sweeps && out.crossings > 0 && without_improvement < options.patience;
       ++sweep) {
    const bool down = sweep % 2 == 0;
    if (down) {
      for (size_t l = 1; l < g.layers.size(); ++l) OrderByBarycentre(g, l, /*use_up=*/true);
    } else {
      for (size_t l = g.layers.size(); l >= 2; --l) OrderByBarycentre(g, l - 2, /*use_up=*/false);
    }
    ++out.sweeps;
    const size_t crossings = CountCrossings(g);
    if (crossings < out.crossings) {
      out.crossings = crossings;
      best = g.layers;
      without_improvement = 0;
    } else {
      ++without_improvement;
    }
  }
  g.layers = std::move(best);
  Reindex(g);
  // Local refinement of the best order: adjacent exchanges never add a
  // crossing, so the result is at most what the sweeps found.
  if (out.crossings > 0 && options.transpose_passes > 0) {
    for (int round = 0; round < options.transpose_passes; ++round) {
      for (size_t l = 0; l < g.layers.size(); ++l) Transpose(g, l, options.transpose_passes);
    }
    out.crossings = CountCrossings(g);
  }

  // Coordinates: start packed to the left, then pull towards neighbours.
  std::vector<double> x(g.slots.size(), 0);
  std::vector<std::vector<double>> separation(g.layers.size()), weight(g.layers.size());
  for (size_t l = 0; l < g.layers.size(); ++l) {
    const auto& slots = g.layers[l];
    double at = 0;
    for (size_t i = 0; i < slots.size(); ++i) {
      weight[l].push_back(g.slots[slots[i]].weight);
      if (i + 1 < slots.size()) {
        const Slot& a = g.slots[slots[i]];
        const Slot& b = g.slots[slots[i + 1]];
        separation[l].push_back((a.width + b.width) / 2 +
                                (a.dummy && b.dummy ? 0 : options.node_gap));
      }
      x[slots[i]] = at;
      if (i + 1 < slots.size()) at += separation[l][i];
    }
  }
  std::vector<double> desired;
  auto pass = [&](size_t l, bool use_up, bool use_down) {
    const auto& slots = g.layers[l];
    desired.assign(slots.size(), 0);
    for (size_t i = 0; i < slots.size(); ++i) {
      const Slot& slot = g.slots[slots[i]];
      double sum = 0;
      size_t count = 0;
      if (use_up) {
        for (size_t neighbour : slot.up) sum += x[neighbour], ++count;
      }
      if (use_down) {
        for (size_t neighbour : slot.down) sum += x[neighbour], ++count;
      }
      desired[i] = count == 0 ? x[slots[i]] : sum / static_cast<double>(count);
    }
    PlaceLayer(slots, desired, weight[l], separation[l], x);
  };
  for (int p = 0; p < options.coordinate_passes; ++p) {
    if (p % 2 == 0) {
      for (size_t l = 1; l < g.layers.size(); ++l) pass(l, true, false);
    } else {
      for (size_t l = g.layers.size(); l >= 2; --l) pass(l - 2, false, true);
    }
  }
  for (size_t l = 0; l < g.layers.size(); ++l) pass(l, true, true);

  // Translate so the drawing starts at the margin; layers at fixed heights.
  double left = 0, right = 0;
  for (size_t slot = 0; slot < g.slots.size(); ++slot) {
    const double half = g.slots[slot].width / 2;
    left = slot == 0 ? x[slot] - half : std::min(left, x[slot] - half);
    right = slot == 0 ? x[slot] + half : std::max(right, x[slot] + half);
  }
  const double shift = options.margin - left;
  const double pitch = options.node_height + options.layer_gap;
  auto centre_y = [&](size_t l) {
    return options.margin + static_cast<double>(l) * pitch + options.node_height / 2;
  };
  out.width = g.slots.empty() ? 2 * options.margin : right - left + 2 * options.margin;
  out.height =
      out.layer_count == 0
          ? 2 * options.margin
          : 2 * options.margin + static_cast<double>(out.layer_count) * pitch - options.layer_gap;
  out.centres.resize(n);
  for (size_t i = 0; i < n; ++i) out.centres[i] = {x[i] + shift, centre_y(layer[i])};
  out.edge_paths.resize(edges.size());
  for (size_t e = 0; e < edges.size(); ++e) {
    const LayoutPoint& from = out.centres[edges[e].from];
    const LayoutPoint& to = out.centres[edges[e].to];
    auto& path = out.edge_paths[e];
    path.push_back({from.x, from.y + options.node_height / 2});
    for (size_t slot : chain[e]) path.push_back({x[slot] + shift, centre_y(g.slots[slot].layer)});
    path.push_back({to.x, to.y - options.node_height / 2});
  }
  return out;
}

}  // namespace hx
