// Loader tests against a registry of fake check types, so they pin the common
// part of the format independently of the real http/tcp parsers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>

#include "checks/check.h"
#include "config/config.h"

namespace hx {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::string_view_literals;

// The parsed `fake:` mapping: one required `target`.
class FakeSpec : public CheckSpec {
 public:
  explicit FakeSpec(std::string target) : target_(std::move(target)) {}
  std::unique_ptr<Check> CreateCheck(const CheckContext&) const override { return nullptr; }
  std::string Target() const override { return target_; }

 private:
  std::string target_;
};

CheckType FakeType(std::string name) {
  return {std::move(name), [](config::MapReader& r) -> std::shared_ptr<const CheckSpec> {
            const size_t before = r.context().errors().size();
            r.Require("target");
            std::optional<std::string> target = r.String("target");
            // Validation of an expanded value: the message must not quote it.
            if (target && target->starts_with("bad")) r.Error("target", "target is not allowed");
            r.Finish();
            if (r.context().errors().size() != before || !target) return nullptr;
            return std::make_shared<FakeSpec>(*target);
          }};
}

const CheckTypeRegistry& FakeTypes() {
  static const CheckTypeRegistry registry = [] {
    CheckTypeRegistry r;
    r.Register(FakeType("fake"));
    r.Register(FakeType("other"));
    // A buggy parser: throws. The loader must turn that into an error.
    r.Register({"throws", [](config::MapReader&) -> std::shared_ptr<const CheckSpec> {
                  throw std::runtime_error("boom");
                }});
    // A parser that fails without saying why.
    r.Register({"silent", [](config::MapReader& r) -> std::shared_ptr<const CheckSpec> {
                  r.Finish();
                  return nullptr;
                }});
    return r;
  }();
  return registry;
}

config::EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

LoadResult Load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return LoadConfigString(yaml, "c.yml", FakeTypes(), FakeEnv(std::move(env)));
}

std::vector<std::string> Messages(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.ToString());
  return out;
}

TEST(LoaderTest, MinimalConfigGetsEveryDefault) {
  LoadResult r = Load(R"(
checks:
  - name: api
    fake: {target: "host:1"}
)");
  ASSERT_THAT(Messages(r), IsEmpty());
  ASSERT_TRUE(r.config.has_value());
  const Config& c = *r.config;
  EXPECT_EQ(c.source, "c.yml");
  EXPECT_EQ(c.global.interval, seconds(30));
  EXPECT_EQ(c.global.timeout, seconds(5));
  EXPECT_EQ(c.global.degraded_latency, std::nullopt);
  EXPECT_EQ(c.global.startup_spread, seconds(10));
  EXPECT_EQ(c.global.duration_buckets,
            (std::vector<double>{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}));
  EXPECT_EQ(c.global.native_histograms.bucket_factor, 1.1);
  EXPECT_EQ(c.global.native_histograms.max_buckets, 160u);
  EXPECT_EQ(c.global.native_histograms.zero_threshold, std::ldexp(1.0, -128));
  EXPECT_TRUE(c.global.duration_buckets_in_protobuf);
  ASSERT_EQ(c.checks.size(), 1u);
  const CheckConfig& check = c.checks[0];
  EXPECT_EQ(check.name, "api");
  EXPECT_EQ(check.type, "fake");
  EXPECT_EQ(check.interval, seconds(30));
  EXPECT_EQ(check.timeout, seconds(5));
  EXPECT_TRUE(check.critical);
  EXPECT_EQ(check.degraded_latency, std::nullopt);
  EXPECT_EQ(check.failure_threshold, 1);
  EXPECT_EQ(check.success_threshold, 1);
  EXPECT_THAT(check.labels, IsEmpty());
  EXPECT_THAT(check.depends_on, IsEmpty());
  EXPECT_EQ(check.unhealthy_interval, std::nullopt);
  EXPECT_EQ(check.slo, std::nullopt);
  EXPECT_EQ(c.global.unhealthy_interval, std::nullopt);
  ASSERT_NE(check.spec, nullptr);
  EXPECT_EQ(check.spec->Target(), "host:1");
  EXPECT_EQ(check.mark.line, 3);
  EXPECT_EQ(check.mark.column, 5);
}

