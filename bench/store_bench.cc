// The embedded store (src/store/, docs/storage.md) at the size issue 16
// names: N checks x 90 days of daily aggregates and N x 50 journal entries.
// Prints the file size, the writer's insert throughput, the caller's cost of
// one enqueue, and the time to open and to load everything at start-up.
// Not built by default: `cmake --build build --target store_bench`, then
// `build/store_bench [dir] [checks] [body_bytes]` (defaults: a temp dir,
// 10000, 256). `build/store_bench DIR N B enqueue-only` only enqueues (for
// valgrind --tool=callgrind --toggle-collect='hx::store::Store::AppendJournal*').
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "store/store.h"

namespace {

using Clock = std::chrono::steady_clock;
using hx::store::DailyAggregate;
using hx::store::JournalEntry;
using hx::store::Store;
using hx::store::StoreOptions;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// This thread's CPU seconds: on a loaded machine the wall time of a phase is
// mostly waiting for a CPU.
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

JournalEntry Entry(size_t check, int i, size_t body_bytes) {
  JournalEntry e;
  e.check = "service-" + std::to_string(check) + ".example.internal";
  e.time = 1'765'000'000.0 + i * 60.0;
  e.state = "unhealthy";
  e.previous_state = i % 5 == 0 ? "healthy" : "";
  e.reason = "http_status";
  e.detail = "HTTP 503 from https://service-" + std::to_string(check) + ".example.internal/health";
  e.duration = 0.0421;
  e.phases_json =
      R"({"dns":0.0004,"connect":0.0011,"tls":0.0093,"processing":0.0301,"transfer":0.0002})";
  e.address = "10.1.2.3:443";
  e.http_status = 503;
  e.body_excerpt = std::string(body_bytes, 'b');
  e.attempt_id = 100'000 + static_cast<uint64_t>(i);
  return e;
}

DailyAggregate Day(size_t check, int64_t day) {
  DailyAggregate d;
  d.check = "service-" + std::to_string(check) + ".example.internal";
  d.day = day;
  d.attempts = 1440;
  d.results_healthy = 1431;
  d.results_degraded = 3;
  d.results_unhealthy = 6;
  d.seconds_healthy = 85'870.5;
  d.seconds_degraded = 180.25;
  d.seconds_unhealthy = 349.25;
  d.latency_p50 = 0.0123;
  d.latency_p95 = 0.0456;
  d.latency_p99 = 0.0789;
  d.longest_outage = 240;
  return d;
}

StoreOptions Options(const std::string& dir) {
  StoreOptions options;
  options.dir = dir;
  options.queue_capacity = 2'000'000;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "";
  const size_t checks = argc > 2 ? std::stoul(argv[2]) : 10'000;
  const size_t body = argc > 3 ? std::stoul(argv[3]) : 256;
  const bool enqueue_only = argc > 4 && std::string(argv[4]) == "enqueue-only";
  if (dir.empty()) {
    char pattern[] = "/tmp/hx-store-bench-XXXXXX";
    dir = mkdtemp(pattern);
  }
  std::filesystem::remove(dir + "/health_exporter.db");
  const int64_t today = hx::store::UnixDay(static_cast<double>(time(nullptr)));

  if (enqueue_only) {
    StoreOptions options = Options(dir);
    options.flush_interval = std::chrono::milliseconds(3'600'000);
    options.batch_max = 10'000'000;
    auto store = Store::Open(options);
    std::vector<JournalEntry> entries;
    for (size_t c = 0; c < 1000; ++c) entries.push_back(Entry(c, 0, body));
    for (auto& e : entries) store->AppendJournal(std::move(e));
    return 0;
  }

  double journal_rate = 0;
  double daily_rate = 0;
  double enqueue_ns = 0;
  {
    auto store = Store::Open(Options(dir));
    if (store->mode() != hx::store::StoreMode::kPersistent) {
      std::fprintf(stderr, "store not persistent: %s\n", store->problem().c_str());
      return 1;
    }
    // Daily rows: all 90 days of every check.
    auto start = Clock::now();
    for (int64_t day = today - 89; day <= today; ++day) {
      for (size_t c = 0; c < checks; ++c) store->PutDaily(Day(c, day));
    }
    store->Flush();
    daily_rate = static_cast<double>(checks * 90) / Seconds(Clock::now() - start);

    // Journal: 50 per check, as they would come (interleaved checks). The
    // entries are built first so the enqueue timing is the store's alone.
    std::vector<JournalEntry> entries;
    entries.reserve(checks * 50);
    for (int i = 0; i < 50; ++i) {
      for (size_t c = 0; c < checks; ++c) entries.push_back(Entry(c, i, body));
    }
    start = Clock::now();
    Clock::duration enqueue_total{};
    for (auto& e : entries) {
      const auto t = Clock::now();
      store->AppendJournal(std::move(e));
      enqueue_total += Clock::now() - t;
    }
    store->Flush();
    journal_rate = static_cast<double>(entries.size()) / Seconds(Clock::now() - start);
    enqueue_ns = Seconds(enqueue_total) * 1e9 / static_cast<double>(entries.size());
    const auto stats = store->stats();
    std::printf("writer: %llu ops committed in %llu batches, %llu dropped, %llu failed\n",
                static_cast<unsigned long long>(stats.committed),
                static_cast<unsigned long long>(stats.batches),
                static_cast<unsigned long long>(stats.dropped),
                static_cast<unsigned long long>(stats.failed));
  }
  const auto bytes = std::filesystem::file_size(dir + "/health_exporter.db");

  auto start = Clock::now();
  double cpu = CpuSeconds();
  auto store = Store::Open(Options(dir));
  const double open_s = Seconds(Clock::now() - start);
  const double open_cpu = CpuSeconds() - cpu;
  start = Clock::now();
  store->Flush();  // waits for the writer's quick_check
  const double check_s = Seconds(Clock::now() - start);
  start = Clock::now();
  cpu = CpuSeconds();
  const auto days = store->AllDaily(today - 89);
  const double daily_load_s = Seconds(Clock::now() - start);
  const double daily_load_cpu = CpuSeconds() - cpu;
  start = Clock::now();
  cpu = CpuSeconds();
  const auto journals = store->AllJournals();
  const double journal_load_s = Seconds(Clock::now() - start);
  const double journal_load_cpu = CpuSeconds() - cpu;
  size_t entries = 0;
  for (const auto& [name, list] : journals) entries += list.size();

  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf("checks=%zu body_excerpt=%zuB loadavg=%.2f %.2f %.2f\n", checks, body, load[0],
              load[1], load[2]);
  std::printf("file size: %.1f MiB (%llu bytes) for %zu daily rows + %zu journal entries\n",
              static_cast<double>(bytes) / (1024.0 * 1024.0),
              static_cast<unsigned long long>(bytes), days.size(), entries);
  std::printf("writer throughput: %.0f daily rows/s, %.0f journal entries/s\n", daily_rate,
              journal_rate);
  std::printf("enqueue (caller side): %.0f ns per AppendJournal (mean, writer running)\n",
              enqueue_ns);
  std::printf(
      "start-up (wall / CPU): open %.3f / %.3f s, load daily %.3f / %.3f s, load journals "
      "%.3f / %.3f s; the writer's quick_check after open %.3f s wall\n",
      open_s, open_cpu, daily_load_s, daily_load_cpu, journal_load_s, journal_load_cpu, check_s);
  return 0;
}
