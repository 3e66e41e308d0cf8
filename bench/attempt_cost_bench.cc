// Instructions per untraced attempt of a tcp and an http check, for callgrind:
// shows that the debug run's trace hook (io/attempt_trace.h, null on the
// scheduled path) costs the normal path nothing measurable. Uses only what
// existed before the hook (CheckSpec::CreateCheck with an IoContext), so the
// same file builds against the commit before it for the comparison.
//
//   attempt_cost_bench tcp|http URL_OR_ADDRESS COUNT
//
// Runs COUNT attempts one after another on one loop; the per-attempt figure
// is (Ir at 2*COUNT - Ir at COUNT) / COUNT, which cancels start-up
// (bench/attempt_cost_bench.sh does the runs).

#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "checks/check.h"
#include "config/config.h"
#include "io/io_context.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s tcp|http URL_OR_ADDRESS COUNT\n", argv[0]);
    return 2;
  }
  const std::string type = argv[1];
  const std::string target = argv[2];
  const int count = std::atoi(argv[3]);
  const std::string yaml = "checks:\n  - name: bench\n    " + type + ":\n      " +
                           (type == "http" ? "url: " : "address: ") + target + "\n";
  hx::LoadResult loaded = hx::LoadConfigString(yaml, "bench.yml", hx::BuiltinCheckTypes());
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
    return 2;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  int healthy = 0;
  {
    hx::IoContext io(&loop);
    std::unique_ptr<hx::Check> check = loaded.config->checks[0].spec->CreateCheck(io);
    for (int i = 0; i < count; ++i) {
      bool done = false;
      check->Start([&](hx::CheckResult r) {
        done = true;
        healthy += r.health == hx::Health::kHealthy ? 1 : 0;
      });
      while (!done) uv_run(&loop, UV_RUN_ONCE);
    }
    check.reset();
    io.Shutdown();
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop);
  std::printf("%d of %d healthy\n", healthy, count);
  return healthy == count ? 0 : 1;
}
