// DiskCheck on a real libuv loop: against the real filesystem, and through the
// statfs seam for fixed numbers and for a statfs that hangs like a dead mount.

#include "checks/disk/disk_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/io_context.h"
#include "support/loop_test.h"

namespace hx {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::shared_ptr<const DiskCheckSettings> Settings(const std::string& path, double degraded = 1.0,
                                                  double unhealthy = 1.0, bool write_test = false) {
  auto s = std::make_shared<DiskCheckSettings>();
  s->path = path;
  s->degraded_above = degraded;
  s->unhealthy_above = unhealthy;
  s->write_test = write_test;
  return s;
}

const Observation* Find(const CheckResult& r, const std::string& name) {
  for (const Observation& o : r.observations) {
    if (o.name() == name) return &o;
  }
  return nullptr;
}

std::vector<std::string> DirectoryEntries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

/// A statfs that blocks until released, as on a hung NFS mount. Shared with
/// the pool thread through a shared_ptr, so it outlives the check.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  int entered = 0;
  bool released = false;

  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
    cv.notify_all();
  }
  int EnteredCount() {
    std::lock_guard<std::mutex> lock(mu);
    return entered;
  }
};

uv_statfs_t FakeStats(uint64_t used_of_100) {
  uv_statfs_t s{};
  s.f_bsize = 4096;
  s.f_blocks = 100;
  s.f_bfree = 100 - used_of_100;
  s.f_bavail = 100 - used_of_100;
  s.f_files = 100;
  s.f_ffree = 90;
  return s;
}

/// Blocks the first call until the gate opens, then reports `late_used`% used;
/// later calls report `used`% at once.
StatfsFunction HangFirstCall(std::shared_ptr<Gate> gate, uint64_t used, uint64_t late_used) {
  return [gate, used, late_used](const std::string&, uv_statfs_t* out) {
    std::unique_lock<std::mutex> lock(gate->mu);
    const bool first = gate->entered++ == 0;
    if (first) {
      gate->cv.notify_all();
      gate->cv.wait(lock, [&] { return gate->released; });
    }
    *out = FakeStats(first ? late_used : used);
    return 0;
  };
}

class DiskCheckTest : public LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    char dir_template[] = "/tmp/hx-disk-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    temp_dir_ = dir_template;
  }

  void TearDown() override {
    LoopTest::TearDown();
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }

  std::unique_ptr<DiskCheck> Make(std::shared_ptr<const DiskCheckSettings> settings,
                                  StatfsFunction statfs = SystemStatfs) {
    return std::make_unique<DiskCheck>(io(), std::move(settings), std::move(statfs));
  }

  /// Starts one attempt and runs the loop until it reports.
  CheckResult RunOnce(std::shared_ptr<const DiskCheckSettings> settings,
                      StatfsFunction statfs = SystemStatfs) {
    auto check = Make(std::move(settings), std::move(statfs));
    // Until idle: the attempt's thread-pool request must be over as well.
    return RunAttempt(*check, Settle::kUntilIdle).value_or(CheckResult{});
  }

  std::string temp_dir_;
};

TEST_F(DiskCheckTest, RealFilesystemReportsRatiosAndBytes) {
  CheckResult r = RunOnce(Settings(temp_dir_));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_THAT(r.detail, StartsWith(temp_dir_ + " "));
  EXPECT_THAT(r.detail, HasSubstr("% used ("));
  const Observation* used = Find(r, "disk_used_ratio");
  ASSERT_NE(used, nullptr);
  EXPECT_GE(used->value, 0.0);
  EXPECT_LE(used->value, 1.0);
  const Observation* available = Find(r, "disk_available_bytes");
  ASSERT_NE(available, nullptr);
  EXPECT_GE(available->value, 0.0);
  if (const Observation* inodes = Find(r, "disk_inodes_used_ratio")) {
    EXPECT_GE(inodes->value, 0.0);
    EXPECT_LE(inodes->value, 1.0);
  }
}

TEST_F(DiskCheckTest, RealRootAtZeroPercentIsUnhealthy) {
  // The root filesystem holds this very test binary, so some of it is used.
  CheckResult r = RunOnce(Settings("/", 0.0, 0.0));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_THAT(r.detail, StartsWith("/ "));
  EXPECT_THAT(r.detail, HasSubstr("used, above 0% ("));
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
}

