// Parsing of Nagios plugin output and perfdata; table-driven.

#include "checks/exec/perfdata.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hx {
namespace {

constexpr double kKi = 1024.0;

struct Expected {
  std::string label;
  double value;
  PerfUnit unit;
};

struct PerfCase {
  std::string name;
  std::string text;
  std::vector<Expected> items;
};

std::string Describe(const std::vector<PerfDataItem>& items) {
  std::string out;
  for (const PerfDataItem& item : items) {
    out += "[" + item.label + "=" + std::to_string(item.value) + " unit " +
           std::to_string(static_cast<int>(item.unit)) + "] ";
  }
  return out;
}

class PerfDataTableTest : public ::testing::TestWithParam<PerfCase> {};

TEST_P(PerfDataTableTest, Parses) {
  const PerfCase& c = GetParam();
  const std::vector<PerfDataItem> items = ParsePerfData(c.text);
  ASSERT_EQ(items.size(), c.items.size()) << Describe(items);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].label, c.items[i].label) << i;
    EXPECT_DOUBLE_EQ(items[i].value, c.items[i].value) << items[i].label;
    EXPECT_EQ(items[i].unit, c.items[i].unit) << items[i].label;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, PerfDataTableTest,
    ::testing::Values(
        PerfCase{"Empty", "", {}}, PerfCase{"OnlySpaces", "  \t\n ", {}},
        PerfCase{"PlainNumber", "users=3", {{"users", 3, PerfUnit::kNone}}},
        PerfCase{"Thresholds", "load1=0.120;5.000;10.000;0;", {{"load1", 0.12, PerfUnit::kNone}}},
        PerfCase{"SeveralItems",
                 "load1=0.1;5;10;0; load5=0.2;4;8;0;  load15=0.3;3;6;0;",
                 {{"load1", 0.1, PerfUnit::kNone},
                  {"load5", 0.2, PerfUnit::kNone},
                  {"load15", 0.3, PerfUnit::kNone}}},
        PerfCase{"Seconds", "time=0.25s;;;0", {{"time", 0.25, PerfUnit::kSeconds}}},
        PerfCase{"Milliseconds", "rta=12.5ms", {{"rta", 0.0125, PerfUnit::kSeconds}}},
        PerfCase{"Microseconds", "t=250us", {{"t", 0.00025, PerfUnit::kSeconds}}},
        PerfCase{"Percent", "pl=40%;20;60;0;100", {{"pl", 40, PerfUnit::kPercent}}},
        PerfCase{
            "Bytes", "/=18530435072B;0;0;0;270552530944", {{"/", 18530435072.0, PerfUnit::kBytes}}},
        PerfCase{"KilobytesAre1024", "mem=2KB", {{"mem", 2 * kKi, PerfUnit::kBytes}}},
        PerfCase{"Megabytes", "/var=1.5MB", {{"/var", 1.5 * kKi* kKi, PerfUnit::kBytes}}},
        PerfCase{"Gigabytes", "g=3GB", {{"g", 3 * kKi* kKi* kKi, PerfUnit::kBytes}}},
        PerfCase{"Terabytes", "t=1TB", {{"t", kKi* kKi* kKi* kKi, PerfUnit::kBytes}}},
        PerfCase{"Mebibytes", "m=1MiB", {{"m", kKi* kKi, PerfUnit::kBytes}}},
        PerfCase{"Counter", "in_octets=123456c", {{"in_octets", 123456, PerfUnit::kCounter}}},
        PerfCase{"UnknownUnitKeepsNumber", "temp=21.5C", {{"temp", 21.5, PerfUnit::kOther}}},
        PerfCase{"Negative", "offset=-0.5s", {{"offset", -0.5, PerfUnit::kSeconds}}},
        PerfCase{"ExplicitPlus", "x=+7", {{"x", 7, PerfUnit::kNone}}},
        PerfCase{"LeadingDot", "x=.5", {{"x", 0.5, PerfUnit::kNone}}},
        PerfCase{"Exponent", "x=1.5e3ms", {{"x", 1.5, PerfUnit::kSeconds}}},
        PerfCase{"HugeFiniteNumber", "x=99999999999999999999999", {{"x", 1e23, PerfUnit::kNone}}},
        PerfCase{"OverflowIsSkipped", "x=1e400 y=1", {{"y", 1, PerfUnit::kNone}}},
        PerfCase{"OverflowAfterUnitIsSkipped", "x=1e306TB y=2", {{"y", 2, PerfUnit::kNone}}},
        PerfCase{
            "QuotedLabel", "'free space'=12MB", {{"free space", 12 * kKi* kKi, PerfUnit::kBytes}}},
        PerfCase{"QuoteEscapes",
                 "'it''s ok'=1 ''''=2",
                 {{"it's ok", 1, PerfUnit::kNone}, {"'", 2, PerfUnit::kNone}}},
        PerfCase{"QuotedEqualsSign", "'a=b'=4", {{"a=b", 4, PerfUnit::kNone}}},
        PerfCase{"UnknownValueU", "a=U;1;2 b=3", {{"b", 3, PerfUnit::kNone}}},
        PerfCase{"EmptyValue", "a= b=;1;2 c=1", {{"c", 1, PerfUnit::kNone}}},
        PerfCase{"EmptyLabel", "=5 ''=6 d=1", {{"d", 1, PerfUnit::kNone}}},
        PerfCase{"NoEqualsSign", "garbage d=1", {{"d", 1, PerfUnit::kNone}}},
        PerfCase{"NotANumber", "a=abc b=-- c=. d=e5 e=1", {{"e", 1, PerfUnit::kNone}}},
        PerfCase{"CommaDecimalIsSkipped", "a=0,5 b=1.2.3 c=4", {{"c", 4, PerfUnit::kNone}}},
        PerfCase{"UnterminatedQuoteStops", "a=1 'never closed=2 b=3", {{"a", 1, PerfUnit::kNone}}},
        PerfCase{"QuotedLabelWithoutEquals", "'x y' a=1", {{"a", 1, PerfUnit::kNone}}},
        PerfCase{"DuplicateKeepsFirst", "a=1 a=2", {{"a", 1, PerfUnit::kNone}}},
        PerfCase{"NewlinesSeparate",
                 "a=1\nb=2\r\nc=3",
                 {{"a", 1, PerfUnit::kNone}, {"b", 2, PerfUnit::kNone}, {"c", 3, PerfUnit::kNone}}},
        PerfCase{"InvalidUtf8LabelIsRepaired", "caf\xe9=1", {{"caf?", 1, PerfUnit::kNone}}},
        PerfCase{"Utf8LabelKept", "caf\xc3\xa9=1", {{"caf\xc3\xa9", 1, PerfUnit::kNone}}},
        PerfCase{"BinaryGarbage", std::string("\0\x01\xff=\xfe|;;'", 9), {}}),
    [](const ::testing::TestParamInfo<PerfCase>& info) { return info.param.name; });

