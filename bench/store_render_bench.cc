// /metrics render of a whole board (figure 4 without HTTP): N HTTP-like checks
// (three results each, seven observations), rendered from one snapshot in
// each format; prints the p50 of 15 renders and bytes per check. Not built by
// default: `cmake --build build --target store_render_bench`, then
// `build/store_render_bench [checks]` (default 10000).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "metrics/check_metrics.h"

int main(int argc, char** argv) {
  using hx::ObservationId;
  const size_t n = argc > 1 ? std::stoul(argv[1]) : 10000;
  hx::StatusBoard board;
  hx::CheckMetrics metrics;
  for (size_t id = 0; id < n; ++id) {
    hx::CheckInfo info;
    info.name = "h" + std::to_string(id);
    info.type = "http";
    board.AddCheck(id, info);
    for (int k = 0; k < 3; ++k) {
      hx::RunRecord run;
      run.check_id = id;
      run.result = hx::CheckResult::Healthy("HTTP 200");
      run.state = hx::Health::kHealthy;
      run.duration = std::chrono::microseconds(1500 + 37 * (id % 100) + 500 * k);
      run.finished_at = 1.7e9 + static_cast<double>(id);
      run.result.observations = {{ObservationId::kHttpStatusCode, 200},
                                 {ObservationId::kHttpPhaseSeconds, 0.00002, "dns"},
                                 {ObservationId::kHttpPhaseSeconds, 0.0001, "connect"},
                                 {ObservationId::kHttpPhaseSeconds, 0, "tls"},
                                 {ObservationId::kHttpPhaseSeconds, 0.0011, "processing"},
                                 {ObservationId::kHttpPhaseSeconds, 0.00003, "transfer"},
                                 {ObservationId::kHttpRedirects, 0}};
      board.Record(run);
    }
  }
  const std::pair<const char*, hx::metrics::ExpositionFormat> formats[] = {
      {"text 0.0.4", hx::metrics::ExpositionFormat::kText004},
      {"OpenMetrics 1.0.0", hx::metrics::ExpositionFormat::kOpenMetrics100},
      {"protobuf", hx::metrics::ExpositionFormat::kProtobufDelimited}};
  for (const auto& [name, format] : formats) {
    std::vector<double> ms;
    size_t bytes = 0;
    for (int i = 0; i < 15; ++i) {
      const auto start = std::chrono::steady_clock::now();
      const std::string body = metrics.Render(board.Snapshot(), format);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      bytes = body.size();
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%-18s %zu checks: render p50 %.1f ms, %zu B/check\n", name, n, ms[ms.size() / 2],
                bytes / n);
  }
  return 0;
}