TEST_F(DiskCheckTest, RealRootAtHundredPercentIsHealthy) {
  auto settings = std::make_shared<DiskCheckSettings>(*Settings("/", 1.0, 1.0));
  settings->inodes_degraded_above = 1.0;
  settings->inodes_unhealthy_above = 1.0;
  CheckResult r = RunOnce(settings);
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
}

TEST_F(DiskCheckTest, MissingPathIsUnhealthy) {
  const std::string missing = temp_dir_ + "/nope";
  CheckResult r = RunOnce(Settings(missing));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "statfs " + missing + ": No such file or directory");
  EXPECT_EQ(r.reason, FailureReason::kInternal);
  EXPECT_TRUE(r.observations.empty());
}

TEST_F(DiskCheckTest, WriteTestSucceedsAndLeavesNothingBehind) {
  CheckResult r = RunOnce(Settings(temp_dir_, 1.0, 1.0, /*write_test=*/true));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_THAT(r.detail, StartsWith(temp_dir_ + " "));
  EXPECT_TRUE(DirectoryEntries(temp_dir_).empty());
}

TEST_F(DiskCheckTest, WriteTestWithTrailingSlash) {
  CheckResult r = RunOnce(Settings(temp_dir_ + "/", 1.0, 1.0, /*write_test=*/true));
  EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
  EXPECT_TRUE(DirectoryEntries(temp_dir_).empty());
}

TEST_F(DiskCheckTest, WriteTestFailsWhereFilesCannotBeCreated) {
  // procfs refuses new files even to root (who ignores permission bits).
  CheckResult r = RunOnce(Settings("/proc", 1.0, 1.0, /*write_test=*/true));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_THAT(r.detail, StartsWith("write test failed: "));
  EXPECT_GT(r.detail.size(), std::string("write test failed: ").size());
  // procfs answers ENOENT: nothing there for the check to judge.
  EXPECT_EQ(r.reason, FailureReason::kInternal) << r.detail;
  // The usage numbers are still reported.
  EXPECT_NE(Find(r, "disk_used_ratio"), nullptr);
}

// A real filesystem of its own (tmpfs), mounted with `options`; empty path
// when mounting is not allowed here.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, const std::string& options) {
    const std::string command =
        "mount -t tmpfs -o " + options + " hx-disk-test " + dir + " 2>/dev/null";
    if (std::system(command.c_str()) == 0) path_ = dir;
  }
  ~TmpfsMount() {
    if (!path_.empty()) std::system(("umount " + path_).c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_F(DiskCheckTest, WriteTestOnAReadOnlyFilesystemIsNotServing) {
  const std::string dir = temp_dir_ + "/ro";
  std::filesystem::create_directory(dir);
  TmpfsMount mount(dir, "ro,size=1m");
  if (mount.path().empty()) GTEST_SKIP() << "cannot mount a tmpfs here";
  CheckResult r = RunOnce(Settings(dir, 1.0, 1.0, /*write_test=*/true));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "write test failed: Read-only file system");
  EXPECT_EQ(r.reason, FailureReason::kNotServing);
}

TEST_F(DiskCheckTest, WriteTestOnAFullFilesystemIsThreshold) {
  const std::string dir = temp_dir_ + "/full";
  std::filesystem::create_directory(dir);
  TmpfsMount mount(dir, "size=256k");
  if (mount.path().empty()) GTEST_SKIP() << "cannot mount a tmpfs here";
  // Fill it up: dd stops at ENOSPC.
  ASSERT_NE(std::system(("dd if=/dev/zero of=" + dir + "/fill bs=4k 2>/dev/null").c_str()), -1);
  CheckResult r = RunOnce(Settings(dir, 1.0, 1.0, /*write_test=*/true));
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "write test failed: No space left on device");
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
  // The same full filesystem without the write test, judged by its ratio.
  r = RunOnce(Settings(dir, 0.9, 0.99));
  EXPECT_EQ(r.health, Health::kUnhealthy) << r.detail;
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
}

TEST_F(DiskCheckTest, WriteTestFailsInMissingDirectoryAfterStatfs) {
  // statfs succeeds through the seam; the directory itself does not exist.
  CheckResult r = RunOnce(Settings(temp_dir_ + "/gone", 1.0, 1.0, /*write_test=*/true),
                          [](const std::string&, uv_statfs_t* out) {
                            *out = FakeStats(10);
                            return 0;
                          });
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "write test failed: No such file or directory");
  EXPECT_EQ(r.reason, FailureReason::kInternal) << "the path is gone: nothing to judge";
}

