#include "config/secret_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "support/daemon_process.h"

namespace hx::config {
namespace {

TEST(SecretFileTest, ReadsTheContentWithoutTrailingNewlines) {
  TempDir dir;
  const std::string path = dir.Write("db.pass", "s3cret with spaces\r\n\n");
  std::string error;
  auto secret = ReadSecretFile(path, "password", &error);
  ASSERT_TRUE(secret) << error;
  EXPECT_EQ(*secret, "s3cret with spaces");
}

TEST(SecretFileTest, EmptyFileIsReturnedForTheCallerToJudge) {
  TempDir dir;
  std::string error;
  auto secret = ReadSecretFile(dir.Write("empty", "\n"), "token", &error);
  ASSERT_TRUE(secret);
  EXPECT_EQ(*secret, "");
}

TEST(SecretFileTest, ErrorsNameThePathNeverTheContent) {
  TempDir dir;
  std::string error;
  EXPECT_FALSE(ReadSecretFile(dir.path() + "/missing", "password", &error));
  EXPECT_EQ(error, "cannot read password file \"" + dir.path() + "/missing\": No such file or directory");
  EXPECT_FALSE(ReadSecretFile(dir.path(), "token", &error));
  EXPECT_EQ(error,
            "cannot read token file \"" + dir.path() + "\": a directory, not a regular file");
  const std::string big = dir.Write("big", std::string(kMaxSecretFileBytes + 1, 'x'));
  EXPECT_FALSE(ReadSecretFile(big, "password", &error));
  EXPECT_EQ(error, "cannot read password file \"" + big + "\": larger than 64 KiB");
  EXPECT_EQ(error.find("xxxx"), std::string::npos);
}

TEST(SecretFileTest, AFifoOrADeviceIsRefusedAtOnce) {
  // Opening a FIFO without a writer used to wait forever, holding the reload.
  TempDir dir;
  const std::string fifo = dir.path() + "/token";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string error;
  EXPECT_FALSE(ReadSecretFile(fifo, "token", &error));
  EXPECT_EQ(error, "cannot read token file \"" + fifo + "\": a FIFO, not a regular file");
  EXPECT_FALSE(ReadSecretFile("/dev/zero", "password", &error));
  EXPECT_EQ(error,
            "cannot read password file \"/dev/zero\": a character device, not a regular file");
}

TEST(SecretFileTest, WorldReadableFileIsStillRead) {
  // The warning is logged; reading must not fail because of it.
  TempDir dir;
  const std::string path = dir.Write("open.pass", "pw");
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  std::string error;
  auto secret = ReadSecretFile(path, "password", &error);
  ASSERT_TRUE(secret) << error;
  EXPECT_EQ(*secret, "pw");
}

}  // namespace
}  // namespace hx::config
