#include "config/parse_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <map>

namespace hx::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Parses `yaml` and gives a reader on its root mapping at path "m".
class ReaderTest : public ::testing::Test {
 protected:
  MapReader Read(const std::string& yaml) {
    root_ = std::make_unique<YAML::Node>(YAML::Load(yaml));
    return MapReader(*root_, "m", ctx_);
  }
  std::vector<std::string> Errors() const {
    std::vector<std::string> out;
    for (const auto& e : ctx_.errors()) out.push_back(e.ToString());
    return out;
  }

  ParseContext ctx_{"t.yml", FakeEnv({{"HOST", "db.internal"}, {"EMPTY", ""}})};
  std::unique_ptr<YAML::Node> root_;
};

TEST(ConfigErrorTest, ToStringFormats) {
  EXPECT_EQ((ConfigError{"a.yml", {3, 7}, "checks[0].timeout", "boom"}).ToString(),
            "a.yml:3:7: checks[0].timeout: boom");
  EXPECT_EQ((ConfigError{"a.yml", {1, 1}, "", "boom"}).ToString(), "a.yml:1:1: boom");
  // No position: an error about the file as a whole.
  EXPECT_EQ((ConfigError{"a.yml", {}, "", "cannot read"}).ToString(), "a.yml: cannot read");
}

TEST(MarkOfTest, IsOneBasedAndZeroForNodesWithoutPosition) {
  YAML::Node root = YAML::Load("a: 1\nbb:\n  - x\n");
  YAML::Node item = root["bb"][0];
  EXPECT_EQ(MarkOf(item).line, 3);
  EXPECT_EQ(MarkOf(item).column, 5);
  EXPECT_EQ(MarkOf(YAML::Node()).line, 0);
  EXPECT_EQ(MarkOf(YAML::Node(YAML::NodeType::Undefined)).line, 0);
}

TEST(ProcessEnvironmentTest, ReadsTheRealEnvironment) {
  ASSERT_EQ(setenv("HX_PARSE_CONTEXT_TEST_VAR", "v1", 1), 0);
  EXPECT_EQ(ProcessEnvironment()("HX_PARSE_CONTEXT_TEST_VAR"), "v1");
  ASSERT_EQ(unsetenv("HX_PARSE_CONTEXT_TEST_VAR"), 0);
  EXPECT_EQ(ProcessEnvironment()("HX_PARSE_CONTEXT_TEST_VAR"), std::nullopt);
}

TEST(ExpandTest, ReplacesVariablesAndDollarEscapes) {
  const std::pair<std::string, std::string> cases[] = {
      {"plain", "plain"},
      {"${HOST}", "db.internal"},
      {"https://${HOST}:5432/x", "https://db.internal:5432/x"},
      {"${HOST}${HOST}", "db.internaldb.internal"},
      {"a${EMPTY}b", "ab"},
      {"$$", "$"},
      {"$${HOST}", "${HOST}"},
      {"cost $5", "cost $5"},
      {"end$", "end$"},
      {"$", "$"},
      {"a$b", "a$b"},
      {"$$$$", "$$"},
      {"", ""},
  };
  for (const auto& [raw, want] : cases) {
    ParseContext ctx("t.yml", FakeEnv({{"HOST", "db.internal"}, {"EMPTY", ""}}));
    EXPECT_EQ(ctx.Expand(raw, YAML::Node(), "p"), want) << raw;
    EXPECT_TRUE(ctx.ok()) << raw;
  }
}

TEST(ExpandTest, ReportsEveryUnsetVariableByName) {
  ParseContext ctx("t.yml", FakeEnv({}));
  YAML::Node at = YAML::Load("k: v")["k"];
  EXPECT_EQ(ctx.Expand("${API_TOKEN}:${OTHER}", at, "checks[0].x"), std::nullopt);
  ASSERT_EQ(ctx.errors().size(), 2u);
  EXPECT_EQ(ctx.errors()[0].ToString(),
            R"(t.yml:1:4: checks[0].x: environment variable "API_TOKEN" is not set)");
  EXPECT_EQ(ctx.errors()[1].message, R"(environment variable "OTHER" is not set)");
}