TEST(LoaderTest, EveryFieldIsRead) {
  LoadResult r = Load(R"(
global:
  interval: 1m
  timeout: 3s
  degraded_latency: 700ms
  startup_spread: 2s500ms
  duration_buckets: [0.1, 1, 10]
  native_histograms: {bucket_factor: 1.05, max_buckets: 80, zero_threshold: 1e-6}
  duration_buckets_in_protobuf: false
checks:
  - name: api.v2_main-1
    interval: 10s
    timeout: 2s
    critical: false
    degraded_latency: 500ms
    failure_threshold: 3
    success_threshold: 100
    labels: {team: payments, Zone: eu, _x: "1", tier: 2}
    fake: {target: t}
  - name: inherits
    other: {target: u}
)");
  ASSERT_THAT(Messages(r), IsEmpty());
  const Config& c = *r.config;
  EXPECT_EQ(c.global.interval, std::chrono::minutes(1));
  EXPECT_EQ(c.global.timeout, seconds(3));
  EXPECT_EQ(c.global.degraded_latency, milliseconds(700));
  EXPECT_EQ(c.global.startup_spread, milliseconds(2500));
  EXPECT_EQ(c.global.duration_buckets, (std::vector<double>{0.1, 1, 10}));
  EXPECT_EQ(c.global.native_histograms.bucket_factor, 1.05);
  EXPECT_EQ(c.global.native_histograms.max_buckets, 80u);
  EXPECT_EQ(c.global.native_histograms.zero_threshold, 1e-6);
  EXPECT_FALSE(c.global.duration_buckets_in_protobuf);
  ASSERT_EQ(c.checks.size(), 2u);
  const CheckConfig& api = c.checks[0];
  EXPECT_EQ(api.name, "api.v2_main-1");
  EXPECT_EQ(api.interval, seconds(10));
  EXPECT_EQ(api.timeout, seconds(2));
  EXPECT_FALSE(api.critical);
  EXPECT_EQ(api.degraded_latency, milliseconds(500));
  EXPECT_EQ(api.failure_threshold, 3);
  EXPECT_EQ(api.success_threshold, 100);
  // Sorted by name (byte order: upper case first).
  EXPECT_THAT(api.labels, ElementsAre(std::pair<std::string, std::string>{"Zone", "eu"},
                                      std::pair<std::string, std::string>{"_x", "1"},
                                      std::pair<std::string, std::string>{"team", "payments"},
                                      std::pair<std::string, std::string>{"tier", "2"}));
  const CheckConfig& inherits = c.checks[1];
  EXPECT_EQ(inherits.type, "other");
  EXPECT_EQ(inherits.interval, std::chrono::minutes(1));
  EXPECT_EQ(inherits.timeout, seconds(3));
  EXPECT_EQ(inherits.degraded_latency, milliseconds(700));
}

TEST(LoaderTest, DefaultTimeoutIsClampedToTheInterval) {
  LoadResult r = Load(R"(
global: {timeout: 5s}
checks:
  - {name: fast, interval: 2s, fake: {target: t}}
  - {name: slow, interval: 1m, fake: {target: t}}
  - {name: exact, interval: 3s, timeout: 3s, fake: {target: t}}
)");
  ASSERT_THAT(Messages(r), IsEmpty());
  EXPECT_EQ(r.config->checks[0].timeout, seconds(2));
  EXPECT_EQ(r.config->checks[1].timeout, seconds(5));
  EXPECT_EQ(r.config->checks[2].timeout, seconds(3));  // equal to the interval is fine
}

TEST(LoaderTest, StartupSpreadMayBeZeroOrLongerThanEveryInterval) {
  // 0 runs every first run at once; longer than an interval is capped per
  // check by the scheduler, not an error.
  for (const char* value : {"0s", "0", "1d"}) {
    SCOPED_TRACE(value);
    LoadResult r = Load(std::string("global: {startup_spread: ") + value +
                        "}\nchecks:\n  - {name: a, interval: 10s, fake: {target: t}}\n");
    ASSERT_THAT(Messages(r), IsEmpty());
    EXPECT_EQ(r.config->global.startup_spread,
              std::string(value) == "1d" ? Duration(std::chrono::hours(24)) : Duration::zero());
  }
}

TEST(LoaderTest, EmptyGlobalIsAllowed) {
  LoadResult r = Load("global:\nchecks:\n  - {name: a, fake: {target: t}}\n");
  EXPECT_THAT(Messages(r), IsEmpty());
  EXPECT_TRUE(r.config.has_value());
}

struct ErrorCase {
  std::string yaml;
  std::vector<std::string> errors;
};

