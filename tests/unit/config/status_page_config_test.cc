// status_page.public as the loader reads it: what a valid page becomes, the
// defaults, and a config directory (entries may name checks of other files;
// only one file may set status_page). Bad pages are in
// tests/testdata/configs/bad/public_page*.yml.
#include "config/status_page_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "checks/check.h"
#include "config/config.h"
#include "support/daemon_process.h"

namespace hx {
namespace {

using ::testing::ElementsAre;
using Labels = std::vector<std::pair<std::string, std::string>>;

config::EnvLookup Env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (name == "HX_TITLE") return "from the environment";
    return std::nullopt;
  };
}

std::vector<std::string> Messages(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.ToString());
  return out;
}

constexpr const char* kChecks =
    "checks:\n"
    "  - name: db\n"
    "    labels: {team: storage}\n"
    "    memory: {}\n"
    "  - name: api\n"
    "    labels: {team: web, env: prod}\n"
    "    memory: {}\n";

TEST(StatusPageConfigTest, ReadsThePage) {
  const LoadResult loaded = LoadConfigString(std::string(kChecks) +
                                                 "status_page:\n"
                                                 "  public:\n"
                                                 "    title: Acme ${HX_TITLE}\n"
                                                 "    notice: \"line one\\nline two\"\n"
                                                 "    groups:\n"
                                                 "      - name: Everything\n"
                                                 "        entries:\n"
                                                 "          - check: db\n"
                                                 "            name: Database\n"
                                                 "          - match: {env: prod, team: web}\n",
                                             "hx.yml", BuiltinCheckTypes(), Env());
  ASSERT_TRUE(loaded.config) << Messages(loaded)[0];
  const auto& page = loaded.config->status_page.public_page;
  ASSERT_TRUE(page);
  // Not expanded: what a customer reads is what the file says.
  EXPECT_EQ(page->title, "Acme ${HX_TITLE}");
  EXPECT_EQ(page->notice, "line one\nline two");
  EXPECT_EQ(page->listen_address, "");
  ASSERT_EQ(page->groups.size(), 1u);
  const auto& entries = page->groups[0].entries;
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].display_name, "Database");
  EXPECT_EQ(entries[0].check, "db");
  EXPECT_TRUE(entries[0].match.empty());
  // A matcher without a name is shown under its group's name.
  EXPECT_EQ(entries[1].display_name, "Everything");
  EXPECT_EQ(entries[1].match, (Labels{{"env", "prod"}, {"team", "web"}}));
}

TEST(StatusPageConfigTest, NoStatusPageNoPublicPage) {
  const LoadResult loaded = LoadConfigString(kChecks, "hx.yml", BuiltinCheckTypes(), Env());
  ASSERT_TRUE(loaded.config);
  EXPECT_FALSE(loaded.config->status_page.public_page);
  const LoadResult empty = LoadConfigString(std::string(kChecks) + "status_page:\n", "hx.yml",
                                            BuiltinCheckTypes(), Env());
  ASSERT_TRUE(empty.config);
  EXPECT_FALSE(empty.config->status_page.public_page);
}

TEST(StatusPageConfigTest, DefaultTitle) {
  const LoadResult loaded = LoadConfigString(
      std::string(kChecks) +
          "status_page:\n  public:\n    groups: [{name: G, entries: [{check: db, name: D}]}]\n",
      "hx.yml", BuiltinCheckTypes(), Env());
  ASSERT_TRUE(loaded.config);
  EXPECT_EQ(loaded.config->status_page.public_page->title, "Service status");
}

TEST(StatusPageConfigTest, AMatcherIsNotBlamedForChecksThatHadErrors) {
  // "api" has an error, so it is missing; its label is not reported as unknown.
  const LoadResult loaded = LoadConfigString(
      "checks:\n"
      "  - name: api\n"
      "    labels: {team: web}\n"
      "    interval: never\n"
      "    memory: {}\n"
      "status_page:\n  public:\n    groups: [{name: Web, entries: [{match: {team: web}}]}]\n",
      "hx.yml", BuiltinCheckTypes(), Env());
  EXPECT_THAT(Messages(loaded), ElementsAre(::testing::HasSubstr("checks[0].interval")));
}

TEST(StatusPageConfigTest, ADirectoryMayNameChecksOfOtherFilesAndSetItOnce) {
  TempDir dir;
  dir.Write("10-checks.yml", kChecks);
  dir.Write("20-page.yml",
            "status_page:\n  public:\n    groups: [{name: G, entries: [{check: api, name: A}]}]\n");
  const LoadResult loaded = LoadConfigFile(dir.path(), BuiltinCheckTypes(), Env());
  ASSERT_TRUE(loaded.config) << Messages(loaded)[0];
  EXPECT_EQ(loaded.config->status_page.public_page->groups[0].entries[0].check, "api");

  dir.Write("30-again.yml",
            "status_page:\n  public:\n    groups: [{name: G, entries: [{check: db, name: D}]}]\n");
  const LoadResult twice = LoadConfigFile(dir.path(), BuiltinCheckTypes(), Env());
  EXPECT_THAT(
      Messages(twice),
      ElementsAre(dir.path() + "/30-again.yml:2:3: status_page: already set in " + dir.path() +
                  "/20-page.yml:2; only one file of a config directory may "
                  "set it"));
}

TEST(StatusPageConfigTest, LabelsMatch) {
  const Labels labels = {{"env", "prod"}, {"team", "web"}};
  EXPECT_TRUE(config::LabelsMatch(labels, {{"team", "web"}}));
  EXPECT_TRUE(config::LabelsMatch(labels, {{"env", "prod"}, {"team", "web"}}));
  EXPECT_FALSE(config::LabelsMatch(labels, {{"team", "web"}, {"env", "dev"}}));
  EXPECT_FALSE(config::LabelsMatch(labels, {{"tier", "web"}}));
  EXPECT_FALSE(config::LabelsMatch(labels, {{"team", "Web"}}));
}

}  // namespace
}  // namespace hx