TEST(PerfDataTest, LongLabelIsSkipped) {
  const std::string long_label(kMaxPerfDataLabelBytes + 1, 'x');
  const std::string ok_label(kMaxPerfDataLabelBytes, 'y');
  const auto items = ParsePerfData(long_label + "=1 " + ok_label + "=2");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].label, ok_label);
}

TEST(PerfDataTest, ItemCountIsCapped) {
  std::string text;
  for (size_t i = 0; i < kMaxPerfDataItems + 10; ++i) text += "m" + std::to_string(i) + "=1 ";
  const auto items = ParsePerfData(text);
  ASSERT_EQ(items.size(), kMaxPerfDataItems);
  EXPECT_EQ(items.back().label, "m" + std::to_string(kMaxPerfDataItems - 1));
}

TEST(PerfDataTest, EveryPrefixOfAMessyLineParsesWithoutCrashing) {
  // Truncated output (the byte cap) can cut an item anywhere.
  const std::string line = "'a b''c'=1.5e3ms;1;2;0;10 x=U y=-3% 'open=";
  for (size_t n = 0; n <= line.size(); ++n) {
    for (const PerfDataItem& item : ParsePerfData(line.substr(0, n))) {
      EXPECT_FALSE(item.label.empty());
    }
  }
}

TEST(PluginOutputTest, SummaryAndPerfdataOfTheFirstLine) {
  const PluginOutput out =
      ParsePluginOutput("TCP OK - 0.001 second response time |time=0.001000s;;;0.000000;10\n");
  EXPECT_EQ(out.summary, "TCP OK - 0.001 second response time");
  ASSERT_EQ(out.perfdata.size(), 1u);
  EXPECT_EQ(out.perfdata[0].label, "time");
  EXPECT_DOUBLE_EQ(out.perfdata[0].value, 0.001);
}

