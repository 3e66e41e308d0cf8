// Runs every config under tests/testdata/configs/ through the loader with the
// built-in check types:
//   - good/*.yml must load without errors;
//   - bad/X.yml must fail with exactly the lines of bad/X.yml.errors, in order.
// New files are picked up automatically; nothing here names a file.
//
// File names in messages: each file is read here and passed to
// LoadConfigString as "bad/X.yml" (relative to HX_TESTDATA/configs), so the
// .errors files do not depend on where the tree is checked out. (chdir would
// do the same but changes the whole process's state.)
//
// Environment: the loader sees only the fixed variables of TestEnvironment(),
// never the real environment, so ${VAR} results are the same on every machine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "checks/check.h"
#include "config/config.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

const fs::path kConfigs = fs::path(HX_TESTDATA) / "configs";

// A stand-in secret: no message may ever contain it.
constexpr std::string_view kSecret = "testdata-secret-9f2c";

config::EnvLookup TestEnvironment() {
  static const std::map<std::string, std::string> vars = {
      {"HX_TEST_HOST", "127.0.0.1"},
      {"HX_TEST_ENV", "staging"},
      {"HX_TEST_TOKEN", std::string(kSecret)},
  };
  return [](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Relative names ("good/minimal.yml") of the files in `dir` ending in `suffix`.
std::vector<std::string> ListFiles(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kConfigs / dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.ends_with(suffix)) out.push_back(dir + "/" + name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> Messages(const LoadResult& result) {
  std::vector<std::string> out;
  for (const auto& e : result.errors) out.push_back(e.ToString());
  return out;
}

// "bad/tcp_address.yml" -> "bad_tcp_address", a valid test name.
std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.size() - 4);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class GoodConfigTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoodConfigTest, LoadsWithoutErrors) {
  const std::string& name = GetParam();
  LoadResult result =
      LoadConfigString(ReadFile(kConfigs / name), name, BuiltinCheckTypes(), TestEnvironment());
  EXPECT_THAT(Messages(result), ::testing::IsEmpty());
  ASSERT_TRUE(result.config.has_value());
  EXPECT_FALSE(result.config->checks.empty());
  for (const CheckConfig& check : result.config->checks) {
    EXPECT_NE(check.spec, nullptr) << check.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Testdata, GoodConfigTest, ::testing::ValuesIn(ListFiles("good", ".yml")),
                         TestName);

class BadConfigTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BadConfigTest, FailsWithExactlyTheExpectedErrors) {
  const std::string& name = GetParam();
  const fs::path expected_path = kConfigs / (name + ".errors");
  ASSERT_TRUE(fs::exists(expected_path)) << "missing " << name << ".errors";
  const std::vector<std::string> expected = Lines(ReadFile(expected_path));
  ASSERT_FALSE(expected.empty()) << name << ".errors is empty";

  LoadResult result =
      LoadConfigString(ReadFile(kConfigs / name), name, BuiltinCheckTypes(), TestEnvironment());
  const std::vector<std::string> actual = Messages(result);
  std::string actual_text;
  for (const std::string& line : actual) actual_text += line + "\n";
  EXPECT_EQ(actual, expected) << "actual errors of " << name << ":\n" << actual_text;
  EXPECT_FALSE(result.config.has_value());
  for (const std::string& line : actual) {
    EXPECT_EQ(line.find(kSecret), std::string::npos) << line;
  }
}

// The same through LoadConfigFile, which names the file by the path given.
TEST_P(BadConfigTest, LoadConfigFileReportsTheSameErrors) {
  const std::string& name = GetParam();
  const std::string path = (kConfigs / name).string();
  LoadResult from_file = LoadConfigFile(path, BuiltinCheckTypes(), TestEnvironment());
  LoadResult from_string =
      LoadConfigString(ReadFile(kConfigs / name), name, BuiltinCheckTypes(), TestEnvironment());
  ASSERT_EQ(from_file.errors.size(), from_string.errors.size());
  for (size_t i = 0; i < from_file.errors.size(); ++i) {
    EXPECT_EQ(from_file.errors[i].file, path);
    EXPECT_EQ(from_file.errors[i].message, from_string.errors[i].message);
    EXPECT_EQ(from_file.errors[i].path, from_string.errors[i].path);
    EXPECT_EQ(from_file.errors[i].mark.line, from_string.errors[i].mark.line);
  }
}

INSTANTIATE_TEST_SUITE_P(Testdata, BadConfigTest, ::testing::ValuesIn(ListFiles("bad", ".yml")),
                         TestName);

TEST(TestdataTest, DirectoriesHaveFiles) {
  // Guards against a wrong HX_TESTDATA silently running zero cases above.
  EXPECT_FALSE(ListFiles("good", ".yml").empty()) << kConfigs;
  EXPECT_FALSE(ListFiles("bad", ".yml").empty()) << kConfigs;
}

TEST(TestdataTest, EveryErrorsFileHasItsConfig) {
  for (const std::string& errors : ListFiles("bad", ".yml.errors")) {
    const std::string config = errors.substr(0, errors.size() - std::string(".errors").size());
    EXPECT_TRUE(fs::exists(kConfigs / config)) << errors << " has no " << config;
  }
}

}  // namespace
}  // namespace hx
