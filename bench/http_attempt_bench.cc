// Instructions of one healthy HTTP attempt, the way the daemon runs it: an
// HttpCheck on the loop's curl multi handle, one attempt after the other
// (the next started from the previous one's callback's turn of the loop).
//
//   http_attempt_bench URL COUNT [HEADER_VALUE]
//
// Run under `valgrind --tool=callgrind` with COUNT 0 and COUNT N against a
// server in another process (e.g. `python3 -m http.server`, nginx); the
// difference over N is the client's instructions per attempt (all threads
// counted). HEADER_VALUE adds an Authorization header, i.e. a secret the
// body excerpt of a failed attempt would mask. Exits 1 if an attempt is not
// healthy. Not built by default: `cmake --build build --target
// http_attempt_bench`.
#include <uv.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "checks/http/http_check.h"
#include "config/parse_context.h"
#include "io/io_context.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s URL COUNT [HEADER_VALUE]\n", argv[0]);
    return 2;
  }
  std::string yaml = std::string("url: '") + argv[1] + "'\n";
  if (argc > 3) yaml += std::string("headers: {Authorization: '") + argv[3] + "'}\n";
  int left = std::atoi(argv[2]);

  hx::config::ParseContext ctx("bench.yml", hx::config::ProcessEnvironment());
  const YAML::Node node = YAML::Load(yaml);
  hx::config::MapReader reader(node, "checks[0].http", ctx);
  auto spec = hx::ParseHttpCheckSpec(reader);
  if (!spec) {
    for (const auto& e : ctx.errors()) std::fprintf(stderr, "%s\n", e.ToString().c_str());
    return 2;
  }

  uv_loop_t loop;
  uv_loop_init(&loop);
  int unhealthy = 0;
  {
    hx::IoContext io(&loop);
    std::unique_ptr<hx::Check> check = spec->CreateCheck(io);
    bool running = false;
    // One attempt after the other, each started on the loop turn after the
    // previous one ended (as the scheduler would, minus its timers).
    while (left > 0 || running) {
      if (!running) {
        --left;
        running = true;
        check->Start([&running, &unhealthy](hx::CheckResult r) {
          if (r.health != hx::Health::kHealthy) {
            ++unhealthy;
            std::fprintf(stderr, "not healthy: %s\n", r.detail.c_str());
          }
          running = false;
        });
      }
      uv_run(&loop, UV_RUN_ONCE);
    }
    check.reset();
  }
  // The IoContext closed its handles: let their close callbacks run.
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return unhealthy == 0 ? 0 : 1;
}