TEST_F(DiskCheckTest, SeamNumbersAreJudged) {
  std::string seen_path;
  StatfsFunction statfs = [&seen_path](const std::string& path, uv_statfs_t* out) {
    seen_path = path;  // read only after the attempt ended
    *out = FakeStats(91);
    return 0;
  };
  CheckResult r = RunOnce(Settings("/data", 0.85, 0.9), statfs);
  EXPECT_EQ(seen_path, "/data");
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "/data 91.0% used, above 90% (36.0 KiB free), inodes 10.0% used");
  EXPECT_EQ(r.reason, FailureReason::kThreshold);
  ASSERT_NE(Find(r, "disk_used_ratio"), nullptr);
  EXPECT_DOUBLE_EQ(Find(r, "disk_used_ratio")->value, 0.91);
  EXPECT_DOUBLE_EQ(Find(r, "disk_available_bytes")->value, 9.0 * 4096);
  EXPECT_DOUBLE_EQ(Find(r, "disk_inodes_used_ratio")->value, 0.1);
}

TEST_F(DiskCheckTest, SeamErrorIsReported) {
  CheckResult r =
      RunOnce(Settings("/mnt/nfs"), [](const std::string&, uv_statfs_t*) { return UV_EIO; });
  EXPECT_EQ(r.health, Health::kUnhealthy);
  EXPECT_EQ(r.detail, "statfs /mnt/nfs: Input/output error");
  EXPECT_EQ(r.reason, FailureReason::kInternal);
}

TEST_F(DiskCheckTest, CancelWhileStatfsHangsReturnsAndDropsTheLateResult) {
  auto gate = std::make_shared<Gate>();
  auto check = Make(Settings("/mnt/nfs"), HangFirstCall(gate, 10, 99));
  Outcome first;
  check->Start(first.Callback());
  ASSERT_TRUE(RunUntil([&] { return gate->EnteredCount() == 1; }));
  check->Cancel();  // returns although statfs is still blocked on its thread
  EXPECT_EQ(first.calls, 0);

  // While the abandoned statfs still holds a pool thread, the next attempt
  // does not take another one: it fails at once.
  Outcome second;
  check->Start(second.Callback());
  EXPECT_EQ(second.calls, 1);
  EXPECT_EQ(second.result.health, Health::kUnhealthy);
  EXPECT_EQ(second.result.detail,
            "/mnt/nfs: an earlier attempt is still blocked (filesystem not responding)");
  EXPECT_EQ(second.result.reason, FailureReason::kTimeout)
      << "the filesystem still has not answered";
  EXPECT_EQ(gate->EnteredCount(), 1);

  // The mount recovers: the late answer (99% used) is dropped, and the next
  // attempt runs normally and is not confused by it.
  gate->Release();
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(first.calls, 0);
  Outcome third;
  check->Start(third.Callback());
  ASSERT_TRUE(RunUntil([&] { return third.done(); }));
  EXPECT_EQ(third.result.health, Health::kHealthy);
  EXPECT_THAT(third.result.detail, StartsWith("/mnt/nfs 10.0% used"));
  EXPECT_EQ(first.calls, 0);
  EXPECT_EQ(second.calls, 1);
  EXPECT_EQ(third.calls, 1);
}

TEST_F(DiskCheckTest, HungStatfsTakesOnePoolThreadPerCheck) {
  // Two checks on the same dead mount: each holds one pool thread, and
  // repeated timeouts do not pile up more.
  auto gate = std::make_shared<Gate>();
  StatfsFunction hang = [gate](const std::string&, uv_statfs_t* out) {
    std::unique_lock<std::mutex> lock(gate->mu);
    ++gate->entered;
    gate->cv.wait(lock, [&] { return gate->released; });
    *out = FakeStats(10);
    return 0;
  };
  auto a = Make(Settings("/mnt/nfs"), hang);
  auto b = Make(Settings("/mnt/nfs"), hang);
  Outcome outcome;
  a->Start(outcome.Callback());
  b->Start(outcome.Callback());
  ASSERT_TRUE(RunUntil([&] { return gate->EnteredCount() == 2; }));
  for (int round = 0; round < 5; ++round) {
    a->Cancel();
    b->Cancel();
    a->Start(outcome.Callback());
    b->Start(outcome.Callback());
    uv_run(loop(), UV_RUN_NOWAIT);
  }
  EXPECT_EQ(outcome.calls, 10);
  EXPECT_EQ(outcome.result.health, Health::kUnhealthy);
  EXPECT_EQ(gate->EnteredCount(), 2);
  gate->Release();
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(outcome.calls, 10);
}