// One row per error class, with the exact text a user reads.
TEST(LoaderTest, ReportsEachErrorClassExactly) {
  const ErrorCase cases[] = {
      {"checks:\n  - name: a\n    fake: {target: t, urll: x}\n",
       {R"(c.yml:3:23: checks[0].fake: unknown key "urll")"}},
      {"global:\n  startup_spread: 10\nchecks: [{name: a, fake: {target: t}}]\n",
       {R"(c.yml:2:19: global.startup_spread: not a valid duration "10" (use e.g. 500ms, 10s, 1m30s))"}},
      {"global:\n  startup_spread: -1s\nchecks: [{name: a, fake: {target: t}}]\n",
       {R"(c.yml:2:19: global.startup_spread: not a valid duration "-1s" (use e.g. 500ms, 10s, 1m30s))"}},
      {"checks:\n  - name: a\n    intervall: 5s\n    fake: {target: t}\n",
       {R"(c.yml:3:5: checks[0]: unknown key "intervall" (did you mean "interval"?))"}},
      {"chekcs: []\n",
       {R"(c.yml:1:1: missing required key "checks")",
        R"(c.yml:1:1: unknown key "chekcs" (did you mean "checks"?))"}},
      {"global: {timout: 1s}\nchecks:\n  - {name: a, fake: {target: t}}\n",
       {R"(c.yml:1:10: global: unknown key "timout" (did you mean "timeout"?))"}},
      {"checks:\n  - name: a\n    name: b\n    fake: {target: t}\n",
       {R"(c.yml:3:5: checks[0]: duplicate key "name" (first defined at line 2))"}},
      {"checks:\n  - name: a\n    fake: {target: t}\n  - name: b\n    fake: {target: t}\n"
       "  - name: a\n    fake: {target: t}\n",
       {R"(c.yml:6:11: checks[2].name: duplicate check name "a" (first defined at line 2))"}},
      {"checks:\n  - name: a\n",
       {"c.yml:2:5: checks[0]: missing check type: expected exactly one of fake, other, throws, "
        "silent"}},
      {"checks:\n  - name: a\n    other: {target: t}\n    fake: {target: t}\n",
       {"c.yml:2:5: checks[0]: more than one check type (other, fake): expected exactly one"}},
      {"checks:\n  - name: a\n    fak: {target: t}\n",
       {"c.yml:2:5: checks[0]: missing check type: expected exactly one of fake, other, throws, "
        "silent",
        R"(c.yml:3:5: checks[0]: unknown key "fak" (did you mean "fake"?))"}},
      {"checks:\n  - fake: {target: t}\n",
       {R"(c.yml:2:5: checks[0]: missing required key "name")"}},
      {"checks:\n  - name: a b\n    fake: {target: t}\n",
       {R"(c.yml:2:11: checks[0].name: invalid check name "a b": use letters, digits, "_", "." and "-")"}},
      {"checks:\n  - name: ''\n    fake: {target: t}\n",
       {R"(c.yml:2:11: checks[0].name: invalid check name "": use letters, digits, "_", "." and "-")"}},
      {"checks:\n  - name: a\n    interval: 5ms\n    fake: {target: t}\n",
       {"c.yml:3:15: checks[0].interval: must be at least 10ms"}},
      {"checks:\n  - name: a\n    interval: [1]\n    fake: {target: t}\n",
       {"c.yml:3:15: checks[0].interval: expected a duration like 10s, got a sequence"}},
      {"checks:\n  - name: a\n    interval: 5s\n    timeout: 6s\n    fake: {target: t}\n",
       {"c.yml:4:14: checks[0].timeout: must not be longer than the interval (5s)"}},
      {"checks:\n  - name: a\n    timeout: 0s\n    fake: {target: t}\n",
       {"c.yml:3:14: checks[0].timeout: must be greater than 0s"}},
      {"checks:\n  - name: a\n    timeout: 1s\n    degraded_latency: 1s\n    fake: {target: t}\n",
       {"c.yml:4:23: checks[0].degraded_latency: must be less than the timeout (1s)"}},
      {"checks:\n  - name: a\n    degraded_latency: 0s\n    fake: {target: t}\n",
       {"c.yml:3:23: checks[0].degraded_latency: must be greater than 0s"}},
      {"checks:\n  - name: a\n    critical: yes please\n    fake: {target: t}\n",
       {R"(c.yml:3:15: checks[0].critical: expected true or false, got "yes please")"}},
      {"checks:\n  - name: a\n    failure_threshold: 0\n    success_threshold: 101\n"
       "    fake: {target: t}\n",
       {R"(c.yml:3:24: checks[0].failure_threshold: must be an integer from 1 to 100, got "0")",
        R"(c.yml:4:24: checks[0].success_threshold: must be an integer from 1 to 100, got "101")"}},
      {"checks:\n  - name: a\n    labels: {team-x: a, __meta: b, check: c, le: d, job: e, "
       "instance: f, ok: [g]}\n    fake: {target: t}\n",
       {R"(c.yml:3:14: checks[0].labels.team-x: invalid label name "team-x": must match [a-zA-Z_][a-zA-Z0-9_]*)",
        R"(c.yml:3:25: checks[0].labels.__meta: label name "__meta" is reserved: names starting with "__" are Prometheus' own)",
        R"(c.yml:3:36: checks[0].labels.check: label name "check" is reserved: it is set by the exporter)",
        R"(c.yml:3:46: checks[0].labels.le: label name "le" is reserved: it is set by the exporter)",
        R"(c.yml:3:53: checks[0].labels.job: label name "job" is reserved: it is set by the exporter or by Prometheus)",
        R"(c.yml:3:61: checks[0].labels.instance: label name "instance" is reserved: it is set by the exporter or by Prometheus)",
        "c.yml:3:78: checks[0].labels.ok: expected a string, got a sequence"}},
      {"checks:\n  - name: a\n    labels: [a]\n    fake: {target: t}\n",
       {"c.yml:3:13: checks[0].labels: expected a mapping, got a sequence"}},
      {"checks:\n  - name: a\n    fake:\n",
       {"c.yml:3:5: checks[0].fake: expected a mapping, got null"}},
      {"checks:\n  - name: a\n    fake: {}\n",
       {R"(c.yml:3:11: checks[0].fake: missing required key "target")"}},
      {"checks:\n  - name: a\n    throws: {}\n",
       {"c.yml:3:13: checks[0].throws: internal error in the throws parser: boom"}},
      {"checks:\n  - name: a\n    silent: {}\n",
       {"c.yml:3:13: checks[0].silent: the silent check type rejected this configuration"}},
      {"global:\n  interval: 1ms\n  timeout: 0s\nchecks:\n  - {name: a, fake: {target: t}}\n",
       {"c.yml:2:13: global.interval: must be at least 10ms",
        "c.yml:3:12: global.timeout: must be greater than 0s"}},
      {"global:\n  degraded_latency: 5s\nchecks:\n  - {name: a, fake: {target: t}}\n",
       {"c.yml:2:21: global.degraded_latency: must be less than the timeout (5s)"}},
      {"global:\n  duration_buckets: [0.1, 0.1, -1, x, [1], 5]\nchecks:\n"
       "  - {name: a, fake: {target: t}}\n",
       {"c.yml:2:27: global.duration_buckets[1]: must be greater than the previous bound",
        "c.yml:2:32: global.duration_buckets[2]: must be greater than 0",
        R"(c.yml:2:36: global.duration_buckets[3]: expected a number of seconds, got "x")",
        "c.yml:2:39: global.duration_buckets[4]: expected a number of seconds, got a sequence"}},
      {"global:\n  duration_buckets: []\nchecks:\n  - {name: a, fake: {target: t}}\n",
       {"c.yml:2:21: global.duration_buckets: expected a non-empty list of ascending bucket "
        "bounds in seconds"}},
      {"global: [1]\nchecks:\n  - {name: a, fake: {target: t}}\n",
       {"c.yml:1:9: global: expected a mapping, got a sequence"}},
      {"checks:\n  - name: a\n    fake: {target: \"${MISSING}\"}\n",
       {R"(c.yml:3:20: checks[0].fake.target: environment variable "MISSING" is not set)"}},
      {"checks: [1, 2]\n",
       {R"(c.yml:1:10: checks[0]: expected a mapping, got "1")",
        R"(c.yml:1:13: checks[1]: expected a mapping, got "2")"}},
      {"checks: []\n", {"c.yml:1:9: checks: at least one check is required"}},
      {"checks:\n  - <<: {name: a}\n    name: b\n    fake: {target: t}\n",
       {R"(c.yml:2:5: checks[0]: unknown key "<<" (YAML merge keys are not supported))"}},
      {"checks: null\n", {"c.yml:1:1: checks: expected a list of checks, got null"}},
      {"checks: {name: a}\n", {"c.yml:1:9: checks: expected a list of checks, got a mapping"}},
      {"checks:\n  - name: a\nfake: {target: t}\n",
       {"c.yml:2:5: checks[0]: missing check type: expected exactly one of fake, other, throws, "
        "silent",
        R"(c.yml:3:1: unknown key "fake")"}},
      {"checks: [\n", {"c.yml:2:1: end of sequence flow not found"}},
      {"a: 1\n---\nb: 2\n", {"c.yml:3:1: expected one YAML document, found 2"}},
      {"", {R"(c.yml:1:1: the config is empty: expected a mapping with a "checks" list)"}},
      {"# only a comment\n",
       {R"(c.yml:1:1: the config is empty: expected a mapping with a "checks" list)"}},
      {"just a scalar\n", {R"(c.yml:1:1: expected a mapping, got "just a scalar")"}},
      {"- a\n- b\n", {"c.yml:1:1: expected a mapping, got a sequence"}},
  };
  for (const auto& c : cases) {
    LoadResult r = Load(c.yaml);
    EXPECT_EQ(Messages(r), c.errors) << c.yaml;
    EXPECT_FALSE(r.config.has_value()) << c.yaml;
  }
}