TEST(PluginOutputTest, LongOutputPerfdataAfterTheFirstBarOfLaterLines) {
  const PluginOutput out = ParsePluginOutput(
      "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n"
      "/ 15272 MB (77%);\n"
      "/boot 68 MB (69%); | /boot=68MB;88;93;0;98\n"
      "/home=69357MB;253404;253409;0;253414\n"
      "no bar here a=1\n");
  EXPECT_EQ(out.summary, "DISK OK - free space: / 3326 MB (56%);");
  std::vector<std::string> labels;
  for (const auto& item : out.perfdata) labels.push_back(item.label);
  // Everything after the long output's first '|' is perfdata, later lines too.
  EXPECT_EQ(labels, (std::vector<std::string>{"/", "/boot", "/home", "a"}));
}

TEST(PluginOutputTest, LongOutputWithoutBarHasNoPerfdata) {
  const PluginOutput out = ParsePluginOutput("OK\nline a=1\nline b=2\n");
  EXPECT_EQ(out.summary, "OK");
  EXPECT_TRUE(out.perfdata.empty());
}

TEST(PluginOutputTest, EmptyAndBarOnlyOutput) {
  EXPECT_EQ(ParsePluginOutput("").summary, "");
  const PluginOutput out = ParsePluginOutput("  | a=1\r\n");
  EXPECT_EQ(out.summary, "");
  ASSERT_EQ(out.perfdata.size(), 1u);
}

TEST(PluginOutputTest, CarriageReturnIsTrimmed) {
  EXPECT_EQ(ParsePluginOutput("WARNING - x\r\n").summary, "WARNING - x");
}

TEST(ShortenForDetailTest, KeepsShortTextAndTrims) {
  EXPECT_EQ(ShortenForDetail("  OK - fine \t", 200), "OK - fine");
  EXPECT_EQ(ShortenForDetail("", 200), "");
}

TEST(ShortenForDetailTest, ControlCharactersAndBadUtf8AreReplaced) {
  EXPECT_EQ(ShortenForDetail(std::string("a\0b\tc\x1b[0m\xff", 10), 200), "a b c [0m?");
}

TEST(ShortenForDetailTest, CutsAtTheLimitWithEllipsis) {
  const std::string out = ShortenForDetail(std::string(300, 'x'), 200);
  EXPECT_EQ(out.size(), 200u);
  EXPECT_TRUE(out.ends_with("xx...")) << out;
}

TEST(ShortenForDetailTest, NeverSplitsAUtf8Character) {
  // "é" is two bytes; a cut at an odd byte must back up to the character start.
  std::string text;
  for (int i = 0; i < 150; ++i) text += "\xc3\xa9";
  const std::string out = ShortenForDetail(text, 200);
  ASSERT_LE(out.size(), 200u);
  ASSERT_TRUE(out.ends_with("..."));
  const std::string body = out.substr(0, out.size() - 3);
  EXPECT_EQ(body.size() % 2, 0u);
  EXPECT_EQ(body, text.substr(0, body.size()));
}

}  // namespace
}  // namespace hx