TEST(ExpandTest, RejectsMalformedReferences) {
  const std::pair<std::string, std::string> cases[] = {
      {"${UNCLOSED", R"(unterminated "${" (write "$$" for a literal "$"))"},
      {"${}",
       R"(invalid environment variable name "" in "${...}" (use letters, digits and "_"; write "$$" for a literal "$"))"},
      {"${1X}",
       R"(invalid environment variable name "1X" in "${...}" (use letters, digits and "_"; write "$$" for a literal "$"))"},
      {"${A-B}",
       R"(invalid environment variable name "A-B" in "${...}" (use letters, digits and "_"; write "$$" for a literal "$"))"},
  };
  for (const auto& [raw, message] : cases) {
    ParseContext ctx("t.yml", FakeEnv({{"A", "x"}}));
    EXPECT_EQ(ctx.Expand(raw, YAML::Node(), ""), std::nullopt) << raw;
    ASSERT_EQ(ctx.errors().size(), 1u) << raw;
    EXPECT_EQ(ctx.errors()[0].message, message) << raw;
  }
}

TEST(ExpandTest, MissingLookupFunctionMeansNothingIsSet) {
  ParseContext ctx("t.yml", nullptr);
  EXPECT_EQ(ctx.Expand("${HOME}", YAML::Node(), ""), std::nullopt);
  EXPECT_EQ(ctx.Expand("no refs", YAML::Node(), ""), "no refs");
}

TEST_F(ReaderTest, NotAMappingIsOneErrorAndGettersYieldNothing) {
  MapReader r = Read("[1, 2]");
  EXPECT_FALSE(r.valid());
  EXPECT_EQ(r.String("a"), std::nullopt);
  EXPECT_FALSE(r.Has("a"));
  EXPECT_FALSE(r.Require("a"));
  EXPECT_THAT(r.Keys(), IsEmpty());
  r.Finish();
  EXPECT_THAT(Errors(), ElementsAre("t.yml:1:1: m: expected a mapping, got a sequence"));
}

TEST_F(ReaderTest, ScalarAndNullRootsAreNotMappings) {
  Read("just text");
  Read("");
  Read("~");
  EXPECT_THAT(Errors(), ElementsAre(R"(t.yml:1:1: m: expected a mapping, got "just text")",
                                    "t.yml: m: expected a mapping, got null",
                                    "t.yml:1:1: m: expected a mapping, got null"));
}

TEST_F(ReaderTest, PathOfJoinsWithDots) {
  MapReader r = Read("a: 1");
  EXPECT_EQ(r.PathOf("url"), "m.url");
  YAML::Node top = YAML::Load("a: 1");
  EXPECT_EQ(MapReader(top, "", ctx_).PathOf("checks"), "checks");
}

TEST_F(ReaderTest, KeysInFileOrderAndHas) {
  MapReader r = Read("b: 1\na: 2\nc: 3\n");
  EXPECT_THAT(r.Keys(), ElementsAre("b", "a", "c"));
  EXPECT_TRUE(r.Has("a"));
  EXPECT_FALSE(r.Has("d"));
  EXPECT_FALSE(r.Has("A"));
}

TEST_F(ReaderTest, DuplicateKeysAreReportedAtTheSecond) {
  MapReader r = Read("timeout: 1s\nurl: x\ntimeout: 2s\n");
  EXPECT_EQ(r.Duration("timeout"), std::chrono::seconds(1));
  r.Accept("url");
  r.Finish();
  EXPECT_THAT(Errors(),
              ElementsAre(R"(t.yml:3:1: m: duplicate key "timeout" (first defined at line 1))"));
}

TEST_F(ReaderTest, NonScalarKeysAreErrors) {
  MapReader r = Read("? [a, b]\n: 1\nok: 2\n");
  EXPECT_THAT(r.Keys(), ElementsAre("ok"));
  r.Accept("ok");
  r.Finish();
  EXPECT_THAT(Errors(), ElementsAre("t.yml:1:3: m: expected a plain key, got a sequence"));
}

TEST_F(ReaderTest, UnknownKeysWithAndWithoutHint) {
  MapReader r = Read("urll: x\ntiemout: 1s\nzzzzzz: 1\nurl2: 2\n");
  r.String("url");
  r.Duration("timeout");
  r.Finish();
  EXPECT_THAT(Errors(),
              ElementsAre(R"(t.yml:1:1: m: unknown key "urll" (did you mean "url"?))",
                          R"(t.yml:2:1: m: unknown key "tiemout" (did you mean "timeout"?))",
                          R"(t.yml:3:1: m: unknown key "zzzzzz")",
                          R"(t.yml:4:1: m: unknown key "url2" (did you mean "url"?))"));
}

TEST_F(ReaderTest, HintNeedsMoreThanReplacingEveryLetter) {
  MapReader r = Read("x: 1\n");
  r.String("ab");
  r.Finish();
  EXPECT_THAT(Errors(), ElementsAre(R"(t.yml:1:1: m: unknown key "x")"));
}

TEST_F(ReaderTest, CopiesShareKnownKeys) {
  MapReader r = Read("a: 1\nb: 2\n");
  MapReader copy = r;
  copy.Accept("a");
  r.Accept("b");
  copy.Finish();
  EXPECT_THAT(Errors(), IsEmpty());
}

TEST_F(ReaderTest, RequireReportsAtTheMapping) {
  MapReader r = Read("\n\n  a: 1\n");
  EXPECT_TRUE(r.Require("a"));
  EXPECT_FALSE(r.Require("url"));
  r.Finish();
  EXPECT_THAT(Errors(), ElementsAre(R"(t.yml:3:3: m: missing required key "url")"));
}

TEST_F(ReaderTest, StringExpandsUnlessAskedNotTo) {
  MapReader r = Read("a: ${HOST}\nb: ${HOST}\nc: 123\nd: \"\"\n");
  EXPECT_EQ(r.String("a"), "db.internal");
  EXPECT_EQ(r.String("b", /*expand_env=*/false), "${HOST}");
  EXPECT_EQ(r.String("c"), "123");
  EXPECT_EQ(r.String("d"), "");
  EXPECT_EQ(r.String("missing"), std::nullopt);
  r.Finish();
  EXPECT_THAT(Errors(), IsEmpty());
}

// One row: YAML for key `v`, the getter to call, and the exact error.
struct RejectCase {
  std::string yaml;
  std::function<bool(MapReader&)> call;  // true if the getter returned a value
  std::string error;
};

TEST_F(ReaderTest, GettersRejectWrongTypesWithExactMessages) {
  auto str = [](MapReader& r) { return r.String("v").has_value(); };
  auto boolean = [](MapReader& r) { return r.Bool("v").has_value(); };
  auto integer = [](MapReader& r) { return r.Int("v", 1, 100).has_value(); };
  auto number = [](MapReader& r) { return r.Number("v").has_value(); };
  auto duration = [](MapReader& r) { return r.Duration("v").has_value(); };
  auto size = [](MapReader& r) { return r.ByteSize("v").has_value(); };
  auto percent = [](MapReader& r) { return r.Percent("v").has_value(); };
  auto list = [](MapReader& r) { return r.StringList("v").has_value(); };
  auto map = [](MapReader& r) { return r.StringMap("v").has_value(); };
  auto regex = [](MapReader& r) { return r.Regex("v") != nullptr; };
  auto nested = [](MapReader& r) { return r.Map("v").has_value(); };
  const RejectCase cases[] = {
      {"v: [a]", str, "t.yml:1:4: m.v: expected a string, got a sequence"},
      {"v: {a: 1}", str, "t.yml:1:4: m.v: expected a string, got a mapping"},
      {"v:\nw: 1", str, "t.yml:1:1: m.v: expected a string, got null"},
      {"v: ${NOPE}", str, R"(t.yml:1:4: m.v: environment variable "NOPE" is not set)"},
      {"v: yes please", boolean, R"(t.yml:1:4: m.v: expected true or false, got "yes please")"},
      {"v: yes", boolean, R"(t.yml:1:4: m.v: expected true or false, got "yes")"},
      {"v: 1", boolean, R"(t.yml:1:4: m.v: expected true or false, got "1")"},
      {"v: [true]", boolean, "t.yml:1:4: m.v: expected true or false, got a sequence"},
      {"v: 0", integer, R"(t.yml:1:4: m.v: must be an integer from 1 to 100, got "0")"},
      {"v: 101", integer, R"(t.yml:1:4: m.v: must be an integer from 1 to 100, got "101")"},
      {"v: -5", integer, R"(t.yml:1:4: m.v: must be an integer from 1 to 100, got "-5")"},
      {"v: 99999999999999999999999", integer,
       R"(t.yml:1:4: m.v: must be an integer from 1 to 100, got "99999999999999999999999")"},
      {"v: 2.5", integer, R"(t.yml:1:4: m.v: expected an integer, got "2.5")"},
      {"v: 1e2", integer, R"(t.yml:1:4: m.v: expected an integer, got "1e2")"},
      {"v: three", integer, R"(t.yml:1:4: m.v: expected an integer, got "three")"},
      {"v: ''", integer, R"(t.yml:1:4: m.v: expected an integer, got "")"},
      {"v: {}", integer, "t.yml:1:4: m.v: expected an integer, got a mapping"},
      {"v: abc", number, R"(t.yml:1:4: m.v: expected a number, got "abc")"},
      {"v: .inf", number, R"(t.yml:1:4: m.v: expected a number, got ".inf")"},
      {"v: nan", number, R"(t.yml:1:4: m.v: expected a number, got "nan")"},
      {"v: 1e400", number, R"(t.yml:1:4: m.v: expected a number, got "1e400")"},
      {"v: [1]", number, "t.yml:1:4: m.v: expected a number, got a sequence"},
      {"v: [10s]", duration, "t.yml:1:4: m.v: expected a duration like 10s, got a sequence"},
      {"v: 5", duration,
       R"(t.yml:1:4: m.v: not a valid duration "5" (use e.g. 500ms, 10s, 1m30s))"},
      {"v: 1m1h", duration,
       R"(t.yml:1:4: m.v: not a valid duration "1m1h" (use e.g. 500ms, 10s, 1m30s))"},
      {"v: ${T}", duration,
       R"(t.yml:1:4: m.v: not a valid duration "${T}" (use e.g. 500ms, 10s, 1m30s))"},
      {"v: 1 MB", size,
       R"(t.yml:1:4: m.v: not a valid byte size "1 MB" (use e.g. 4096, 64KB, 1MiB))"},
      {"v: {}", size, "t.yml:1:4: m.v: expected a byte size like 64KB, got a mapping"},
      {"v: 101%", percent, R"(t.yml:1:4: m.v: percentage "101%" is above 100%)"},
      {"v: []", percent, "t.yml:1:4: m.v: expected a percentage like 90%, got a sequence"},
      {"v: {a: b}", list, "t.yml:1:4: m.v: expected a string or a list of strings, got a mapping"},
      {"v: [a, [b]]", list, "t.yml:1:8: m.v[1]: expected a string, got a sequence"},
      {"v: [a, \"${NOPE}\"]", list, R"(t.yml:1:8: m.v[1]: environment variable "NOPE" is not set)"},
      {"v: [a, b]", map, "t.yml:1:4: m.v: expected a mapping, got a sequence"},
      {"v: {a: [1]}", map, "t.yml:1:8: m.v.a: expected a string, got a sequence"},
      {"v: {a: 1, a: 2}", map, R"(t.yml:1:11: m.v: duplicate key "a" (first defined at line 1))"},
      {"v: '(unclosed'", regex, "t.yml:1:4: m.v: invalid regular expression: missing ): (unclosed"},
      {"v: [x]", regex, "t.yml:1:4: m.v: expected a string, got a sequence"},
      {"v: x", nested, R"(t.yml:1:4: m.v: expected a mapping, got "x")"},
      {"v: ", nested, "t.yml:1:1: m.v: expected a mapping, got null"},
  };
  for (const auto& c : cases) {
    ParseContext ctx("t.yml", FakeEnv({}));
    YAML::Node root = YAML::Load(c.yaml);
    MapReader r(root, "m", ctx);
    EXPECT_FALSE(c.call(r)) << c.yaml;
    r.Accept("w");
    r.Finish();
    std::vector<std::string> errors;
    for (const auto& e : ctx.errors()) errors.push_back(e.ToString());
    EXPECT_THAT(errors, ElementsAre(c.error)) << c.yaml;
  }
}

TEST_F(ReaderTest, GettersAcceptWellFormedValues) {
  MapReader r = Read(R"(
b1: true
b2: False
i: 42
i2: +7
n: 0.25
n2: -3
d: 1m30s
s: 64KiB
p: 99.5%
l1: one
l2: [a, "${HOST}", 3]
l3: []
sm: {x: "${HOST}", y: 2}
re: "^ok( \\d+)?$"
sub: {a: 1}
raw: [1, {x: y}]
)");
  EXPECT_EQ(r.Bool("b1"), true);
  EXPECT_EQ(r.Bool("b2"), false);
  EXPECT_EQ(r.Int("i", 0, 100), 42);
  EXPECT_EQ(r.Int("i2", 0, 100), 7);
  EXPECT_EQ(r.Number("n"), 0.25);
  EXPECT_EQ(r.Number("n2"), -3.0);
  EXPECT_EQ(r.Duration("d"), std::chrono::seconds(90));
  EXPECT_EQ(r.ByteSize("s"), 64u * 1024);
  EXPECT_DOUBLE_EQ(r.Percent("p").value(), 0.995);
  EXPECT_EQ(r.StringList("l1"), std::vector<std::string>{"one"});
  EXPECT_EQ(r.StringList("l2"), (std::vector<std::string>{"a", "db.internal", "3"}));
  EXPECT_EQ(r.StringList("l2", /*expand_env=*/false),
            (std::vector<std::string>{"a", "${HOST}", "3"}));
  EXPECT_EQ(r.StringList("l3"), std::vector<std::string>{});
  EXPECT_EQ(r.StringMap("sm"),
            (std::map<std::string, std::string>{{"x", "db.internal"}, {"y", "2"}}));
  auto re = r.Regex("re");
  ASSERT_NE(re, nullptr);
  EXPECT_TRUE(RE2::FullMatch("ok 12", *re));
  EXPECT_FALSE(RE2::FullMatch("nok", *re));
  std::optional<MapReader> sub = r.Map("sub");
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->path(), "m.sub");
  EXPECT_EQ(sub->Int("a", 0, 9), 1);
  sub->Finish();
  std::optional<YAML::Node> raw = r.Node("raw");
  ASSERT_TRUE(raw.has_value());
  EXPECT_TRUE(raw->IsSequence());
  r.Finish();
  EXPECT_THAT(Errors(), IsEmpty());
}