TEST(LoaderTest, ReadsDependenciesBackoffAndSlo) {
  LoadResult r = Load(R"(
global:
  interval: 10s
  unhealthy_interval: 1m
checks:
  - name: api
    depends_on: [db, cache]
    slo: 99.9%
    fake: {target: t}
  - name: db
    interval: 5s
    unhealthy_interval: 30s
    slo: 99.95%
    fake: {target: t}
  - name: cache
    depends_on: db
    interval: 2m
    fake: {target: t}
  - name: worker
    depends_on: []
    interval: 1m
    fake: {target: t}
)");
  ASSERT_THAT(Messages(r), IsEmpty());
  const Config& c = *r.config;
  EXPECT_EQ(c.global.unhealthy_interval, std::chrono::minutes(1));
  const CheckConfig& api = c.checks[0];
  EXPECT_THAT(api.depends_on, ElementsAre("db", "cache"));
  EXPECT_EQ(api.unhealthy_interval, std::chrono::minutes(1));  // inherited
  ASSERT_TRUE(api.slo.has_value());
  EXPECT_DOUBLE_EQ(*api.slo, 0.999);
  const CheckConfig& db = c.checks[1];
  EXPECT_THAT(db.depends_on, IsEmpty());
  EXPECT_EQ(db.unhealthy_interval, seconds(30));
  EXPECT_DOUBLE_EQ(*db.slo, 0.9995);
  const CheckConfig& cache = c.checks[2];
  EXPECT_THAT(cache.depends_on, ElementsAre("db"));  // a single name is a list of one
  // The inherited 1m would be faster than its own 2m interval: no backoff.
  EXPECT_EQ(cache.unhealthy_interval, std::nullopt);
  EXPECT_EQ(cache.slo, std::nullopt);
  const CheckConfig& worker = c.checks[3];
  EXPECT_THAT(worker.depends_on, IsEmpty());
  EXPECT_EQ(worker.unhealthy_interval, std::chrono::minutes(1));  // equal is kept
}