TEST_F(DiskCheckTest, DestroyWhileStatfsHangs) {
  auto gate = std::make_shared<Gate>();
  auto check = Make(Settings("/mnt/nfs"), HangFirstCall(gate, 10, 99));
  Outcome outcome;
  check->Start(outcome.Callback());
  ASSERT_TRUE(RunUntil([&] { return gate->EnteredCount() == 1; }));
  check.reset();  // the pool thread still holds the request
  gate->Release();
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(DiskCheckTest, CancelRightAfterStart) {
  // Whether or not a pool thread picked the job up yet, nothing reports.
  auto check = Make(Settings(temp_dir_, 1.0, 1.0, /*write_test=*/true));
  Outcome outcome;
  check->Start(outcome.Callback());
  check->Cancel();
  check->Cancel();  // a second Cancel is a no-op
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(outcome.calls, 0);
}

TEST_F(DiskCheckTest, DestroyAtAnyPointOfTheWriteTestLeavesNoFile) {
  // Destroyed after 0, 1, 2, ... loop iterations: before statfs, between
  // statfs and the write test, during it, or after the report. Whichever
  // point it hits, at most one report and the test file is always deleted.
  for (int iterations = 0; iterations < 12; ++iterations) {
    auto check = Make(Settings(temp_dir_, 1.0, 1.0, /*write_test=*/true));
    Outcome outcome;
    check->Start(outcome.Callback());
    for (int i = 0; i < iterations; ++i) uv_run(loop(), UV_RUN_ONCE);
    check.reset();
    EXPECT_TRUE(RunUntilIdle());
    EXPECT_LE(outcome.calls, 1) << iterations;
    EXPECT_TRUE(DirectoryEntries(temp_dir_).empty()) << iterations;
  }
}

TEST_F(DiskCheckTest, CheckMayBeDestroyedInItsCallback) {
  auto check = Make(Settings(temp_dir_, 1.0, 1.0, /*write_test=*/true));
  int calls = 0;
  check->Start([&](CheckResult r) {
    ++calls;
    EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
    check.reset();
  });
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(check, nullptr);
}

TEST_F(DiskCheckTest, NextAttemptMayStartInTheCallback) {
  auto check = Make(Settings(temp_dir_));
  int calls = 0;
  std::function<void(CheckResult)> again = [&](CheckResult r) {
    EXPECT_EQ(r.health, Health::kHealthy) << r.detail;
    if (++calls < 3) check->Start(again);
  };
  check->Start(again);
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(calls, 3);
}

TEST_F(DiskCheckTest, HundredConcurrentChecks) {
  constexpr int kChecks = 100;
  std::vector<std::unique_ptr<DiskCheck>> checks;
  std::vector<Outcome> outcomes(kChecks);
  for (int i = 0; i < kChecks; ++i) {
    // Half of them write, all into the same directory: names must not clash.
    checks.push_back(Make(Settings(temp_dir_, 1.0, 1.0, /*write_test=*/i % 2 == 0)));
  }
  for (int i = 0; i < kChecks; ++i) checks[i]->Start(outcomes[i].Callback());
  EXPECT_TRUE(RunUntilIdle());
  for (int i = 0; i < kChecks; ++i) {
    EXPECT_EQ(outcomes[i].calls, 1) << i;
    EXPECT_EQ(outcomes[i].result.health, Health::kHealthy)
        << i << ": " << outcomes[i].result.detail;
    EXPECT_NE(Find(outcomes[i].result, "disk_used_ratio"), nullptr) << i;
  }
  EXPECT_TRUE(DirectoryEntries(temp_dir_).empty());
}

TEST_F(DiskCheckTest, SpecCreatesAWorkingCheck) {
  DiskCheckSettings settings;
  settings.path = temp_dir_;
  settings.degraded_above = 1.0;
  settings.unhealthy_above = 1.0;
  DiskCheckSpec spec(settings);
  EXPECT_EQ(spec.Target(), temp_dir_);
  std::unique_ptr<Check> check = spec.CreateCheck(io());
  Outcome outcome;
  check->Start(outcome.Callback());
  EXPECT_TRUE(RunUntil([&] { return outcome.done(); }));
  EXPECT_EQ(outcome.result.health, Health::kHealthy) << outcome.result.detail;
}

}  // namespace
}  // namespace hx
