#include "checks/common/status_code_set.h"

#include <gtest/gtest.h>

namespace hx {
namespace {

StatusCodeSet MustParse(const std::vector<std::string>& items) {
  std::string error;
  auto set = StatusCodeSet::Parse(items, &error);
  EXPECT_TRUE(set.has_value()) << error;
  return set.value_or(StatusCodeSet());
}

std::string ParseError(std::string_view item) {
  std::string error;
  EXPECT_FALSE(StatusCodeSet::ParseItem(item, &error).has_value()) << item;
  return error;
}

TEST(StatusCodeSetTest, ExactCodeMatchesOnlyItself) {
  const StatusCodeSet set = MustParse({"301"});
  EXPECT_TRUE(set.Contains(301));
  EXPECT_FALSE(set.Contains(300));
  EXPECT_FALSE(set.Contains(302));
}

TEST(StatusCodeSetTest, ClassCoversItsHundred) {
  const StatusCodeSet set = MustParse({"2xx"});
  EXPECT_TRUE(set.Contains(200));
  EXPECT_TRUE(set.Contains(299));
  EXPECT_FALSE(set.Contains(199));
  EXPECT_FALSE(set.Contains(300));
}

TEST(StatusCodeSetTest, ClassIsCaseInsensitiveAndNormalised) {
  auto range = StatusCodeSet::ParseItem("4XX", nullptr);
  ASSERT_TRUE(range);
  EXPECT_EQ(range->low, 400);
  EXPECT_EQ(range->high, 499);
  EXPECT_EQ(range->text, "4xx");
}

TEST(StatusCodeSetTest, RangeIsInclusive) {
  const StatusCodeSet set = MustParse({"200-204"});
  EXPECT_TRUE(set.Contains(200));
  EXPECT_TRUE(set.Contains(204));
  EXPECT_FALSE(set.Contains(205));
  EXPECT_FALSE(set.Contains(199));
}

TEST(StatusCodeSetTest, RangeMayHaveSpacesAroundTheDash) {
  auto range = StatusCodeSet::ParseItem(" 200 - 299 ", nullptr);
  ASSERT_TRUE(range);
  EXPECT_EQ(range->text, "200-299");
}

TEST(StatusCodeSetTest, ListMatchesAnyItem) {
  const StatusCodeSet set = MustParse({"2xx", "301", "400-403"});
  EXPECT_TRUE(set.Contains(204));
  EXPECT_TRUE(set.Contains(301));
  EXPECT_TRUE(set.Contains(403));
  EXPECT_FALSE(set.Contains(302));
  EXPECT_FALSE(set.Contains(404));
  EXPECT_EQ(set.ToString(), "2xx, 301, 400-403");
}

TEST(StatusCodeSetTest, EmptySetMatchesNothing) {
  const StatusCodeSet set;
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.Contains(200));
  EXPECT_EQ(set.ToString(), "");
}

TEST(StatusCodeSetTest, RejectsMalformedItems) {
  EXPECT_EQ(ParseError("abc"), "invalid status code \"abc\" (use e.g. 200, 2xx or 200-299)");
  EXPECT_EQ(ParseError("20x"), "invalid status code \"20x\" (use e.g. 200, 2xx or 200-299)");
  EXPECT_EQ(ParseError("6xx"), "invalid status code \"6xx\" (use e.g. 200, 2xx or 200-299)");
  EXPECT_EQ(ParseError(""), "invalid status code \"\" (use e.g. 200, 2xx or 200-299)");
  EXPECT_EQ(ParseError("200-"), "invalid status code \"200-\" (use e.g. 200, 2xx or 200-299)");
  EXPECT_EQ(ParseError("2000"), "invalid status code \"2000\" (use e.g. 200, 2xx or 200-299)");
}

TEST(StatusCodeSetTest, RejectsCodesOutsideHttpRange) {
  EXPECT_EQ(ParseError("600"), "status code 600 is out of range 100-599");
  EXPECT_EQ(ParseError("99"), "status code 99 is out of range 100-599");
  EXPECT_EQ(ParseError("200-700"), "status code 700 is out of range 100-599");
}

TEST(StatusCodeSetTest, RejectsEmptyRange) {
  EXPECT_EQ(ParseError("300-200"), "status code range 300-200 is empty (low end above high end)");
}

TEST(StatusCodeSetTest, ParseFailsOnFirstBadItem) {
  std::string error;
  EXPECT_FALSE(StatusCodeSet::Parse({"200", "nope", "7xx"}, &error));
  EXPECT_EQ(error, "invalid status code \"nope\" (use e.g. 200, 2xx or 200-299)");
}

}  // namespace
}  // namespace hx
