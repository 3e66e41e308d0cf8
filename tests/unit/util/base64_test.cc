#include "util/base64.h"

#include <gtest/gtest.h>

namespace hx {
namespace {

TEST(Base64Test, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    const std::string text = Base64(bytes);
    EXPECT_EQ(text.size(), (bytes.size() + 2) / 3 * 4);
    if (!bytes.empty()) EXPECT_EQ(Base64Decode(text), bytes) << text;
    bytes += static_cast<char>(i * 37);
  }
  EXPECT_EQ(Base64("alice:correct horse"), "YWxpY2U6Y29ycmVjdCBob3JzZQ==");
  EXPECT_EQ(Base64Decode("YWxpY2U6Y29ycmVjdCBob3JzZQ=="), "alice:correct horse");
  EXPECT_EQ(Base64Decode("YTpi"), "a:b");
  EXPECT_EQ(Base64Decode("YTo="), "a:");
  EXPECT_EQ(Base64Decode("YQ=="), "a");
}

TEST(Base64Test, RefusesWhatIsNotBase64) {
  for (const char* bad : {"", "YQ=", "YQ", "Y===", "====", "YQ==YQ==", "Y Q=", "YQ*=", " YQ=",
                          "YQ= ", "\nYQ=", "YTpi\n", "YTpi===="}) {
    EXPECT_EQ(Base64Decode(bad), std::nullopt) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace hx
