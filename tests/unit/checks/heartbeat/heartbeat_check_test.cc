// The `heartbeat:` mapping, judging of records, and HeartbeatCheck reading a
// store with an injected wall clock.

#include "checks/heartbeat/heartbeat_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <map>

#include "checks/common/check_services.h"
#include "config/config.h"
#include "io/io_context.h"
#include "store/store.h"
#include "support/daemon_process.h"

namespace hx {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr std::string_view kToken = "s3cret-heartbeat-token-0123456789";

struct Parsed {
  std::shared_ptr<const HeartbeatCheckSpec> spec;
  std::vector<std::string> errors;
};

Parsed Parse(const std::string& yaml) {
  config::ParseContext ctx("inline.yml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "BACKUP_TOKEN") return std::string(kToken);
    if (name == "SHORT_TOKEN") return std::string("abc");
    return std::nullopt;
  });
  YAML::Node root = YAML::Load(yaml);
  config::MapReader reader(root, "heartbeat", ctx);
  Parsed out;
  out.spec = ParseHeartbeatCheckSpec(reader);
  for (const auto& e : ctx.errors()) out.errors.push_back(e.ToString());
  return out;
}

TEST(HeartbeatConfigTest, TokenFromTheEnvironment) {
  Parsed p = Parse("{ttl: 26h, token: \"${BACKUP_TOKEN}\"}");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().ttl, hours(26));
  EXPECT_EQ(p.spec->settings().token, kToken);
  EXPECT_EQ(p.spec->Target(), "push, ttl 26h");
}

TEST(HeartbeatConfigTest, TokenFromAFileWithoutItsNewline) {
  TempDir dir;
  const std::string path = dir.Write("backup.token", std::string(kToken) + "\n");
  Parsed p = Parse("{ttl: 90s, token_file: " + path + "}");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.spec->settings().token, kToken);
  EXPECT_EQ(p.spec->Target(), "push, ttl 1m30s");
}

TEST(HeartbeatConfigTest, Errors) {
  Parsed p = Parse(R"(
ttl: 500ms
token: "${BACKUP_TOKEN}"
token_file: /etc/hostname
grace: 1h
)");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_THAT(p.errors,
              ElementsAre("inline.yml:2:6: heartbeat.ttl: must be at least 1s",
                          "inline.yml:4:13: heartbeat.token_file: set either token or token_file, "
                          "not both",
                          "inline.yml:5:1: heartbeat: unknown key \"grace\""));
}

TEST(HeartbeatConfigTest, MissingKeys) {
  Parsed p = Parse("{interval_hint: 1}");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_THAT(p.errors, ElementsAre("inline.yml:1:1: heartbeat: missing required key \"ttl\"",
                                    "inline.yml:1:1: heartbeat: missing required key \"token\" or "
                                    "\"token_file\"",
                                    ::testing::StartsWith("inline.yml:1:2: heartbeat: unknown key "
                                                          "\"interval_hint\"")));
}

TEST(HeartbeatConfigTest, WeakOrUnreadableTokensNeverQuoteTheSecret) {
  TempDir dir;
  const std::string spaced = dir.Write("spaced.token", "has a space in the middle of it\n");
  const std::string empty = dir.Write("empty.token", "\n");
  struct Case {
    std::string yaml;
    std::string expected;
  } cases[] = {
      {"{ttl: 1h, token: \"${SHORT_TOKEN}\"}",
       "inline.yml:1:18: heartbeat.token: the token must be at least 16 characters (e.g. from "
       "`openssl rand -hex 32`)"},
      {"{ttl: 1h, token: \"\"}", "inline.yml:1:18: heartbeat.token: the token is empty"},
      {"{ttl: 1h, token_file: " + spaced + "}",
       "inline.yml:1:23: heartbeat.token_file: the token in \"" + spaced +
           "\" must be printable ASCII without spaces"},
      {"{ttl: 1h, token_file: " + empty + "}",
       "inline.yml:1:23: heartbeat.token_file: the token in \"" + empty + "\" is empty"},
      {"{ttl: 1h, token_file: " + dir.path() + "/missing.token}",
       "inline.yml:1:23: heartbeat.token_file: cannot read token file \"" + dir.path() +
           "/missing.token\": No such file or directory"},
  };
  for (const Case& c : cases) {
    Parsed p = Parse(c.yaml);
    EXPECT_EQ(p.spec, nullptr) << c.yaml;
    EXPECT_THAT(p.errors, ElementsAre(c.expected)) << c.yaml;
    for (const std::string& e : p.errors) {
      EXPECT_THAT(e, Not(HasSubstr("abc\""))) << "the short token leaked";
      EXPECT_THAT(e, Not(HasSubstr("in the middle"))) << "the file's content leaked";
    }
  }
}