TEST_F(ReaderTest, AbsentKeysYieldNothingWithoutErrors) {
  MapReader r = Read("other: 1");
  r.Accept("other");
  EXPECT_EQ(r.Bool("x"), std::nullopt);
  EXPECT_EQ(r.Int("x", 0, 1), std::nullopt);
  EXPECT_EQ(r.Number("x"), std::nullopt);
  EXPECT_EQ(r.Duration("x"), std::nullopt);
  EXPECT_EQ(r.ByteSize("x"), std::nullopt);
  EXPECT_EQ(r.Percent("x"), std::nullopt);
  EXPECT_EQ(r.StringList("x"), std::nullopt);
  EXPECT_EQ(r.StringMap("x"), std::nullopt);
  EXPECT_EQ(r.Regex("x"), nullptr);
  EXPECT_FALSE(r.Map("x").has_value());
  EXPECT_FALSE(r.Node("x").has_value());
  r.Finish();
  EXPECT_THAT(Errors(), IsEmpty());
}

TEST_F(ReaderTest, ErrorHelpersPointAtValueOrMapping) {
  MapReader r = Read("a: 1\nb:   bad\n");
  r.Accept("a");
  r.Accept("b");
  r.Error("b", "custom b");
  r.Error("absent", "custom absent");
  r.Error("whole");
  r.Finish();
  EXPECT_THAT(Errors(), ElementsAre("t.yml:2:6: m.b: custom b",
                                    "t.yml:1:1: m.absent: custom absent", "t.yml:1:1: m: whole"));
}

