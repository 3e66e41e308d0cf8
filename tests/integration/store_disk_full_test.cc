// Store on a really full disk: a 2 MiB tmpfs (needs root, as the tests run
// here; skipped where mounting is not allowed). Writes fail with ENOSPC in
// the middle of the run; the batch is rolled back, counted and logged, the
// store stays on its file, what was committed stays readable and the file
// stays consistent, and writes resume once space is freed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "store/store.h"
#include "support/daemon_process.h"
#include "util/log.h"

namespace hx::store {
namespace {

using ::testing::HasSubstr;

JournalEntry Entry(int check, int i) {
  JournalEntry e;
  e.check = "check-" + std::to_string(check);
  e.time = 1'765'000'000.0 + i;
  e.state = "unhealthy";
  e.reason = "http_status";
  e.detail = "HTTP 503";
  e.body_excerpt = std::string(512, static_cast<char>('a' + i % 26));
  e.attempt_id = static_cast<uint64_t>(i);
  return e;
}

// A tmpfs of `bytes` at a fresh directory, unmounted at the end.
class SmallDisk {
 public:
  explicit SmallDisk(size_t bytes) {
    const std::string options = "size=" + std::to_string(bytes);
    if (mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) != 0) {
      error_ = std::strerror(errno);
    }
  }
  ~SmallDisk() {
    if (error_.empty()) umount2(dir_.path().c_str(), MNT_DETACH);
  }
  const std::string& path() const { return dir_.path(); }
  const std::string& error() const { return error_; }

 private:
  TempDir dir_;
  std::string error_;
};

TEST(StoreDiskFullTest, ENOSPCMidRunIsCountedLoggedAndSurvived) {
  SmallDisk disk(2 * 1024 * 1024);
  if (!disk.error().empty()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  const std::string filler = disk.path() + "/filler";
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string block(64 * 1024, 'f');
    for (int i = 0; i < 20; ++i)
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  StoreOptions options;
  options.dir = disk.path() + "/state";
  options.flush_interval = std::chrono::milliseconds(10);
  options.batch_max = 100;
  options.journal_per_check = 1'000;
  options.log_interval = std::chrono::seconds(0);
  auto store = Store::Open(options);
  ASSERT_EQ(store->mode(), StoreMode::kPersistent) << store->problem();
  for (int i = 0; i < 20; ++i) store->AppendJournal(Entry(0, i));
  ASSERT_TRUE(store->Flush());

  log::Init(spdlog::level::info, log::Format::kLogfmt);
  ::testing::internal::CaptureStderr();
  int written = 20;
  while (store->stats().failed == 0 && written < 20'000) {
    for (int i = 0; i < 100; ++i, ++written) store->AppendJournal(Entry(1 + written % 7, written));
    store->Flush();
  }
  const std::string logs = ::testing::internal::GetCapturedStderr();
  ASSERT_GT(store->stats().failed, 0u) << "the disk never filled";
  EXPECT_THAT(logs, HasSubstr("store writes failed and were rolled back"));
  EXPECT_THAT(logs, HasSubstr("database or disk is full"));
  EXPECT_EQ(store->mode(), StoreMode::kPersistent);
  EXPECT_EQ(store->Journal("check-0").size(), 20u) << "committed rows are still there";

  // Space comes back: the same store writes again, no restart.
  std::filesystem::remove(filler);
  const uint64_t failed = store->stats().failed;
  store->AppendJournal(Entry(0, 99'999));
  EXPECT_TRUE(store->Flush());
  EXPECT_EQ(store->stats().failed, failed);
  EXPECT_EQ(store->Journal("check-0", 1).at(0).attempt_id, 99'999u);
  store.reset();

  store = Store::Open(options);
  EXPECT_EQ(store->mode(), StoreMode::kPersistent) << store->problem();
  store->Flush();
  EXPECT_EQ(store->problem(), "");
  EXPECT_EQ(store->IntegrityCheck(), "ok");
  EXPECT_EQ(store->Journal("check-0").size(), 21u);
}

}  // namespace
}  // namespace hx::store
