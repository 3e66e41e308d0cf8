// Memory of the daemon with 10,000 checks whose failure journals are full
// (global.journal_entries = 50 entries each, 500,000 entries in all), with
// the store on disk and memory-only: RSS when every journal holds one entry
// and when every journal is full, and the store file's size. The figures in
// docs/failure-journal.md come from this test.
//
// Slow (every check must fail 50 times: about a minute per mode at 10,000
// checks a second) and heavy: it runs only with HX_JOURNAL_MEMORY_TEST=1.
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

std::string Config(const ClosedPort& closed) {
  std::string yaml =
      "global:\n  interval: 1s\n  timeout: 900ms\n  startup_spread: 1s\n"
      "  journal_entries: 50\nchecks:\n";
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
  long rss_one_kib = 0;
  long rss_full_kib = 0;
  long hwm_kib = 0;
  uintmax_t file_bytes = 0;
};

Figures Measure(bool memory_only) {
  ClosedPort closed;
  TempDir storage;
  if (memory_only) fs::create_directories(storage.path() + "/health_exporter.db");  // unopenable
  DaemonProcess daemon(Config(closed), {"--storage.path=" + storage.path()});
  EXPECT_TRUE(daemon.started()) << daemon.Logs().substr(0, 2000);
  Figures figures;
  if (!daemon.started()) return figures;
  EXPECT_TRUE(WaitForJournals(daemon, 1, 120s));
  std::this_thread::sleep_for(2s);
  figures.rss_one_kib = ProcKib(daemon.pid(), "VmRSS");
  EXPECT_TRUE(WaitForJournals(daemon, kEntries, 600s));
  std::this_thread::sleep_for(3s);
  // A few readers, as an operator looking at panels would be.
  for (int i = 0; i < 20; ++i) HttpRequest(daemon.Url("/check/" + Name(i * 499)));
  figures.rss_full_kib = ProcKib(daemon.pid(), "VmRSS");
  figures.hwm_kib = ProcKib(daemon.pid(), "VmHWM");
  EXPECT_EQ(daemon.Stop(SIGTERM, 60s), 0);
  if (!memory_only) {
    for (const auto& entry : fs::directory_iterator(storage.path())) {
      if (entry.path().filename().string().starts_with("health_exporter.db")) {
        figures.file_bytes += entry.file_size();
      }
    }
  }
  std::cout << (memory_only ? "memory-only" : "persistent") << ": RSS with 1 entry per check "
            << figures.rss_one_kib / 1024 << " MiB, with " << kEntries << " per check "
            << figures.rss_full_kib / 1024 << " MiB (peak " << figures.hwm_kib / 1024
            << " MiB); store file " << figures.file_bytes / (1024 * 1024) << " MiB" << std::endl;
  return figures;
}

TEST(JournalMemoryTest, TenThousandChecksWithFullJournals) {
  if (std::getenv("HX_JOURNAL_MEMORY_TEST") == nullptr) {
    GTEST_SKIP() << "slow: set HX_JOURNAL_MEMORY_TEST=1";
  }
  const Figures persistent = Measure(/*memory_only=*/false);
  // On disk the journal costs the daemon nothing but SQLite's page caches:
  // full journals within 32 MiB of journals one entry deep.
  EXPECT_LT(persistent.rss_full_kib - persistent.rss_one_kib, 32 * 1024);
  const Figures memory = Measure(/*memory_only=*/true);
  // Memory-only keeps every entry in an in-memory database: about 250 bytes
  // an entry without body excerpts (docs/failure-journal.md).
  EXPECT_LT(memory.rss_full_kib - memory.rss_one_kib, 200 * 1024);
}

}  // namespace
}  // namespace hx
