#include "util/file_reader.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "support/daemon_process.h"

namespace hx {
namespace {

using namespace std::chrono_literals;

TEST(FileReaderTest, ReadsARegularFileWhole) {
  TempDir dir;
  const std::string content = "checks:\n  - name: a\n" + std::string(200 * 1024, '#') + "\n";
  const std::string path = dir.Write("c.yml", content);
  std::string error;
  auto read = ReadBoundedFile(path, kMaxConfigFileBytes, &error);
  ASSERT_TRUE(read) << error;
  EXPECT_EQ(*read, content);
}

TEST(FileReaderTest, ExactlyTheLimitIsReadOneByteMoreIsRefused) {
  TempDir dir;
  std::string error;
  const std::string at_limit = dir.Write("at", std::string(1000, 'x'));
  auto read = ReadBoundedFile(at_limit, 1000, &error);
  ASSERT_TRUE(read) << error;
  EXPECT_EQ(read->size(), 1000u);
  const std::string over = dir.Write("over", std::string(1001, 'x'));
  EXPECT_FALSE(ReadBoundedFile(over, 1000, &error));
  EXPECT_EQ(error, "larger than 1000 bytes");
}

TEST(FileReaderTest, AHugeSparseFileIsRefusedWithoutReadingIt) {
  // 3 GB claimed by the size, none of it on disk: refused from fstat alone,
  // quickly and without touching 3 GB of memory.
  TempDir dir;
  const std::string path = dir.path() + "/huge.yml";
  ASSERT_EQ(truncate(dir.Write("huge.yml", "").c_str(), 3LL * 1024 * 1024 * 1024), 0);
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(ReadBoundedFile(path, kMaxConfigFileBytes, &error));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(error, "larger than 16 MiB");
}

TEST(FileReaderTest, AFileThatClaimsNoSizeIsStillBounded) {
  // /proc files claim size 0 and are read until their end...
  std::string error;
  auto stat = ReadBoundedFile("/proc/self/stat", 64 * 1024, &error);
  ASSERT_TRUE(stat) << error;
  EXPECT_NE(stat->find(std::to_string(getpid())), std::string::npos);
  // ...and a small limit holds for them too.
  EXPECT_FALSE(ReadBoundedFile("/proc/self/maps", 16, &error));
  EXPECT_EQ(error, "larger than 16 bytes");
}

TEST(FileReaderTest, DevicesAreRefusedBeforeAnyRead) {
  std::string error;
  EXPECT_FALSE(ReadBoundedFile("/dev/zero", kMaxConfigFileBytes, &error));
  EXPECT_EQ(error, "a character device, not a regular file");
  EXPECT_FALSE(ReadBoundedFile("/dev/null", kMaxConfigFileBytes, &error));
  EXPECT_EQ(error, "a character device, not a regular file");
  // A symlink to one is judged by its target.
  TempDir dir;
  const std::string link = dir.path() + "/zero.yml";
  ASSERT_EQ(symlink("/dev/zero", link.c_str()), 0);
  EXPECT_FALSE(ReadBoundedFile(link, kMaxConfigFileBytes, &error));
  EXPECT_EQ(error, "a character device, not a regular file");
}

TEST(FileReaderTest, AFifoWithoutWriterIsRefusedAtOnce) {
  // Without O_NONBLOCK, open() would wait for a writer forever.
  TempDir dir;
  const std::string fifo = dir.path() + "/config.yml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(ReadBoundedFile(fifo, kMaxConfigFileBytes, &error));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(error, "a FIFO, not a regular file");
}

TEST(FileReaderTest, DirectoriesAndSocketsAreRefused) {
  TempDir dir;
  std::string error;
  EXPECT_FALSE(ReadBoundedFile(dir.path(), kMaxConfigFileBytes, &error));
  EXPECT_EQ(error, "a directory, not a regular file");

  const std::string path = dir.path() + "/s.sock";
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof address.sun_path);
  path.copy(address.sun_path, path.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_FALSE(ReadBoundedFile(path, kMaxConfigFileBytes, &error));
  // open() of a socket fails in the kernel before fstat could look.
  EXPECT_EQ(error, "No such device or address");
  close(fd);
}

TEST(FileReaderTest, SystemErrorsAreTheSystemsMessage) {
  TempDir dir;
  std::string error;
  EXPECT_FALSE(ReadBoundedFile(dir.path() + "/missing.yml", kMaxConfigFileBytes, &error));
  EXPECT_EQ(error, "No such file or directory");
  EXPECT_FALSE(ReadBoundedFile(dir.path() + "/missing/x.yml", kMaxConfigFileBytes, &error));
  EXPECT_EQ(error, "No such file or directory");
}

TEST(FileReaderTest, ReportsTheModeOfWhatItOpened) {
  TempDir dir;
  const std::string path = dir.Write("secret", "pw\n");
  ASSERT_EQ(chmod(path.c_str(), 0604), 0);
  std::string error;
  unsigned mode = 0;
  ASSERT_TRUE(ReadBoundedFile(path, 100, &error, &mode)) << error;
  EXPECT_TRUE(S_ISREG(mode));
  EXPECT_EQ(mode & 07777, 0604u);
}

TEST(FileReaderTest, LimitsAreWrittenAsPeopleWriteThem) {
  EXPECT_EQ(FormatByteLimit(16 * 1024 * 1024), "16 MiB");
  EXPECT_EQ(FormatByteLimit(64 * 1024), "64 KiB");
  EXPECT_EQ(FormatByteLimit(1536), "1536 bytes");
  EXPECT_EQ(FormatByteLimit(1), "1 byte");
}

}  // namespace
}  // namespace hx
