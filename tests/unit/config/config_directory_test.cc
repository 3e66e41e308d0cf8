// --config.file naming a directory: drop-in files merged into one config,
// and the fingerprints and hash that config reload relies on.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "checks/check.h"
#include "config/config.h"
#include "support/daemon_process.h"

namespace hx {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

config::EnvLookup NoEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

std::vector<std::string> Messages(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.ToString());
  return out;
}

std::vector<std::string> Names(const Config& config) {
  std::vector<std::string> out;
  for (const auto& c : config.checks) out.push_back(c.name);
  return out;
}

class ConfigDirectoryTest : public ::testing::Test {
 protected:
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.path() + "/" + name) << text;
  }
  LoadResult Load() { return LoadConfigFile(dir_.path(), BuiltinCheckTypes(), NoEnv()); }
  std::string Path(const std::string& name) { return dir_.path() + "/" + name; }

  TempDir dir_;
};

TEST_F(ConfigDirectoryTest, MergesYmlFilesInNameOrderAndSkipsOthers) {
  Write("20-b.yml", "checks:\n  - name: b\n    memory: {}\n");
  Write("10-a.yaml", "global:\n  interval: 7s\nchecks:\n  - name: a\n    memory: {}\n");
  Write("30-empty.yml", "# everything commented out\n");
  Write("40-only-list.yml", "checks: []\n");
  Write("README.md", "not a config");
  Write(".hidden.yml", "this: [is not, valid");
  Write("old.yml.bak", "neither");
  LoadResult r = Load();
  ASSERT_THAT(Messages(r), IsEmpty());
  EXPECT_THAT(Names(*r.config), ElementsAre("a", "b"));
  // global: in one file applies to the checks of every file.
  EXPECT_EQ(r.config->checks[1].interval, std::chrono::seconds(7));
  EXPECT_EQ(r.config->checks[1].file, Path("20-b.yml"));
  EXPECT_THAT(r.config->files, ElementsAre(Path("10-a.yaml"), Path("20-b.yml"),
                                           Path("30-empty.yml"), Path("40-only-list.yml")));
}

TEST_F(ConfigDirectoryTest, DuplicateNameAcrossFilesNamesBothFiles) {
  Write("a.yml", "checks:\n  - name: x\n    memory: {}\n");
  Write("b.yml", "checks:\n  - name: y\n    memory: {}\n  - name: x\n    memory: {}\n");
  EXPECT_THAT(Messages(Load()),
              ElementsAre(Path("b.yml") + ":4:11: checks[1].name: duplicate check name \"x\" "
                                          "(first defined at " +
                          Path("a.yml") + ":2)"));
}

TEST_F(ConfigDirectoryTest, ErrorsNameTheirOwnFileInFileOrder) {
  Write("b.yml", "checks:\n  - name: y\n    memory: {}\n    depends_on: nope\n");
  Write("a.yml", "checks:\n  - name: x\n    memroy: {}\n");
  Write("c.yml", "checks: [unclosed\n");
  std::vector<std::string> messages = Messages(Load());
  ASSERT_EQ(messages.size(), 4u) << ::testing::PrintToString(messages);
  EXPECT_EQ(messages[0].rfind(Path("a.yml") + ":2:5: checks[0]: missing check type", 0), 0u)
      << messages[0];
  EXPECT_EQ(messages[1].rfind(Path("a.yml") + ":3:5: checks[0]: unknown key \"memroy\"", 0), 0u)
      << messages[1];
  EXPECT_EQ(messages[2],
            Path("b.yml") + ":4:17: checks[0].depends_on: unknown check \"nope\"");
  EXPECT_EQ(messages[3].rfind(Path("c.yml") + ":", 0), 0u) << messages[3];
}

TEST_F(ConfigDirectoryTest, DependsOnMayNameACheckInAnotherFile) {
  Write("a.yml", "checks:\n  - name: app\n    memory: {}\n    depends_on: [db]\n");
  Write("b.yml", "checks:\n  - name: db\n    memory: {}\n    depends_on: app\n");
  EXPECT_THAT(Messages(Load()), ElementsAre(Path("a.yml") +
                                            ":4:18: checks[0].depends_on[0]: dependency cycle: "
                                            "app -> db -> app"));
  Write("b.yml", "checks:\n  - name: db\n    memory: {}\n");
  EXPECT_THAT(Messages(Load()), IsEmpty());
}

TEST_F(ConfigDirectoryTest, OnlyOneFileMaySetGlobal) {
  Write("a.yml", "global:\n  interval: 5s\nchecks:\n  - name: a\n    memory: {}\n");
  Write("b.yml", "global:\n  timeout: 1s\n");
  EXPECT_THAT(Messages(Load()),
              ElementsAre(Path("b.yml") + ":2:3: global: already set in " + Path("a.yml") +
                          ":2; only one file of a config directory may set it"));
}

TEST_F(ConfigDirectoryTest, NoChecksAtAllIsAnError) {
  Write("a.yml", "global:\n  interval: 5s\n");
  EXPECT_THAT(Messages(Load()), ElementsAre(dir_.path() + ": no checks in any of the 1 file"));
}