TEST(LoaderTest, UnhealthyIntervalIsComparedWithTheChecksOwnInterval) {
  LoadResult r = Load(R"(
checks:
  - {name: a, interval: 10s, timeout: 10s, unhealthy_interval: 10s, fake: {target: t}}
  - {name: b, interval: 1m, unhealthy_interval: 59s, fake: {target: t}}
)");
  EXPECT_THAT(Messages(r),
              ElementsAre("c.yml:4:49: checks[1].unhealthy_interval: must not be shorter than the "
                          "interval (1m)"));
}

// Dependency errors are found after every check was read, and every one is
// reported, in file order.
TEST(LoaderTest, ReportsEveryDependencyErrorExactly) {
  const ErrorCase cases[] = {
      {"checks:\n  - {name: db, fake: {target: t}}\n"
       "  - {name: api, depends_on: [dbb], fake: {target: t}}\n",
       {R"(c.yml:3:30: checks[1].depends_on[0]: unknown check "dbb" (did you mean "db"?))"}},
      {"checks:\n  - {name: db, fake: {target: t}}\n"
       "  - {name: api, depends_on: [queue], fake: {target: t}}\n",
       {R"(c.yml:3:30: checks[1].depends_on[0]: unknown check "queue")"}},
      // A name close only to the check itself gets no hint.
      {"checks:\n  - {name: db1, depends_on: db, fake: {target: t}}\n",
       {R"(c.yml:2:29: checks[0].depends_on: unknown check "db")"}},
      {"checks:\n  - {name: a, depends_on: [a], fake: {target: t}}\n",
       {"c.yml:2:28: checks[0].depends_on[0]: a check cannot depend on itself"}},
      {"checks:\n  - {name: a, depends_on: [b, b], fake: {target: t}}\n"
       "  - {name: b, fake: {target: t}}\n",
       {R"(c.yml:2:31: checks[0].depends_on[1]: duplicate dependency "b" (first listed at depends_on[0]))"}},
      {"checks:\n  - {name: a, depends_on: b, fake: {target: t}}\n"
       "  - {name: b, depends_on: [a], fake: {target: t}}\n",
       {"c.yml:2:27: checks[0].depends_on: dependency cycle: a -> b -> a"}},
      {"checks:\n  - {name: a, depends_on: {x: y}, fake: {target: t}}\n",
       {"c.yml:2:27: checks[0].depends_on: expected a list of check names, got a mapping"}},
      {"checks:\n  - name: a\n    depends_on:\n    fake: {target: t}\n",
       {"c.yml:3:5: checks[0].depends_on: expected a list of check names, got null"}},
      {"checks:\n  - {name: a, depends_on: [[b]], fake: {target: t}}\n"
       "  - {name: b, fake: {target: t}}\n",
       {"c.yml:2:28: checks[0].depends_on[0]: expected a check name, got a sequence"}},
      {"checks:\n  - {name: a, slo: 100%, fake: {target: t}}\n",
       {"c.yml:2:20: checks[0].slo: must be greater than 0% and less than 100%"}},
      {"checks:\n  - {name: a, slo: 0%, fake: {target: t}}\n",
       {"c.yml:2:20: checks[0].slo: must be greater than 0% and less than 100%"}},
      {"checks:\n  - {name: a, slo: 0.999, fake: {target: t}}\n",
       {R"(c.yml:2:20: checks[0].slo: not a valid percentage "0.999" (use e.g. 90% or 99.5%))"}},
      {"checks:\n  - {name: a, slo: 100.1%, fake: {target: t}}\n",
       {R"(c.yml:2:20: checks[0].slo: percentage "100.1%" is above 100%)"}},
      {"global: {interval: 1m, unhealthy_interval: 30s}\nchecks:\n  - {name: a, fake: {target: "
       "t}}\n",
       {"c.yml:1:44: global.unhealthy_interval: must not be shorter than the interval (1m)"}},
      {"checks:\n  - {name: a, interval: 1m, unhealthy_interval: 10s, fake: {target: t}}\n",
       {"c.yml:2:49: checks[0].unhealthy_interval: must not be shorter than the interval (1m)"}},
      {"checks:\n  - {name: a, unhealthy_interval: soon, fake: {target: t}}\n",
       {R"(c.yml:2:35: checks[0].unhealthy_interval: not a valid duration "soon" (use e.g. 500ms, 10s, 1m30s))"}},
      {"checks:\n  - {name: a, depends_onn: [b], fake: {target: t}}\n",
       {R"(c.yml:2:15: checks[0]: unknown key "depends_onn" (did you mean "depends_on"?))"}},
  };
  for (const auto& c : cases) {
    LoadResult r = Load(c.yaml);
    EXPECT_EQ(Messages(r), c.errors) << c.yaml;
    EXPECT_FALSE(r.config.has_value()) << c.yaml;
  }
}

