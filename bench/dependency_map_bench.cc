// The whole "/map" page (layout + SVG + HTML) for a board of N checks whose
// dependencies look like a fleet's (check i depends on one or two of the 30
// before it; one check in 50 unhealthy): CPU time per render and page size,
// by default (past 150 checks in the graph only the failing part is drawn)
// and with "?all=1" (the whole graph up to 500 checks).
//
//   cmake --build build --target dependency_map_bench && build/dependency_map_bench [N...]
//   HX_MAP_HTML=/tmp/map.html build/dependency_map_bench 500   # also writes the last page

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/dependency_map.h"

namespace {

double CpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

hx::BoardSnapshot Board(int n) {
  unsigned seed = 42;
  hx::BoardSnapshot snapshot;
  std::vector<hx::DependencyNode> nodes;
  std::vector<std::optional<hx::Health>> states;
  for (int i = 0; i < n; ++i) {
    auto info = std::make_shared<hx::CheckInfo>();
    info->name = "check-" + std::to_string(i);
    if (i > 0) {
      const int k = 1 + rand_r(&seed) % 2;
      for (int j = 0; j < k; ++j) {
        int d = rand_r(&seed) % i;
        if (i - d > 30) d = i - 1 - rand_r(&seed) % 30;
        const std::string dep = "check-" + std::to_string(d);
        if (std::find(info->depends_on.begin(), info->depends_on.end(), dep) ==
            info->depends_on.end()) {
          info->depends_on.push_back(dep);
        }
      }
    }
    auto status = std::make_shared<hx::CheckStatus>();
    status->info = info;
    status->state = i % 50 == 7 ? hx::Health::kUnhealthy : hx::Health::kHealthy;
    nodes.push_back({info->name, info->depends_on});
    states.push_back(status->state);
    snapshot.checks.push_back(status);
  }
  const hx::DependencyGraph graph(std::move(nodes));
  const auto blocked = graph.Evaluate(states);
  snapshot.blocked_by.resize(n);
  for (int i = 0; i < n; ++i) {
    for (size_t root : blocked[i].blocked_by) snapshot.blocked_by[i].push_back(graph.name(root));
  }
  snapshot.overall = hx::ComputeOverallStatus(snapshot.checks);
  return snapshot;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {50, 500, 5000};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  }
  for (int n : sizes) {
    const hx::BoardSnapshot snapshot = Board(n);
    const int rounds = n <= 500 ? 20 : 5;
    size_t bytes = 0, whole_bytes = 0;
    double start = CpuSeconds();
    for (int r = 0; r < rounds; ++r) bytes = hx::RenderDependencyMapPage(snapshot, 0).size();
    const double cpu = (CpuSeconds() - start) / rounds;
    // "?all=1": the whole graph, up to max_nodes.
    hx::DependencyMapOptions whole;
    whole.whole_graph = true;
    start = CpuSeconds();
    for (int r = 0; r < rounds; ++r) {
      whole_bytes = hx::RenderDependencyMapPage(snapshot, 0, whole).size();
    }
    const double whole_cpu = (CpuSeconds() - start) / rounds;
    if (const char* path = std::getenv("HX_MAP_HTML")) {
      const std::string page = hx::RenderDependencyMapPage(snapshot, 0);
      if (FILE* file = std::fopen(path, "w")) {
        std::fwrite(page.data(), 1, page.size(), file);
        std::fclose(file);
      }
    }
    std::printf(
        "checks=%d default: render=%.2f ms page=%zu bytes; ?all=1: render=%.2f ms page=%zu bytes\n",
        n, cpu * 1000, bytes, whole_cpu * 1000, whole_bytes);
  }
  return 0;
}
