// Heartbeat checks on a real libuv loop with the real scheduler: pings arrive
// on other threads (as from the web server's workers) while the loop thread
// evaluates, and the last heartbeat survives a restart of the whole stack
// (the daemon's store reopened on the same directory). The wall clock is
// injected so a 1h ttl can pass without waiting for it.

#include "checks/heartbeat/heartbeat_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "checks/common/check_services.h"
#include "config/config.h"
#include "io/io_context.h"
#include "scheduler/check_scheduler.h"
#include "scheduler/uv_clock.h"
#include "store/store.h"
#include "support/daemon_process.h"

namespace hx {
namespace {

using ::testing::StartsWith;

constexpr std::string_view kToken = "integration-heartbeat-token-55aa";
constexpr double kStart = 1'700'000'000.0;

const char kConfig[] = R"(
checks:
  - name: nightly-backup
    interval: 50ms
    timeout: 40ms
    heartbeat:
      ttl: 1h
      token: "${HB_TOKEN}"
)";

Config LoadTestConfig() {
  LoadResult loaded = LoadConfigString(kConfig, "inline.yml", BuiltinCheckTypes(),
                                       [](const std::string& name) -> std::optional<std::string> {
                                         if (name == "HB_TOKEN") return std::string(kToken);
                                         return std::nullopt;
                                       });
  EXPECT_TRUE(loaded.errors.empty());
  return std::move(*loaded.config);
}

// Runs each RunRecord through `on_run` on the loop thread.
class CallbackSink final : public RunSink {
 public:
  std::function<void(const RunRecord&)> on_run;
  void OnRun(const RunRecord& run) override { on_run(run); }
  void OnSkipped(size_t) override {}
};

// The daemon's store under `state_dir`, on the test's wall clock.
std::unique_ptr<store::Store> OpenStore(const std::string& state_dir, std::atomic<double>& wall) {
  store::StoreOptions options;
  options.dir = state_dir;
  options.wall_clock = [&wall] { return wall.load(); };
  return store::Store::Open(options);
}

// The daemon's heartbeat wiring on one loop: the store, the type's service
// (heartbeat state and receiver) in CheckServices, IoContext, scheduler,
// checks created with their CheckContext. Runs the loop until `on_run` calls
// stop() or the deadline.
class HeartbeatStack {
 public:
  HeartbeatStack(const Config& config, const std::string& state_dir, std::atomic<double>& wall)
      : db_(OpenStore(state_dir, wall)),
        store_(std::make_shared<HeartbeatStore>(db_.get(), [&wall] { return wall.load(); })),
        services_(CheckServices::Options{state_dir, db_.get()}) {
    EXPECT_EQ(db_->mode(), store::StoreMode::kPersistent) << db_->problem();
    uv_loop_init(&loop_);
    clock_ = std::make_unique<UvClock>(&loop_);
    io_ = std::make_unique<IoContext>(&loop_);
    services_.Add(std::make_shared<HeartbeatService>(store_, state_dir));
    EXPECT_EQ(services_.Open(), std::nullopt);
    NamedCheckSpecs named;
    for (const CheckConfig& check : config.checks) named.emplace_back(check.name, check.spec.get());
    services_.ChecksWillRun(named, &loop_, /*first=*/true);
    receiver_ = services_.Find<HeartbeatService>()->receiver();
    scheduler_ = std::make_unique<CheckScheduler>(*clock_, sink_, /*seed=*/7);
    for (const CheckConfig& check : config.checks) {
      scheduler_->Add(check, check.spec->CreateCheck(CheckContext(*io_, check.name, &services_)));
    }
  }
  ~HeartbeatStack() {
    scheduler_.reset();
    io_->Shutdown();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
  }

  // Calls on_run(record, stop) for every run until stop() is called.
  void Run(std::function<void(const RunRecord&, const std::function<void()>&)> on_run) {
    auto deadline = clock_->CreateTimer();
    std::function<void()> stop = [&] {
      scheduler_->Stop();
      deadline->Stop();
    };
    sink_.on_run = [&](const RunRecord& run) { on_run(run, stop); };
    deadline->Start(std::chrono::seconds(20), [&] {
      ADD_FAILURE() << "deadline reached";
      stop();
    });
    scheduler_->Start();
    uv_run(&loop_, UV_RUN_DEFAULT);
  }