TEST(HeartbeatFormatTest, Ages) {
  EXPECT_EQ(FormatHeartbeatAge(0), "0s");
  EXPECT_EQ(FormatHeartbeatAge(-4), "0s");
  EXPECT_EQ(FormatHeartbeatAge(42.9), "42s");
  EXPECT_EQ(FormatHeartbeatAge(60), "1m");
  EXPECT_EQ(FormatHeartbeatAge(303), "5m3s");
  EXPECT_EQ(FormatHeartbeatAge(3 * 3600 + 12 * 60 + 59), "3h12m");
  EXPECT_EQ(FormatHeartbeatAge(27 * 3600), "27h");
}

constexpr double kNow = 1'700'000'000.0;

HeartbeatRecord Pinged(double at, bool ok, std::string detail = "") {
  HeartbeatRecord record;
  record.watched_since = kNow - 100'000;
  record.last_ping = at;
  record.last_ok = ok;
  record.detail = std::move(detail);
  return record;
}

TEST(JudgeHeartbeatTest, WaitsForTheFirstHeartbeatForOneTtl) {
  HeartbeatRecord fresh;
  fresh.watched_since = kNow - 3600;
  CheckResult r = JudgeHeartbeat(fresh, hours(26), kNow);
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "waiting for the first heartbeat (ttl 26h)");
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_THAT(r.observations, IsEmpty());

  r = JudgeHeartbeat(fresh, minutes(30), kNow);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "no heartbeat since the daemon started watching (ttl 30m)");
  EXPECT_EQ(r.reason, FailureReason::kHeartbeatMissed);
  EXPECT_THAT(r.observations, IsEmpty());
}

TEST(JudgeHeartbeatTest, RecentSuccessIsHealthy) {
  CheckResult r = JudgeHeartbeat(Pinged(kNow - (3 * 3600 + 12 * 60 + 5), true), hours(26), kNow);
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "last heartbeat 3h12m ago");
  ASSERT_EQ(r.observations.size(), 1u);
  EXPECT_EQ(r.observations[0].name(), "heartbeat_last_ping_timestamp_seconds");
  EXPECT_DOUBLE_EQ(r.observations[0].value, kNow - (3 * 3600 + 12 * 60 + 5));
}

TEST(JudgeHeartbeatTest, ExactlyTtlOldIsStillHealthyOneSecondMoreIsNot) {
  EXPECT_EQ(JudgeHeartbeat(Pinged(kNow - 60, true), seconds(60), kNow).health, Health::kHealthy);
  CheckResult r = JudgeHeartbeat(Pinged(kNow - 27 * 3600, true), hours(26), kNow);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "no heartbeat for 27h (ttl 26h)");
  EXPECT_EQ(r.reason, FailureReason::kHeartbeatMissed);
  ASSERT_EQ(r.observations.size(), 1u);
  EXPECT_DOUBLE_EQ(r.observations[0].value, kNow - 27 * 3600);
}

TEST(JudgeHeartbeatTest, ReportedFailureIsUnhealthyWithItsDetail) {
  CheckResult r =
      JudgeHeartbeat(Pinged(kNow - 10, false, "pg_dump: connection refused"), hours(26), kNow);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "job reported failure: pg_dump: connection refused");
  EXPECT_EQ(r.reason, FailureReason::kHeartbeatFailed);
  ASSERT_EQ(r.observations.size(), 1u);
}

TEST(JudgeHeartbeatTest, APingFromTheFutureCountsAsJustNow) {
  CheckResult r = JudgeHeartbeat(Pinged(kNow + 30, true), minutes(5), kNow);
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "last heartbeat 0s ago");
}