TEST(LoaderTest, ReportsEachDependencyCycleOnceAtItsFirstCheck) {
  LoadResult r = Load(R"(checks:
  - name: web
    depends_on: [api]
    fake: {target: t}
  - name: api
    depends_on: [auth, db]
    fake: {target: t}
  - name: db
    depends_on: [disk, api]
    fake: {target: t}
  - name: disk
    fake: {target: t}
  - name: auth
    depends_on: [web]
    fake: {target: t}
  - name: x
    depends_on: [y]
    fake: {target: t}
  - name: y
    depends_on: [x, disk]
    fake: {target: t}
)");
  // web -> api -> auth -> web and api -> db -> api are one group; its first
  // check is web, and the shortest cycle through web is reported.
  EXPECT_THAT(Messages(r),
              ElementsAre("c.yml:3:18: checks[0].depends_on[0]: dependency cycle: web -> api -> "
                          "auth -> web",
                          "c.yml:17:18: checks[5].depends_on[0]: dependency cycle: x -> y -> x"));
}

TEST(LoaderTest, DependencyErrorsAreReportedWithOtherErrorsOfTheFile) {
  LoadResult r = Load(R"(checks:
  - name: api
    depends_on: [api, db, cach, db]
    timeout: 1h
    fake: {target: t}
  - name: db
    interval: 1ms
    depends_on: [api]
    fake: {target: t}
  - name: cache
    fake: {}
)");
  // A check with errors of its own (db, cache) is still a known name with
  // its dependencies, so the cycle and the hint are found too.
  EXPECT_THAT(
      Messages(r),
      ElementsAre(
          "c.yml:3:18: checks[0].depends_on[0]: a check cannot depend on itself",
          "c.yml:3:23: checks[0].depends_on[1]: dependency cycle: api -> db -> api",
          R"(c.yml:3:27: checks[0].depends_on[2]: unknown check "cach" (did you mean "cache"?))",
          R"(c.yml:3:33: checks[0].depends_on[3]: duplicate dependency "db" (first listed at depends_on[1]))",
          "c.yml:4:14: checks[0].timeout: must not be longer than the interval (30s)",
          "c.yml:7:15: checks[1].interval: must be at least 10ms",
          R"(c.yml:11:11: checks[2].fake: missing required key "target")"));
}