TEST(ConfigFingerprintTest, SameEntrySameFingerprintAnyChangeADifferentOne) {
  auto load = [](const std::string& yaml) {
    LoadResult r = LoadConfigString(yaml, "c.yml", BuiltinCheckTypes(), NoEnv());
    EXPECT_THAT(Messages(r), IsEmpty());
    return r.config->checks;
  };
  const std::string a = "  - name: a\n    memory: {}\n";
  const std::string b = "  - name: b\n    interval: 5s\n    disk: {path: /}\n";
  auto base = load("checks:\n" + a + b);
  // Order, comments and the other checks do not matter.
  auto moved = load("# comment\nchecks:\n" + b + "  # note\n" + a);
  EXPECT_EQ(base[0].fingerprint, moved[1].fingerprint);
  EXPECT_EQ(base[1].fingerprint, moved[0].fingerprint);
  EXPECT_NE(base[0].fingerprint, base[1].fingerprint);
  // Its own keys and inherited defaults do.
  auto changed = load("checks:\n" + a + "  - name: b\n    interval: 6s\n    disk: {path: /}\n");
  EXPECT_NE(base[1].fingerprint, changed[1].fingerprint);
  EXPECT_EQ(base[0].fingerprint, changed[0].fingerprint);
  auto inherited = load("global:\n  timeout: 1s\nchecks:\n" + a + b);
  EXPECT_NE(base[0].fingerprint, inherited[0].fingerprint);
  auto buckets = load("global:\n  duration_buckets: [0.1, 1]\nchecks:\n" + a + b);
  EXPECT_NE(base[1].fingerprint, buckets[1].fingerprint);
}

TEST(ConfigFingerprintTest, ASecretFileChangeChangesTheFingerprintWithoutRevealingIt) {
  TempDir dir;
  const std::string file = dir.path() + "/token";
  std::ofstream(file) << "first-secret-token-value\n";
  chmod(file.c_str(), 0600);
  const std::string yaml =
      "checks:\n  - name: cron\n    heartbeat:\n      ttl: 1h\n      token_file: " + file + "\n";
  auto load = [&] {
    LoadResult r = LoadConfigString(yaml, "c.yml", BuiltinCheckTypes(), NoEnv());
    EXPECT_THAT(Messages(r), IsEmpty());
    return r.config->checks.at(0).fingerprint;
  };
  const std::string first = load();
  EXPECT_EQ(first, load());
  std::ofstream(file) << "second-secret-token-value\n";
  const std::string second = load();
  EXPECT_NE(first, second);
  EXPECT_EQ(first.find("secret"), std::string::npos);
  EXPECT_EQ(first.size(), 64u);  // a SHA-256, nothing else
}

TEST(ConfigFingerprintTest, StartupSpreadRestartsNoCheck) {
  // It only says when checks added from now on run first.
  auto fingerprint = [](const std::string& global) {
    LoadResult r = LoadConfigString(global + "checks:\n  - {name: a, tcp: {address: 'h:1'}}\n",
                                    "c.yml", BuiltinCheckTypes(), NoEnv());
    EXPECT_THAT(Messages(r), IsEmpty());
    return r.config->checks.at(0).fingerprint;
  };
  EXPECT_EQ(fingerprint(""), fingerprint("global: {startup_spread: 1m}\n"));
}

TEST(ConfigFingerprintTest, NativeBucketingRestartsChecksProtobufClassicBucketsDoNot) {
  // A histogram cannot change its schema, bucket limit or zero bucket and
  // keep its counts; whether protobuf scrapes also carry the classic
  // buckets changes only how the same counts are written.
  auto fingerprint = [](const std::string& global) {
    LoadResult r = LoadConfigString(global + "checks:\n  - {name: a, tcp: {address: 'h:1'}}\n",
                                    "c.yml", BuiltinCheckTypes(), NoEnv());
    EXPECT_THAT(Messages(r), IsEmpty());
    return r.config->checks.at(0).fingerprint;
  };
  const std::string base = fingerprint("");
  EXPECT_EQ(base, fingerprint("global: {native_histograms: {bucket_factor: 1.1}}\n"));
  EXPECT_NE(base, fingerprint("global: {native_histograms: {bucket_factor: 1.2}}\n"));
  EXPECT_NE(base, fingerprint("global: {native_histograms: {max_buckets: 100}}\n"));
  EXPECT_NE(base, fingerprint("global: {native_histograms: {zero_threshold: 0.001}}\n"));
  EXPECT_EQ(base, fingerprint("global: {duration_buckets_in_protobuf: false}\n"));
}

TEST(ConfigHashTest, HashFollowsTheBytesOfTheFile) {
  auto hash = [](const std::string& yaml) {
    LoadResult r = LoadConfigString(yaml, "c.yml", BuiltinCheckTypes(), NoEnv());
    EXPECT_TRUE(r.config);
    return r.config ? r.config->hash : "";
  };
  const std::string yaml = "checks:\n  - name: a\n    memory: {}\n";
  EXPECT_EQ(hash(yaml), hash(yaml));
  EXPECT_NE(hash(yaml), hash(yaml + "# a comment\n"));
  EXPECT_EQ(hash(yaml).size(), 64u);
}

}  // namespace
}  // namespace hx