// HeartbeatCheck through the spec, as the daemon builds it.
class HeartbeatCheckTest : public ::testing::Test {
 protected:
  HeartbeatCheckTest() {
    uv_loop_init(&loop_);
    db_ = OpenStore();
    store_ = std::make_shared<HeartbeatStore>(db_.get(), [this] { return now_.load(); });
    LoadResult loaded = LoadConfigString(
        "checks:\n"
        "  - name: nightly-backup\n"
        "    interval: 10s\n"
        "    heartbeat: {ttl: 26h, token: \"${BACKUP_TOKEN}\"}\n"
        "  - name: web\n"
        "    tcp: {address: \"127.0.0.1:1\"}\n",
        "inline.yml", BuiltinCheckTypes(),
        [](const std::string& name) -> std::optional<std::string> {
          if (name == "BACKUP_TOKEN") return std::string(kToken);
          return std::nullopt;
        });
    EXPECT_THAT(loaded.errors, IsEmpty());
    config_ = std::move(*loaded.config);
  }
  ~HeartbeatCheckTest() override {
    io_.Shutdown();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  // The daemon's store under dir_, on the test's wall clock.
  std::unique_ptr<store::Store> OpenStore() {
    store::StoreOptions options;
    options.dir = dir_.path();
    options.wall_clock = [this] { return now_.load(); };
    options.flush_interval = std::chrono::milliseconds(10);
    return store::Store::Open(options);
  }

  CheckResult RunOnce(Check& check) {
    std::optional<CheckResult> result;
    check.Start([&](CheckResult r) { result = std::move(r); });
    // Reading the store needs no I/O: the result is there before Start() returns.
    EXPECT_TRUE(result.has_value());
    return result.value_or(CheckResult::Unhealthy(FailureReason::kInternal, "no result"));
  }

  const CheckSpec& BackupSpec() const { return *config_.checks[0].spec; }
  NamedCheckSpecs Named() const {
    NamedCheckSpecs named;
    for (const CheckConfig& check : config_.checks)
      named.emplace_back(check.name, check.spec.get());
    return named;
  }
  // The daemon's services, with the heartbeat type's on store_.
  CheckServices& Services() {
    if (!services_) {
      services_ = std::make_unique<CheckServices>(CheckServices::Options{dir_.path(), db_.get()});
      services_->Add(std::make_shared<HeartbeatService>(store_, dir_.path()));
    }
    return *services_;
  }

  TempDir dir_;
  std::atomic<double> now_{kNow};
  uv_loop_t loop_{};
  IoContext io_{&loop_};
  std::unique_ptr<store::Store> db_;
  std::shared_ptr<HeartbeatStore> store_;
  std::unique_ptr<CheckServices> services_;
  Config config_;
};

TEST_F(HeartbeatCheckTest, FollowsThePingsInTheStore) {
  Services().ChecksWillRun(Named(), &loop_, /*first=*/true);
  std::unique_ptr<Check> check =
      BackupSpec().CreateCheck(CheckContext(io_, "nightly-backup", &Services()));
  EXPECT_EQ(BackupSpec().Target(), "push, ttl 26h");

  CheckResult r = RunOnce(*check);
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "waiting for the first heartbeat (ttl 26h)");

  now_ = kNow + 26 * 3600 + 1;
  r = RunOnce(*check);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "no heartbeat since the daemon started watching (ttl 26h)");
  EXPECT_EQ(r.reason, FailureReason::kHeartbeatMissed);

  ASSERT_TRUE(store_->Record("nightly-backup", true, ""));
  now_ = now_ + 3 * 3600 + 12 * 60;
  r = RunOnce(*check);
  EXPECT_EQ(r.health, Health::kHealthy);
  EXPECT_EQ(r.detail, "last heartbeat 3h12m ago");
  ASSERT_EQ(r.observations.size(), 1u);
  EXPECT_EQ(r.observations[0].name(), "heartbeat_last_ping_timestamp_seconds");
  EXPECT_DOUBLE_EQ(r.observations[0].value, kNow + 26 * 3600 + 1);

  now_ = now_ + 24 * 3600;
  r = RunOnce(*check);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "no heartbeat for 27h12m (ttl 26h)");
  EXPECT_EQ(r.reason, FailureReason::kHeartbeatMissed);

  ASSERT_TRUE(store_->Record("nightly-backup", false, "tar: exit 2"));
  r = RunOnce(*check);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "job reported failure: tar: exit 2");
  EXPECT_EQ(r.reason, FailureReason::kHeartbeatFailed);

  for (const CheckResult& any : {r}) EXPECT_THAT(any.detail, Not(HasSubstr(kToken)));
  check->Cancel();  // nothing in flight: a no-op
}

