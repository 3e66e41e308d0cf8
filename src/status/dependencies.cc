#include "status/dependencies.h"

#include <algorithm>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace hx {

DependencyGraph::DependencyGraph(std::vector<DependencyNode> nodes) {
  const size_t n = nodes.size();
  std::unordered_map<std::string_view, size_t> index_of;
  index_of.reserve(n);
  names_.reserve(n);
  for (DependencyNode& node : nodes) names_.push_back(std::move(node.name));
  for (size_t i = 0; i < n; ++i) {
    if (!index_of.emplace(names_[i], i).second) {
      throw std::invalid_argument("duplicate check name \"" + names_[i] + "\"");
    }
  }

  dependencies_.resize(n);
  // Kahn's algorithm over "dependency before dependent": a node is ready once
  // all of its dependencies have been placed.
  std::vector<std::vector<size_t>> dependents(n);
  std::vector<size_t> waiting_for(n, 0);
  for (size_t i = 0; i < n; ++i) {
    std::unordered_set<size_t> seen;
    for (const std::string& dep : nodes[i].depends_on) {
      auto it = index_of.find(dep);
      if (it == index_of.end()) {
        throw std::invalid_argument("\"" + names_[i] + "\" depends on unknown check \"" + dep +
                                    "\"");
      }
      if (it->second == i) {
        throw std::invalid_argument("\"" + names_[i] + "\" depends on itself");
      }
      if (!seen.insert(it->second).second) {
        throw std::invalid_argument("\"" + names_[i] + "\" lists \"" + dep + "\" twice");
      }
      dependencies_[i].push_back(it->second);
      dependents[it->second].push_back(i);
      ++waiting_for[i];
    }
  }
  topological_order_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (waiting_for[i] == 0) topological_order_.push_back(i);
  }
  for (size_t next = 0; next < topological_order_.size(); ++next) {
    for (size_t dependent : dependents[topological_order_[next]]) {
      if (--waiting_for[dependent] == 0) topological_order_.push_back(dependent);
    }
  }
  if (topological_order_.size() != n) {
    throw std::invalid_argument("the dependencies of the checks form a cycle");
  }
}

DependencyGraph DependencyGraph::FromChecks(const std::vector<CheckConfig>& checks) {
  std::vector<DependencyNode> nodes;
  nodes.reserve(checks.size());
  for (const CheckConfig& check : checks) nodes.push_back({check.name, check.depends_on});
  return DependencyGraph(std::move(nodes));
}

std::vector<BlockedInfo> DependencyGraph::Evaluate(
    const std::vector<std::optional<Health>>& states) const {
  const size_t n = names_.size();
  if (states.size() != n) {
    throw std::invalid_argument("DependencyGraph::Evaluate: " + std::to_string(states.size()) +
                                " states for " + std::to_string(n) + " checks");
  }
  auto unhealthy = [&](size_t i) { return states[i] == Health::kUnhealthy; };

  // below[i]: the root causes among i's dependencies, as an index into
  // `sets` (kNone = no unhealthy dependency at all). Sets are sorted and
  // shared between nodes that have the same one, so a chain or a diamond
  // above one dead database reuses a single one-element set.
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<size_t> below(n, kNone);
  // The set {i} for a root cause i, made when first needed.
  std::vector<size_t> root_set(n, kNone);
  std::vector<std::vector<size_t>> sets;
  std::vector<size_t> contributing;  // scratch: set ids reaching one node

  for (size_t i : topological_order_) {
    contributing.clear();
    for (size_t dep : dependencies_[i]) {
      if (below[dep] != kNone) {
        contributing.push_back(below[dep]);
      } else if (unhealthy(dep)) {
        // Nothing unhealthy below an unhealthy dep: it is a root cause.
        if (root_set[dep] == kNone) {
          root_set[dep] = sets.size();
          sets.push_back({dep});
        }
        contributing.push_back(root_set[dep]);
      }
      // An unhealthy dep with something unhealthy below is blocked itself:
      // its root causes (below[dep]) are i's, not the dep.
    }
    if (contributing.empty()) continue;
    std::sort(contributing.begin(), contributing.end());
    contributing.erase(std::unique(contributing.begin(), contributing.end()), contributing.end());
    if (contributing.size() == 1) {
      below[i] = contributing.front();
      continue;
    }
    std::vector<size_t> merged;
    for (size_t id : contributing) merged.insert(merged.end(), sets[id].begin(), sets[id].end());
    std::sort(merged.begin(), merged.end());
    merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
    below[i] = sets.size();
    sets.push_back(std::move(merged));
  }

  std::vector<BlockedInfo> result(n);
  for (size_t i = 0; i < n; ++i) {
    if (!unhealthy(i) || below[i] == kNone) continue;
    result[i].blocked = true;
    result[i].blocked_by = sets[below[i]];
  }
  return result;
}

}  // namespace hx
