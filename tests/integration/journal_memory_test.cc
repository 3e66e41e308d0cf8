// Memory of the daemon with 10,000 checks whose failure journals are full
// (global.journal_entries = 50 entries each, 500,000 entries in all), with
// the store on disk and memory-only, against the same run with one entry per
// check; and the store file's size. The figures in docs/failure-journal.md
// come from this test.
//
// Slow (every check must fail 50 times: about a minute per mode at 10,000
// checks a second, four runs) and heavy: it runs only with HX_JOURNAL_MEMORY_TEST=1.
//   HX_JOURNAL_MEMORY_TEST=1 build/tests/integration_journal_memory_test

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/daemon_process.h"
#include "support/fault_servers.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr int kChecks = 10'000;
constexpr size_t kEntries = 50;

std::string Name(int i) {
  char name[16];
  std::snprintf(name, sizeof(name), "c-%05d", i);
  return name;
}

std::string Config(const ClosedPort& closed, size_t journal_entries) {
  std::string yaml =
      "global:\n  interval: 1s\n  timeout: 900ms\n  startup_spread: 1s\n"
      "  journal_entries: " +
      std::to_string(journal_entries) + "\nchecks:\n";
  for (int i = 0; i < kChecks; ++i) {
    yaml += "  - name: " + Name(i) + "\n    tcp: {address: \"" + closed.address() + "\"}\n";
  }
  return yaml;
}

// VmRSS or VmHWM of `pid` in KiB.
long ProcKib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

size_t JournalSize(const DaemonProcess& daemon, const std::string& check) {
  const HttpReply reply = HttpRequest(daemon.Url("/status/" + check));
  const json doc = json::parse(reply.body, nullptr, false);
  return doc.is_object() ? doc["journal"].size() : 0;
}

// Waits until the sampled checks' journals hold at least `n` entries.
bool WaitForJournals(const DaemonProcess& daemon, size_t n, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (int i : {0, 1234, 5000, 8765, kChecks - 1}) all = all && JournalSize(daemon, Name(i)) >= n;
    if (all) return true;
    std::this_thread::sleep_for(1s);
  }
  return false;
}

struct Figures {
  long rss_kib = 0;
  long hwm_kib = 0;
  uintmax_t file_bytes = 0;
  std::chrono::seconds ran{0};
};

// Runs 10,000 always-failing checks until every journal holds
// `journal_entries` entries and at least `at_least` has passed, then reads
// the daemon's memory. The same run with journal_entries = 1 for as long is
// the baseline: everything but the journal's depth is the same (the board's
// 20-result history, the store's writes and pruning, the scheduler).
Figures Measure(bool memory_only, size_t journal_entries, std::chrono::seconds at_least) {
  ClosedPort closed;
  TempDir storage;
  if (memory_only) fs::create_directories(storage.path() + "/health_exporter.db");  // unopenable
  const auto start = std::chrono::steady_clock::now();
  DaemonProcess daemon(Config(closed, journal_entries), {"--storage.path=" + storage.path()});
  EXPECT_TRUE(daemon.started()) << daemon.Logs().substr(0, 2000);
  Figures figures;
  if (!daemon.started()) return figures;
  EXPECT_TRUE(WaitForJournals(daemon, journal_entries, 600s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  if (elapsed < at_least) std::this_thread::sleep_for(at_least - elapsed);
  // A few readers, as an operator looking at panels would be.
  for (int i = 0; i < 20; ++i) HttpRequest(daemon.Url("/check/" + Name(i * 499)));
  figures.ran =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  figures.rss_kib = ProcKib(daemon.pid(), "VmRSS");
  figures.hwm_kib = ProcKib(daemon.pid(), "VmHWM");
  EXPECT_EQ(daemon.Stop(SIGTERM, 60s), 0);
  if (!memory_only) {
    for (const auto& entry : fs::directory_iterator(storage.path())) {
      if (entry.path().filename().string().starts_with("health_exporter.db")) {
        figures.file_bytes += entry.file_size();
      }
    }
  }
  std::cout << (memory_only ? "memory-only" : "persistent") << ", " << journal_entries
            << " entries per check, after " << figures.ran.count() << " s: RSS "
            << figures.rss_kib / 1024 << " MiB (peak " << figures.hwm_kib / 1024
            << " MiB); store file " << figures.file_bytes / (1024 * 1024) << " MiB" << std::endl;
  return figures;
}

TEST(JournalMemoryTest, TenThousandChecksWithFullJournals) {
  if (std::getenv("HX_JOURNAL_MEMORY_TEST") == nullptr) {
    GTEST_SKIP() << "slow: set HX_JOURNAL_MEMORY_TEST=1";
  }
  for (bool memory_only : {false, true}) {
    const Figures full = Measure(memory_only, kEntries, 0s);
    const Figures shallow = Measure(memory_only, 1, full.ran);
    const long journal_kib = full.rss_kib - shallow.rss_kib;
    std::cout << (memory_only ? "memory-only" : "persistent")
              << ": 500,000 journal entries cost the daemon " << journal_kib / 1024 << " MiB of RSS"
              << std::endl;
    // On disk the journal costs the daemon only SQLite's page caches;
    // memory-only keeps every entry in an in-memory database (about 250
    // bytes an entry without body excerpts; docs/failure-journal.md).
    EXPECT_LT(journal_kib, (memory_only ? 200 : 32) * 1024);
  }
}

}  // namespace
}  // namespace hx