  HeartbeatReceiver& receiver() { return *receiver_; }

 private:
  uv_loop_t loop_{};
  std::unique_ptr<store::Store> db_;
  std::shared_ptr<HeartbeatStore> store_;
  CheckServices services_;
  std::unique_ptr<UvClock> clock_;
  std::unique_ptr<IoContext> io_;
  std::shared_ptr<HeartbeatReceiver> receiver_;
  CallbackSink sink_;
  std::unique_ptr<CheckScheduler> scheduler_;
};

TEST(HeartbeatIntegrationTest, PingsFromOtherThreadsDriveTheCheckAndSurviveARestart) {
  TempDir dir;
  const Config config = LoadTestConfig();
  std::atomic<double> wall{kStart};
  const std::string auth = "Bearer " + std::string(kToken);
  std::vector<std::string> details;
  {
    HeartbeatStack stack(config, dir.path(), wall);
    std::vector<std::thread> pingers;
    // Pings are posted from worker threads, never from the loop thread.
    auto post = [&](std::string path, std::string body) {
      pingers.emplace_back([&stack, &auth, path = std::move(path), body = std::move(body)] {
        EXPECT_EQ(stack.receiver().Handle("POST", path, auth, body).status, 200);
      });
    };
    int step = 0;
    stack.Run([&](const RunRecord& run, const std::function<void()>& stop) {
      const std::string& detail = run.result.detail;
      if (details.empty() || details.back() != detail) details.push_back(detail);
      switch (step) {
        case 0:  // freshly watched: inside the grace period
          EXPECT_EQ(run.result.health, Health::kHealthy);
          EXPECT_EQ(detail, "waiting for the first heartbeat (ttl 1h)");
          post("/heartbeat/nightly-backup", "");
          step = 1;
          break;
        case 1:  // until the ping lands
          if (detail.starts_with("last heartbeat")) {
            EXPECT_EQ(run.state, Health::kHealthy);
            ASSERT_EQ(run.result.observations.size(), 1u);
            EXPECT_DOUBLE_EQ(run.result.observations[0].value, kStart);
            wall = kStart + 2 * 3600;  // the job misses its next run
            step = 2;
          }
          break;
        case 2:
          if (detail.starts_with("no heartbeat for")) {
            EXPECT_EQ(detail, "no heartbeat for 2h (ttl 1h)");
            EXPECT_EQ(run.result.reason, FailureReason::kHeartbeatMissed);
            EXPECT_EQ(run.state, Health::kUnhealthy);
            post("/heartbeat/nightly-backup/fail", "rsync: connection\nunexpectedly closed\n");
            step = 3;
          }
          break;
        case 3:
          if (detail.starts_with("job reported failure")) {
            EXPECT_EQ(detail, "job reported failure: rsync: connection unexpectedly closed");
            EXPECT_EQ(run.result.reason, FailureReason::kHeartbeatFailed);
            stop();
          }
          break;
      }
    });
    for (auto& t : pingers) t.join();
    EXPECT_EQ(step, 3);
  }
  EXPECT_THAT(details, ::testing::ElementsAre(
                           "waiting for the first heartbeat (ttl 1h)", StartsWith("last heartbeat"),
                           "no heartbeat for 2h (ttl 1h)",
                           "job reported failure: rsync: connection unexpectedly closed"));

  // A restarted daemon remembers the failure (and the time of the last ping).
  {
    HeartbeatStack restarted(config, dir.path(), wall);
    restarted.Run([&](const RunRecord& run, const std::function<void()>& stop) {
      EXPECT_EQ(run.result.detail, "job reported failure: rsync: connection unexpectedly closed");
      EXPECT_EQ(run.result.reason, FailureReason::kHeartbeatFailed);
      ASSERT_EQ(run.result.observations.size(), 1u);
      EXPECT_DOUBLE_EQ(run.result.observations[0].value, kStart + 2 * 3600);
      stop();
    });
  }
}

}  // namespace
}  // namespace hx
