#pragma once
// --shard=i/n: several instances share one config file, each running the
// checks whose stable hash falls in its share; Prometheus joins their series.
// A check and everything it depends on (its whole depends_on component) land
// in the same shard, so blocking still sees the root cause. Pure; thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace hx {

struct Shard {
  int index = 0;  ///< 0-based
  int count = 1;
};

/// Parses "i/n" (0 <= i < n <= 1000); nullopt and *error on anything else.
std::optional<Shard> ParseShard(const std::string& text, std::string* error);

/// For each check (config order): whether `shard` runs it. The decision is a
/// stable function of the names in the check's dependency component, so every
/// instance computes the same partition from the same file.
std::vector<bool> ChecksInShard(const std::vector<CheckConfig>& checks, Shard shard);

}  // namespace hx
