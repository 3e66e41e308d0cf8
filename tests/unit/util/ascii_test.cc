#include "util/ascii.h"

#include <gtest/gtest.h>

namespace hx {
namespace {

TEST(AsciiTest, TrimOwsDropsOnlySpacesAndTabs) {
  EXPECT_EQ(TrimOws(" \t gzip;q=0.5 \t"), "gzip;q=0.5");
  EXPECT_EQ(TrimOws("\r\nvalue\n"), "\r\nvalue\n");
  EXPECT_EQ(TrimOws(" \t "), "");
  EXPECT_EQ(TrimOws(""), "");
}

TEST(AsciiTest, TrimSpaceDropsEveryAsciiWhitespace) {
  EXPECT_EQ(TrimSpace(" \t\r\n\v\fOK - load 0.5\n"), "OK - load 0.5");
  EXPECT_EQ(TrimSpace("a b"), "a b");
  EXPECT_EQ(TrimSpace("\n\n"), "");
}

TEST(AsciiTest, LowerAndCompareFoldOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLower("Content-Type: TEXT/Plain; Ä"), "content-type: text/plain; Ä");
  EXPECT_TRUE(EqualsIgnoreAsciiCase("Transfer-Encoding", "transfer-ENCODING"));
  EXPECT_FALSE(EqualsIgnoreAsciiCase("gzip", "gzip "));
  EXPECT_FALSE(EqualsIgnoreAsciiCase("[", "{"));  // 0x5b and 0x7b differ by 0x20 but are not letters
  EXPECT_TRUE(EqualsIgnoreAsciiCase("", ""));
}

TEST(AsciiTest, IsAsciiDigitsWantsOnlyDigitsAndAtLeastOne) {
  EXPECT_TRUE(IsAsciiDigits("0"));
  EXPECT_TRUE(IsAsciiDigits("65535"));
  EXPECT_FALSE(IsAsciiDigits(""));
  EXPECT_FALSE(IsAsciiDigits("+1"));
  EXPECT_FALSE(IsAsciiDigits("1 "));
  EXPECT_FALSE(IsAsciiDigits("2xx"));
  EXPECT_FALSE(IsAsciiDigits("\xd9\xa3"));  // ARABIC-INDIC DIGIT THREE is no ASCII digit
}

}  // namespace
}  // namespace hx
