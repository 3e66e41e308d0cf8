#pragma once
// Which unhealthy checks are only failing because something they depend on is
// down, and which checks are the root causes. Pure logic over the declared
// `depends_on` graph and the current states; no I/O, no clock.
//
// Definitions (a "dependency" is direct or transitive, through checks of any
// state):
//  - a check is BLOCKED when its own state is unhealthy and at least one of
//    its dependencies is unhealthy;
//  - a ROOT CAUSE is an unhealthy check that is not blocked (none of its
//    dependencies is unhealthy);
//  - `blocked_by` of a blocked check = the root causes among its dependencies.
// Degraded and pending (no result yet) checks are not unhealthy: they neither
// are blocked nor block anything. A path through a healthy check still counts
// (a -> b(healthy) -> c(unhealthy): a, if unhealthy, is blocked by c), because
// the declaration says a needs everything b needs, however shallow b's own
// probe is.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"
#include "config/config.h"

namespace hx {

/// One check as the graph needs it.
struct DependencyNode {
  std::string name;
  std::vector<std::string> depends_on;  ///< names of other nodes
};

/// The outcome for one check.
struct BlockedInfo {
  bool blocked = false;
  /// Indices (into the graph's nodes, i.e. config order) of the root causes,
  /// ascending; empty unless `blocked`. DependencyGraph::name() gives names.
  std::vector<size_t> blocked_by;

  bool operator==(const BlockedInfo&) const = default;
};

/// The `depends_on` graph of a config, resolved to indices and sorted
/// topologically once, so that Evaluate() is a linear pass.
///
/// Immutable after construction: thread-safe, Evaluate() may run concurrently
/// from any number of threads (e.g. on every scrape).
class DependencyGraph {
 public:
  /// Builds the graph; node i is check i. Throws std::invalid_argument on a
  /// duplicate name, an unknown or repeated dependency, a self-dependency or a
  /// cycle (the config loader rejects all of these first, so for a loaded
  /// Config this never throws).
  explicit DependencyGraph(std::vector<DependencyNode> nodes);

  /// The graph of `checks` (a loaded Config's), node i being checks[i].
  static DependencyGraph FromChecks(const std::vector<CheckConfig>& checks);

  size_t size() const { return names_.size(); }
  const std::string& name(size_t index) const { return names_[index]; }
  /// Direct dependencies of a node, as indices in the order written.
  const std::vector<size_t>& dependencies(size_t index) const { return dependencies_[index]; }

  /// For each node, whether it is blocked and by which root causes.
  /// `states[i]` is node i's state after thresholds, nullopt while pending;
  /// throws std::invalid_argument unless states.size() == size().
  ///
  /// Cost: O(checks + edges) to decide `blocked`; the `blocked_by` lists are
  /// built by merging sorted index sets along the edges, sharing a set
  /// wherever a check has only one distinct set below it (chains, diamonds),
  /// so the extra work is proportional to the root causes actually merged:
  /// at most O(edges x distinct root causes), O(checks + edges) for one.
  std::vector<BlockedInfo> Evaluate(const std::vector<std::optional<Health>>& states) const;

 private:
  std::vector<std::string> names_;
  std::vector<std::vector<size_t>> dependencies_;
  /// Every node after all of its dependencies.
  std::vector<size_t> topological_order_;
};

}  // namespace hx
