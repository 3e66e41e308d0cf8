// Regression inputs for the config loader found by fuzz/config_fuzzer.cc (see
// fuzz/crashes-found/README.md): a ',' where a YAML document or top-level node
// could start makes yaml-cpp 0.7's LoadAll() loop forever, appending null
// documents, so the daemon never starts (or never finishes a reload).
// config::ScanDocuments() now stops the loader there with "invalid YAML:
// unexpected character" at the ','.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>

#include "checks/check.h"
#include "config/config.h"

namespace hx {
namespace {

// Loads `yaml` on another thread; a load still running after 10 s is the
// loop, which cannot be interrupted, so the test process exits at once
// rather than eat memory until the ctest timeout.
LoadResult LoadWithDeadline(const std::string& yaml) {
  auto load = std::async(std::launch::async, [yaml] {
    return LoadConfigString(yaml, "fuzz.yml", BuiltinCheckTypes(),
                            [](const std::string&) { return std::optional<std::string>("x"); });
  });
  if (load.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    std::fprintf(stderr, "LoadConfigString did not return within 10 s (the yaml-cpp loop)\n");
    std::_Exit(1);
  }
  return load.get();
}

// Exactly one error, at line:column, and no config.
void ExpectOneErrorAt(const LoadResult& result, int line, int column) {
  EXPECT_FALSE(result.config.has_value());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].mark.line, line) << result.errors[0].ToString();
  EXPECT_EQ(result.errors[0].mark.column, column) << result.errors[0].ToString();
  EXPECT_FALSE(result.errors[0].message.empty());
}

TEST(YamlLoopRegressionTest, LoneCommaIsASyntaxError) {
  ExpectOneErrorAt(LoadWithDeadline(","), 1, 1);
}

TEST(YamlLoopRegressionTest, CommaAfterABlockSequenceIsASyntaxError) {
  ExpectOneErrorAt(LoadWithDeadline("- a\n,\n"), 2, 1);
}

TEST(YamlLoopRegressionTest, CommaStartingALaterDocumentIsASyntaxError) {
  ExpectOneErrorAt(LoadWithDeadline("global:\n  interval: 1m\n---\n,"), 4, 1);
}

// The input exactly as the fuzzer found it.
TEST(YamlLoopRegressionTest, FoundInputReturnsAnError) {
  const std::string found =
      ", Disk bove\xc6\xdf\xce\xc8\xda\xf5\xdf\xe6 \x1e  write_test: truechecks:\n"
      "  - name: \"api gateway\"\n"
      "    interval: 5ms\n"
      "    tc\n"
      "  - name: root-disk-dp:\n"
      "      addres";
  const LoadResult result = LoadWithDeadline(found);
  EXPECT_FALSE(result.config.has_value());
  EXPECT_FALSE(result.errors.empty());
}

// Valid multi-document and empty files keep their current errors; the guard
// must not turn them into syntax errors.
TEST(YamlLoopRegressionTest, TwoDocumentsStillReportTheDocumentCount) {
  const LoadResult result = LoadWithDeadline("checks: []\n---\nchecks: []\n");
  EXPECT_FALSE(result.config.has_value());
  ASSERT_FALSE(result.errors.empty());
  EXPECT_NE(result.errors[0].message.find("expected one YAML document"), std::string::npos)
      << result.errors[0].ToString();
}

}  // namespace
}  // namespace hx