TEST(LoaderTest, LongDependencyChainLoadsAndACycleClosingItIsFound) {
  // A long chain walks the iterative cycle search end to end; 2,000 checks
  // because reading each check, not the graph, dominates the load time.
  std::string yaml = "checks:\n";
  constexpr int kChecks = 2'000;
  for (int i = 0; i < kChecks; ++i) {
    yaml += "  - {name: c" + std::to_string(i) + ", fake: {target: t}";
    if (i + 1 < kChecks) yaml += ", depends_on: [c" + std::to_string(i + 1) + "]";
    yaml += "}\n";
  }
  LoadResult ok = Load(yaml);
  ASSERT_THAT(Messages(ok), IsEmpty());
  EXPECT_THAT(ok.config->checks[0].depends_on, ElementsAre("c1"));

  yaml.insert(yaml.size() - 2, ", depends_on: [c0]");
  LoadResult cycle = Load(yaml);
  ASSERT_EQ(cycle.errors.size(), 1u);
  const std::string& message = cycle.errors[0].message;
  EXPECT_TRUE(message.starts_with("dependency cycle: c0 -> c1 -> c2 -> ")) << message.substr(0, 80);
  EXPECT_TRUE(message.ends_with(" -> c1998 -> c1999 -> c0")) << message.substr(message.size() - 80);
  EXPECT_EQ(cycle.errors[0].path, "checks[0].depends_on[0]");
}

TEST(LoaderTest, ReportsEveryErrorInTheFileInLineOrder) {
  LoadResult r = Load(R"(global:
  interval: soon
checks:
  - name: one
    fake: {target: t}
    critical: maybe
  - name: two
    timeout: 1h
    fake: {target: t}
    bogus: 1
  - just-a-string
  - name: one
    fake: {}
)");
  EXPECT_THAT(
      Messages(r),
      ElementsAre(
          R"(c.yml:2:13: global.interval: not a valid duration "soon" (use e.g. 500ms, 10s, 1m30s))",
          R"(c.yml:6:15: checks[0].critical: expected true or false, got "maybe")",
          "c.yml:8:14: checks[1].timeout: must not be longer than the interval (30s)",
          R"(c.yml:10:5: checks[1]: unknown key "bogus")",
          R"(c.yml:11:5: checks[2]: expected a mapping, got "just-a-string")",
          R"(c.yml:12:11: checks[3].name: duplicate check name "one" (first defined at line 4))",
          R"(c.yml:13:11: checks[3].fake: missing required key "target")"));
  EXPECT_FALSE(r.config.has_value());
}

TEST(LoaderTest, ExpandsEnvironmentInStringsOnly) {
  LoadResult r = Load(R"(
checks:
  - name: a
    labels: {env: "${DEPLOY}", cost: "$$5"}
    fake: {target: "${HOST}:${PORT}"}
)",
                      {{"HOST", "db"}, {"PORT", "5432"}, {"DEPLOY", "prod"}});
  ASSERT_THAT(Messages(r), IsEmpty());
  const CheckConfig& check = r.config->checks[0];
  EXPECT_EQ(check.spec->Target(), "db:5432");
  EXPECT_THAT(check.labels, ElementsAre(std::pair<std::string, std::string>{"cost", "$5"},
                                        std::pair<std::string, std::string>{"env", "prod"}));
}

TEST(LoaderTest, SecretsFromTheEnvironmentNeverReachMessages) {
  const std::string secret = "s3cr3t-Tok3n";
  // The secret is used everywhere a value can be, next to every kind of error.
  LoadResult r = Load(R"(
global:
  interval: "${API_TOKEN}"
checks:
  - name: "${API_TOKEN}"
    interval: ${API_TOKEN}
    critical: ${API_TOKEN}
    failure_threshold: ${API_TOKEN}
    labels: {"bad-name": "${API_TOKEN}", token: ["${API_TOKEN}"], ok: "${API_TOKEN}"}
    fake: {target: "bad${API_TOKEN}", extra: "${API_TOKEN}", more: "${UNSET}${API_TOKEN}"}
  - name: b
    fake: {target: "${API_TOKEN}${"}
  - name: c
    fake: {target: "${API_TOKEN}", target: "${API_TOKEN}"}
)",
                      {{"API_TOKEN", secret}});
  ASSERT_GE(r.errors.size(), 10u);
  for (const std::string& message : Messages(r)) {
    EXPECT_EQ(message.find(secret), std::string::npos) << message;
    EXPECT_EQ(message.find("s3cr3t"), std::string::npos) << message;
  }
  EXPECT_FALSE(r.config.has_value());
}