TEST_F(HeartbeatCheckTest, AnUnwiredCheckSaysSoInsteadOfCrashing) {
  // No services in the context.
  std::unique_ptr<Check> check = BackupSpec().CreateCheck(io_);
  CheckResult r = RunOnce(*check);
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "heartbeats are not set up in this daemon (internal error)");
  EXPECT_EQ(r.reason, FailureReason::kInternal);

  // Services without the heartbeat type's.
  CheckServices none(CheckServices::Options{dir_.path()});
  check = BackupSpec().CreateCheck(CheckContext(io_, "nightly-backup", &none));
  EXPECT_EQ(RunOnce(*check).detail, "heartbeats are not set up in this daemon (internal error)");

  // A store that was never told of the check.
  check = BackupSpec().CreateCheck(CheckContext(io_, "nightly-backup", &Services()));
  EXPECT_EQ(RunOnce(*check).detail, "check is not watched by the heartbeat store (internal error)");
}

TEST_F(HeartbeatCheckTest, TheServiceWatchesTheNamesItIsToldOf) {
  Services().ChecksWillRun(Named(), &loop_, /*first=*/true);
  // A reload renames the check: the new name is watched, the old one not,
  // and the receiver takes the new name's token only.
  NamedCheckSpecs renamed = {{"backup-v2", &BackupSpec()}};
  Services().ChecksWillRun(renamed, &loop_, /*first=*/false);
  EXPECT_EQ(store_->Find("nightly-backup"), std::nullopt);
  std::unique_ptr<Check> check =
      BackupSpec().CreateCheck(CheckContext(io_, "backup-v2", &Services()));
  EXPECT_EQ(RunOnce(*check).detail, "waiting for the first heartbeat (ttl 26h)");
  const std::string bearer = "Bearer " + std::string(kToken);
  const HeartbeatService& service = *Services().Find<HeartbeatService>();
  EXPECT_EQ(service.receiver()->Handle("POST", "/heartbeat/backup-v2", bearer, "").status, 200);
  // The token is still a heartbeat check's, so the old name is simply gone.
  EXPECT_EQ(service.receiver()->Handle("POST", "/heartbeat/nightly-backup", bearer, "").status,
            404);
  // A restart finds the new name and its ping in the store, and the old
  // name's tombstone (CheckServices told the store what is configured).
  db_.reset();
  auto db = OpenStore();
  HeartbeatStore reloaded(db.get());
  reloaded.Load();
  reloaded.Watch({{"backup-v2", nullptr}});
  EXPECT_TRUE(reloaded.Find("backup-v2")->pinged());
  std::map<std::string, double> tombstones;
  for (const store::CheckRow& row : db->Checks()) tombstones[row.check] = row.removed_at;
  EXPECT_EQ(tombstones, (std::map<std::string, double>{
                            {"backup-v2", 0}, {"nightly-backup", kNow}, {"web", kNow}}))
      << "every type's names, not only heartbeat checks'";
}

TEST_F(HeartbeatCheckTest, TheServiceServesTheHeartbeatEndpoint) {
  HeartbeatService service(std::make_shared<HeartbeatStore>(nullptr));
  EXPECT_EQ(service.Open(), std::nullopt) << "nothing to load without a store";
  ASSERT_EQ(service.PushEndpoints().size(), 1u);
  EXPECT_EQ(service.PushEndpoints()[0].path_prefix, "/heartbeat/");
  EXPECT_EQ(service.PushEndpoints()[0].max_body_bytes, HeartbeatReceiver::kMaxBodyBytes);
}

TEST_F(HeartbeatCheckTest, WatchingOnlyTakesHeartbeatChecksAndStoresTheGraceStart) {
  WatchHeartbeatChecks(Named(), *store_);
  EXPECT_TRUE(store_->Find("nightly-backup").has_value());
  EXPECT_EQ(store_->Find("web"), std::nullopt);
  EXPECT_EQ(store_->NameOf(&BackupSpec()), "nightly-backup");
  // The grace period's start is in the store before any ping.
  ASSERT_TRUE(db_->Flush());
  const std::vector<store::HeartbeatRow> rows = db_->Heartbeats();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].check, "nightly-backup");
  EXPECT_DOUBLE_EQ(rows[0].watched_since, kNow);
}

TEST_F(HeartbeatCheckTest, AnExplicitWallClockOverridesTheStores) {
  WatchHeartbeatChecks(Named(), *store_);
  HeartbeatCheck check(store_, "nightly-backup", hours(1), [] { return kNow + 2 * 3600; });
  EXPECT_EQ(RunOnce(check).detail, "no heartbeat since the daemon started watching (ttl 1h)");
}

}  // namespace
}  // namespace hx
