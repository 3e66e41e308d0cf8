#pragma once
// A layered ("Sugiyama-style") drawing of a directed acyclic graph, for the
// dependency map of the status page (docs/status-page.md, "Dependency map").
// Pure geometry: no I/O, no clock, no knowledge of checks.
//
// The four classic steps (Sugiyama, Tagawa and Toda 1981), each kept simple:
//  1. Layering by longest path: a node with no outgoing edge (a check that
//     depends on nothing) is on the bottom layer, every other node one layer
//     above its highest successor, so every edge points downwards and the
//     shared infrastructure lines up at the bottom.
//  2. Long edges (spanning k > 1 layers) are split by k - 1 dummy nodes, one
//     per layer crossed, so that crossing reduction sees them and they bend
//     around nodes rather than through them. The number of dummies is
//     bounded (LayeredLayoutOptions::max_dummies, shortest edges first); an
//     edge beyond the budget is drawn as one straight segment.
//  3. Crossing reduction by the barycentre heuristic: sweeps alternately down
//     (order each layer by the mean position of its neighbours above) and up
//     (neighbours below), counting crossings after each sweep (Barth, Jünger
//     and Mutzel's accumulator method, O(edges log nodes) per sweep) and
//     keeping the best order seen; stops after `max_sweeps`, at zero
//     crossings, or when `patience` sweeps in a row found nothing better.
//     Then adjacent exchanges ("transpose", as in Graphviz's dot) refine
//     the best order: two neighbours swap whenever that removes crossings.
//  4. Coordinates: layers at fixed heights; within a layer, a few passes that
//     pull each node towards the mean x of its neighbours in the previous
//     layer of the pass, solved exactly per layer as a weighted isotonic
//     regression (pool adjacent violators) under "keep the order and the
//     minimum gap". Nodes therefore never overlap, and long edges straighten
//     because their dummies follow their neighbours.
//
// Deterministic: the same input gives the same output bit for bit (stable
// sorts, no hashing, no randomness). Thread-safe: free functions of their
// arguments.

#include <cstddef>
#include <vector>

namespace hx {

/// An edge of the graph to lay out, drawn from `from` (above) to `to`
/// (below). In the dependency map `from` depends on `to`.
struct LayoutEdge {
  size_t from = 0;
  size_t to = 0;
};

struct LayoutPoint {
  double x = 0;
  double y = 0;
  bool operator==(const LayoutPoint&) const = default;
};

struct LayeredLayoutOptions {
  double node_width = 168;
  double node_height = 44;
  /// Room a long edge takes where it crosses a layer.
  double dummy_width = 10;
  /// Minimum horizontal space between two neighbours in a layer.
  double node_gap = 24;
  /// Vertical space between two layers (where the edges run).
  double layer_gap = 56;
  /// Space around the drawing.
  double margin = 12;
  /// Crossing reduction: at most this many sweeps (each down or up counts
  /// one), and stop early after `patience` sweeps without improvement.
  int max_sweeps = 24;
  int patience = 4;
  /// Refinement after the sweeps: this many rounds over all layers of at
  /// most this many passes of adjacent exchanges each (0: none).
  int transpose_passes = 4;
  /// Coordinate assignment: passes (each down or up counts one).
  int coordinate_passes = 8;
  /// At most this many dummy nodes in total; 0 means 20 per node, at least
  /// 1,000. Bounds the work for graphs with many long edges.
  size_t max_dummies = 0;
};

/// The drawing: every coordinate is in the same units as the options.
struct LayeredLayout {
  /// Per node: the centre of its box (width node_width, height node_height).
  std::vector<LayoutPoint> centres;
  /// Per node: its layer, 0 = top.
  std::vector<size_t> layer_of;
  /// Per input edge, in input order: the polyline from the bottom centre of
  /// `from` through one point per dummy to the top centre of `to`.
  std::vector<std::vector<LayoutPoint>> edge_paths;
  double width = 0;
  double height = 0;
  size_t layer_count = 0;
  size_t dummy_count = 0;
  /// Edges drawn straight because the dummy budget ran out.
  size_t straight_edges = 0;
  /// Crossings (between the edges and dummy chains that take part in the
  /// ordering) in the initial order and in the order chosen.
  size_t initial_crossings = 0;
  size_t crossings = 0;
  int sweeps = 0;
};

/// Lays out the graph of `node_count` nodes and `edges`. Throws
/// std::invalid_argument for an edge to a node out of range, a self-loop or
/// a cycle (a loaded config's `depends_on` graph has none). Parallel edges
/// are allowed and drawn on top of each other.
LayeredLayout ComputeLayeredLayout(size_t node_count, const std::vector<LayoutEdge>& edges,
                                   const LayeredLayoutOptions& options = {});

}  // namespace hx