TEST(LoaderTest, HostileInputNeverCrashes) {
  const std::string deep_seq = std::string(5000, '[') + std::string(5000, ']');
  std::string deep_map;
  for (int i = 0; i < 5000; ++i) deep_map += "{a: ";
  deep_map += std::string(5000, '}');
  const std::string inputs[] = {
      "",
      "~",
      "42",
      "!!binary aGVsbG8=",
      "checks:",
      "checks: ~",
      "checks: [~]",
      "checks: [[]]",
      "checks: [{}]",
      "checks: [{name: ~, fake: ~}]",
      "checks: [{name: [a], fake: [a]}]",
      "checks: [{name: {a: b}, labels: ~, fake: {target: ~}}]",
      "checks: &a [*a]",
      "checks: [&e {name: a, fake: {target: t}}, *e]",
      "checks: [{name: a, fake: &f {target: t, x: *f}}]",
      "global: &g {interval: *g}\nchecks: []",
      "? [a]\n: b",
      "? {a: b}\n: c\nchecks: []",
      "~: 1\nchecks: []",
      "checks: [{name: a, failure_threshold: 1e999999, interval: 99999999999999999999y, "
      "fake: {target: t}}]",
      "global: {duration_buckets: [1e999, 1e-999, -0, .nan]}\nchecks: []",
      "checks: [{<<: {name: a}, fake: {target: t}}]",
      "checks: [{name: !!int a, fake: !custom {target: !!str t}}]",
      "checks:\n\t- name: a",
      "\xff\xfe\x00garbage",
      std::string("checks: [{name: \"a\0b\", fake: {target: t}}]"sv),
      "*undefined_alias",
      "checks: [{name: a, fake: {target: t}}]\n---\n---\n",
      deep_seq,
      deep_map,
  };
  for (const std::string& input : inputs) {
    LoadResult r = Load(input);
    // Whatever the input, either a config or at least one located error.
    EXPECT_NE(r.config.has_value(), !r.errors.empty()) << input.substr(0, 80);
  }
}

TEST(LoaderTest, AliasedCheckIsReadTwiceAndNamedDuplicate) {
  LoadResult r = Load("checks: [&e {name: a, fake: {target: t}}, *e]\n");
  EXPECT_THAT(
      Messages(r),
      ElementsAre(
          R"(c.yml:1:20: checks[1].name: duplicate check name "a" (first defined at line 1))"));
}

class LoadFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hx_loader_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::remove((dir_ + "/c.yml").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
};

TEST_F(LoadFileTest, ReadsAFile) {
  const std::string path = dir_ + "/c.yml";
  std::ofstream(path) << "checks:\n  - name: a\n    fake: {target: t}\n    intervl: 1s\n";
  LoadResult r = LoadConfigFile(path, FakeTypes(), FakeEnv({}));
  EXPECT_THAT(
      Messages(r),
      ElementsAre(path + R"(:4:5: checks[0]: unknown key "intervl" (did you mean "interval"?))"));
}

TEST_F(LoadFileTest, GoodFileSetsSource) {
  const std::string path = dir_ + "/c.yml";
  std::ofstream(path) << "checks:\n  - name: a\n    fake: {target: t}\n";
  LoadResult r = LoadConfigFile(path, FakeTypes(), FakeEnv({}));
  ASSERT_THAT(Messages(r), IsEmpty());
  EXPECT_EQ(r.config->source, path);
}

TEST_F(LoadFileTest, MissingFileAndEmptyDirectoryAreOneErrorEach) {
  const std::string missing = dir_ + "/nope.yml";
  EXPECT_THAT(Messages(LoadConfigFile(missing, FakeTypes(), FakeEnv({}))),
              ElementsAre(missing + ": cannot read config file: No such file or directory"));
  EXPECT_THAT(Messages(LoadConfigFile(dir_, FakeTypes(), FakeEnv({}))),
              ElementsAre(dir_ + ": no *.yml or *.yaml files in the config directory"));
}

}  // namespace
}  // namespace hx