TEST_F(ReaderTest, LongScalarsAreCutInMessages) {
  MapReader r = Read("v: " + std::string(100, 'x'));
  EXPECT_EQ(r.Bool("v"), std::nullopt);
  ASSERT_EQ(ctx_.errors().size(), 1u);
  EXPECT_EQ(ctx_.errors()[0].message,
            "expected true or false, got \"" + std::string(60, 'x') + "...\"");
}

TEST_F(ReaderTest, CyclicAliasDoesNotHang) {
  // yaml-cpp builds a real cycle for an alias inside its own anchor.
  MapReader r = Read("v: &a [*a]\nw: &b {k: *b}\n");
  EXPECT_EQ(r.StringList("v"), std::nullopt);
  EXPECT_EQ(r.StringMap("w"), std::nullopt);
  r.Finish();
  // The alias is the anchored node itself, so the mark is the anchor's.
  EXPECT_THAT(Errors(), ElementsAre("t.yml:1:4: m.v[0]: expected a string, got a sequence",
                                    "t.yml:2:4: m.w.k: expected a string, got a mapping"));
}

TEST(AsWrittenTest, ShowsExpansionsAsTheConfigWroteThem) {
  const std::vector<Expansion> expansions = {
      {"/opt/plugins/check_x", "${DIR}/check_x"},
      {"/opt/plugins", "${DIR}"},
      {"db.internal:5432", "${HOST}:5432"},
      {"db.internal", "${HOST}"},
      {"80", "${PORT}"},
  };
  // Quoted whole values, the whole text, variable values of 4+ characters.
  EXPECT_EQ(AsWritten("cannot use \"/opt/plugins/check_x\": No such file", expansions),
            "cannot use \"${DIR}/check_x\": No such file");
  EXPECT_EQ(AsWritten("db.internal:5432", expansions), "${HOST}:5432");
  EXPECT_EQ(AsWritten("GET http://db.internal/health", expansions), "GET http://${HOST}/health");
  // Short values would match by chance.
  EXPECT_EQ(AsWritten("HTTP 802 from port 80", expansions), "HTTP 802 from port 80");
  EXPECT_EQ(AsWritten("nothing to do", {}), "nothing to do");
}

TEST(AsWrittenTest, ErrorsAfterAnExpansionQuoteItAsWritten) {
  ParseContext ctx("t.yml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "SECRET_DIR") return std::string("/srv/secret-7f3a");
    return std::nullopt;
  });
  const YAML::Node node = YAML::Load("x: '${SECRET_DIR}/bin'")["x"];
  const std::optional<std::string> value = ctx.Expand(node.Scalar(), node, "x");
  ASSERT_EQ(value, "/srv/secret-7f3a/bin");
  ctx.Error(node, "x", "cannot use \"" + *value + "\": No such file or directory");
  ASSERT_EQ(ctx.errors().size(), 1u);
  EXPECT_EQ(ctx.errors()[0].message, "cannot use \"${SECRET_DIR}/bin\": No such file or directory");
}

}  // namespace
}  // namespace hx::config
