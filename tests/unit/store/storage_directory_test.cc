// CheckStorageDirectory: the daemon's start-up check of --storage.path (moved
// here from HeartbeatStore::CheckDirectory with the same messages).

#include "store/storage_directory.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "support/daemon_process.h"

namespace hx::store {
namespace {

namespace fs = std::filesystem;

TEST(StorageDirectoryTest, CreatesAMissingDirectoryAndLeavesNothingInIt) {
  TempDir dir;
  const std::string state_dir = dir.path() + "/a/b";
  EXPECT_EQ(CheckStorageDirectory(state_dir), std::nullopt);
  ASSERT_TRUE(fs::is_directory(state_dir));
  EXPECT_TRUE(fs::is_empty(state_dir)) << "the write test is removed";
  EXPECT_EQ(CheckStorageDirectory(state_dir), std::nullopt) << "an existing one is fine";
}

TEST(StorageDirectoryTest, NamesThePathAndTheReason) {
  // Root-proof cases (root writes through any mode bits); the read-only
  // mount is in tests/integration/daemon_test.cc.
  TempDir dir;
  const std::string file = dir.Write("file", "x");
  EXPECT_EQ(CheckStorageDirectory(file), "\"" + file + "\" is not a directory");
  EXPECT_EQ(CheckStorageDirectory(file + "/state"),
            "cannot create \"" + file + "/state\": Not a directory");
  // A directory this process cannot write in (only testable without root).
  if (geteuid() != 0) {
    const std::string locked = dir.path() + "/locked";
    fs::create_directory(locked);
    chmod(locked.c_str(), 0500);
    EXPECT_EQ(CheckStorageDirectory(locked),
              "cannot write in \"" + locked + "\": Permission denied");
  }
}

}  // namespace
}  // namespace hx::store
