// Redactor: the one masking of `global.redact` patterns (failure journal,
// debug-run trace).

#include "util/redactor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <re2/re2.h>

namespace hx {
namespace {

std::shared_ptr<const re2::RE2> Re(const std::string& pattern) {
  return std::make_shared<const re2::RE2>(pattern);
}

TEST(RedactorTest, ReplacesEveryMatchOfEveryPattern) {
  Redactor redactor({Re(R"(token=[^&\s]+)"), Re(R"(sk_live_[A-Za-z0-9]+)")});
  EXPECT_EQ(redactor.Redact("a token=abc&b=1 token=zz x"), "a <redacted>&b=1 <redacted> x");
  EXPECT_EQ(redactor.Redact("key sk_live_1234 and sk_live_99"), "key <redacted> and <redacted>");
  EXPECT_EQ(redactor.Redact("nothing here"), "nothing here");
  EXPECT_EQ(redactor.size(), 2u);
}

TEST(RedactorTest, LaterPatternsSeeEarlierMasks) {
  Redactor redactor({Re("secret"), Re("<redacted>-[0-9]+")});
  EXPECT_EQ(redactor.Redact("secret-42"), "<redacted>");
}

TEST(RedactorTest, EmptyMatchesMaskNothing) {
  // `x*` matches the empty string everywhere; only its real matches go.
  Redactor redactor({Re("x*")});
  EXPECT_EQ(redactor.Redact("abxxc"), "ab<redacted>c");
  EXPECT_EQ(redactor.Redact(""), "");
}

TEST(RedactorTest, AnchorsKeepTheirMeaning) {
  Redactor redactor({Re("^Bearer \\S+")});
  EXPECT_EQ(redactor.Redact("Bearer abc def Bearer ghi"), "<redacted> def Bearer ghi");
}

TEST(RedactorTest, BytesOutsideMatchesAreKept) {
  Redactor redactor({Re("pw=\\w+")});
  const std::string text = std::string("\xff\x00 pw=abc \xfe", 11);
  EXPECT_EQ(redactor.Redact(text), std::string("\xff\x00 <redacted> \xfe", 15));
}

TEST(RedactorTest, InPlaceAndEmpty) {
  Redactor none({});
  EXPECT_TRUE(none.empty());
  std::string text = "token=1";
  none.RedactInPlace(text);
  EXPECT_EQ(text, "token=1");
  Redactor one({Re("token=\\d"), nullptr});
  one.RedactInPlace(text);
  EXPECT_EQ(text, "<redacted>");
  EXPECT_EQ(one.size(), 1u);
}

TEST(RedactPatternProblemTest, NamesWhatIsWrong) {
  re2::RE2::Options quiet;
  quiet.set_log_errors(false);
  EXPECT_EQ(RedactPatternProblem(re2::RE2("token=\\S+", quiet)), "");
  EXPECT_EQ(RedactPatternProblem(re2::RE2("(abc", quiet)),
            "invalid regular expression: missing ): (abc");
  EXPECT_EQ(RedactPatternProblem(re2::RE2("a*", quiet)),
            "matches the empty string: a redact pattern must match the secret itself");
}

}  // namespace
}  // namespace hx
