// The dependency map's layout (src/status/layered_layout.h) on graphs of 50,
// 500 and 5,000 nodes: CPU time of ComputeLayeredLayout, peak RSS, layers,
// dummies and crossings before/after. The graphs are the ones the Graphviz
// comparison in docs/status-page.md used: node i depends on one or two
// earlier nodes, at most 30 back (rand_r, seed 42), so the figures compare.
//
//   cmake --build build --target layered_layout_bench && build/layered_layout_bench [N...]

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "status/layered_layout.h"

namespace {

double CpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

std::vector<hx::LayoutEdge> Graph(int n) {
  unsigned seed = 42;
  std::vector<hx::LayoutEdge> edges;
  for (int i = 1; i < n; ++i) {
    const int k = 1 + rand_r(&seed) % 2;
    for (int j = 0; j < k; ++j) {
      int d = rand_r(&seed) % i;
      if (i - d > 30) d = i - 1 - rand_r(&seed) % 30;
      edges.push_back({static_cast<size_t>(i), static_cast<size_t>(d)});
    }
  }
  return edges;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {50, 500, 5000};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  }
  for (int n : sizes) {
    const std::vector<hx::LayoutEdge> edges = Graph(n);
    const double start = CpuSeconds();
    const hx::LayeredLayout layout = hx::ComputeLayeredLayout(static_cast<size_t>(n), edges);
    const double cpu = CpuSeconds() - start;
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf(
        "nodes=%d edges=%zu layers=%zu dummies=%zu straight=%zu crossings=%zu->%zu sweeps=%d "
        "cpu=%.1f ms size=%.0fx%.0f maxrss=%ld KiB\n",
        n, edges.size(), layout.layer_count, layout.dummy_count, layout.straight_edges,
        layout.initial_crossings, layout.crossings, layout.sweeps, cpu * 1000, layout.width,
        layout.height, usage.ru_maxrss);
  }
  return 0;
}
