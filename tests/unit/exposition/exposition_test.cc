#include "exposition/exposition.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "exposition/text_format.h"
#include "support/daemon_process.h"

namespace hx::metrics {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

using namespace std::string_literals;

TEST(LabelSetTest, EmptyHasNoRendering) {
  LabelSet empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.text(), "");
  EXPECT_EQ(empty.proto(), "");
  LabelSet also_empty(Pairs{});
  EXPECT_TRUE(also_empty.empty());
  EXPECT_EQ(also_empty.text(), "");
  EXPECT_EQ(also_empty.proto(), "");
}

TEST(LabelSetTest, TextKeepsTheGivenOrder) {
  LabelSet labels({{"check", "db"}, {"type", "postgres"}, {"critical", "true"}});
  EXPECT_FALSE(labels.empty());
  EXPECT_EQ(labels.text(), R"(check="db",type="postgres",critical="true")");
  ASSERT_EQ(labels.pairs().size(), 3u);
  EXPECT_EQ(labels.pairs()[1].first, "type");
}

TEST(LabelSetTest, TextEscapesBackslashQuoteAndNewline) {
  LabelSet labels({{"a", "x\"y\\z\nw"}, {"b", ""}, {"c", "ünï\tcode"}});
  EXPECT_EQ(labels.text(), "a=\"x\\\"y\\\\z\\nw\",b=\"\",c=\"ünï\tcode\"");
}

TEST(LabelSetTest, ProtoFramesEachPairAsMetricLabelField) {
  LabelSet labels({{"check", "db"}, {"x", ""}});
  // Metric.label (field 1, LEN) { LabelPair.name (1, LEN) "check",
  // LabelPair.value (2, LEN) "db" }, then the second pair with an empty value.
  const std::string expected =
      "\x0a\x0b"
      "\x0a\x05"
      "check"
      "\x12\x02"
      "db"
      "\x0a\x05"
      "\x0a\x01"
      "x"
      "\x12\x00"s;
  EXPECT_EQ(labels.proto(), expected);
}

TEST(LabelSetTest, ProtoUsesMultiByteVarintsForLongValues) {
  // 200 bytes of value: the value's length (200 = 0xc8 0x01) and the pair's
  // length (tag, length, "n"; tag, 2-byte length, value: 3 + 3 + 200 = 206
  // = 0xce 0x01) both take two varint bytes.
  const std::string value(200, 'v');
  LabelSet labels(Pairs{{"n", value}});
  const std::string expected =
      "\x0a\xce\x01"
      "\x0a\x01"
      "n"
      "\x12\xc8\x01"s +
      value;
  EXPECT_EQ(labels.proto(), expected);
}

TEST(LabelSetTest, ProtoCarriesRawUnescapedValues) {
  LabelSet labels(Pairs{{"a", "q\"\n"}});
  EXPECT_EQ(labels.proto(),
            "\x0a\x08\x0a\x01"
            "a"
            "\x12\x03q\"\n"s);
}

// libprotobuf's encoding of the same labels (protoc --encode from text
// format), byte for byte: what the protobuf writer appends must be what
// libprotobuf would have written.
std::string ProtocEncode(const Pairs& pairs) {
  std::string text;
  for (const auto& [name, value] : pairs) {
    text += "label { name: \"" + name + "\" value: \"";
    for (unsigned char c : value) {  // every byte as an octal escape
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\%03o", c);
      text += escaped;
    }
    text += "\" }\n";
  }
  auto protoc =
      RunCommand({"protoc", "--encode=io.prometheus.client.Metric",
                  "--proto_path=" + std::string(HX_TESTDATA) + "/exposition", "label_pair.proto"},
                 text);
  EXPECT_EQ(protoc.exit_code, 0) << protoc.output;
  return protoc.output;
}

TEST(LabelSetTest, ProtoIsWhatLibprotobufEncodes) {
  const std::vector<Pairs> cases = {
      {{"check", "db"}},
      {{"check", "api"}, {"critical", "true"}, {"type", "http"}, {"x", ""}},
      {{"check", std::string(300, 'v')}},                      // two-byte lengths
      {{"check", std::string(20000, 'w')}},                    // three-byte length
      {{"check", "db \"primary\" C:\\data\nline2 \xc3\xbc"}},  // raw, unescaped
  };
  for (const Pairs& pairs : cases) {
    EXPECT_EQ(LabelSet(pairs).proto(), ProtocEncode(pairs)) << pairs[0].second.substr(0, 20);
  }
}

TEST(TextFormatTest, HelpEscapingDiffersBetweenFormats) {
  std::string text;
  AppendEscapedHelp(text, "a \"b\" c\\d\ne", /*escape_quotes=*/false);
  EXPECT_EQ(text, "a \"b\" c\\\\d\\ne");
  std::string om;
  AppendEscapedHelp(om, "a \"b\" c\\d\ne", /*escape_quotes=*/true);
  EXPECT_EQ(om, "a \\\"b\\\" c\\\\d\\ne");
}

TEST(TextFormatTest, LabelValueEscapingAppends) {
  std::string out = "x=\"";
  AppendEscapedLabelValue(out, "\\\\");
  EXPECT_EQ(out, "x=\"\\\\\\\\");
}

}  // namespace
}  // namespace hx::metrics
