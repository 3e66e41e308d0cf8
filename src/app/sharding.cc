#include "app/sharding.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <numeric>
#include <unordered_map>

namespace hx {
namespace {

// FNV-1a 64: stable across builds and machines, unlike std::hash.
uint64_t StableHash(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

int Find(std::vector<int>& parent, int i) {
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];
    i = parent[i];
  }
  return i;
}

}  // namespace

std::optional<Shard> ParseShard(const std::string& text, std::string* error) {
  const auto slash = text.find('/');
  Shard shard;
  auto parse = [](std::string_view s, int* out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
  };
  if (slash == std::string::npos || !parse(std::string_view(text).substr(0, slash), &shard.index) ||
      !parse(std::string_view(text).substr(slash + 1), &shard.count) || shard.count < 1 ||
      shard.count > 1000 || shard.index < 0 || shard.index >= shard.count) {
    *error = "--shard must be i/n with 0 <= i < n <= 1000, e.g. 0/3; got \"" + text + "\"";
    return std::nullopt;
  }
  return shard;
}

std::vector<bool> ChecksInShard(const std::vector<CheckConfig>& checks, Shard shard) {
  const int n = static_cast<int>(checks.size());
  std::unordered_map<std::string, int> index;
  for (int i = 0; i < n; ++i) index.emplace(checks[i].name, i);
  // Union-find over depends_on edges: a component is placed as a whole.
  std::vector<int> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  for (int i = 0; i < n; ++i) {
    for (const auto& dep : checks[i].depends_on) {
      auto it = index.find(dep);
      if (it == index.end()) continue;
      parent[Find(parent, i)] = Find(parent, it->second);
    }
  }
  // The component's key is its smallest name: independent of file order.
  std::vector<const std::string*> key(n, nullptr);
  for (int i = 0; i < n; ++i) {
    const int root = Find(parent, i);
    if (key[root] == nullptr || checks[i].name < *key[root]) key[root] = &checks[i].name;
  }
  std::vector<bool> in_shard(n);
  for (int i = 0; i < n; ++i) {
    const std::string& component = *key[Find(parent, i)];
    in_shard[i] = static_cast<int>(StableHash(component) % static_cast<uint64_t>(shard.count)) ==
                  shard.index;
  }
  return in_shard;
}

}  // namespace hx
