#include "util/quote.h"

#include <gtest/gtest.h>

#include <string>

namespace hx {
namespace {

TEST(QuoteTest, QuoteKeepsTheTextAsItIs) { EXPECT_EQ(Quote("a \"b\""), "\"a \"b\"\""); }

TEST(QuoteEscapedTest, PrintableAsciiIsShownAsItIs) {
  EXPECT_EQ(QuoteEscaped("220 mail.example ESMTP"), "\"220 mail.example ESMTP\"");
  EXPECT_EQ(QuoteEscaped(""), "\"\"");
}

TEST(QuoteEscapedTest, QuotesBackslashesAndControlsCannotBreakTheLine) {
  EXPECT_EQ(QuoteEscaped("500 go away\r\n"), R"("500 go away\r\n")");
  EXPECT_EQ(QuoteEscaped("a\"b\\c\td"), R"("a\"b\\c\td")");
  EXPECT_EQ(QuoteEscaped(std::string("\0\x1b\x7f", 3)), R"("\x00\x1b\x7f")");
}

TEST(QuoteEscapedTest, BytesFromOutsideAsciiAreEscaped) {
  EXPECT_EQ(QuoteEscaped("gr\xc3\xbc\xc3\x9f"), R"("gr\xc3\xbc\xc3\x9f")");
}

TEST(QuoteEscapedTest, LongTextIsCutAfterMaxChars) {
  EXPECT_EQ(QuoteEscaped("abcdef", 3), "\"abc\"...");
  EXPECT_EQ(QuoteEscaped("abc", 3), "\"abc\"");
  EXPECT_EQ(QuoteEscaped(std::string(100, 'x')), "\"" + std::string(64, 'x') + "\"...");
}

}  // namespace
}  // namespace hx
