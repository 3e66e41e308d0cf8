#include "checks/disk/disk_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <system_error>
#include <utility>

#include "checks/common/usage_thresholds.h"
#include "io/io_context.h"

namespace hx {
namespace {

// Thread-safe, unlike strerror(): the write test's errors are turned into text
// on the loop thread, but keep it safe wherever it is called.
std::string ErrnoMessage(int error) { return std::generic_category().message(error); }

std::string WriteTestFileName(const std::string& dir) {
  static std::atomic<uint64_t> counter{0};
  std::string name = dir;
  if (name.empty() || name.back() != '/') name += '/';
  name += ".health_exporter-write-test-" + std::to_string(getpid()) + "-" +
          std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
  return name;
}

// Writes everything, retrying short writes and EINTR; returns 0 or errno.
int WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

// Creates a file of its own in `dir`, writes and fsyncs kWriteTestBytes,
// closes and deletes it. Returns 0 or the first errno. Runs on a pool thread.
int RunWriteTest(const std::string& dir) {
  // O_EXCL never touches an existing file; a name left behind by a crashed
  // process that had our pid is skipped.
  constexpr int kAttempts = 3;
  std::string name;
  int fd = -1;
  for (int i = 0; i < kAttempts && fd < 0; ++i) {
    name = WriteTestFileName(dir);
    fd = open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) return errno;
  }
  if (fd < 0) return EEXIST;
  static const std::string kBlock(DiskCheck::kWriteTestBytes, 'x');
  int error = WriteAll(fd, kBlock.data(), kBlock.size());
  if (error == 0 && fsync(fd) != 0) error = errno;
  if (close(fd) != 0 && error == 0) error = errno;
  if (unlink(name.c_str()) != 0 && error == 0) error = errno;
  return error;
}

// A failed write test: a full filesystem is over its limit like a used ratio
// (threshold); one that refuses writes (read-only after errors, I/O errors)
// is not serving; a daemon that may not write there has a local problem.
FailureReason WriteTestReason(int error) {
  switch (error) {
    case ENOSPC:
    case EDQUOT:
      return FailureReason::kThreshold;
    case EACCES:
    case EPERM:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOENT:
      return FailureReason::kInternal;
    default:  // EROFS, EIO, ...
      return FailureReason::kNotServing;
  }
}

}  // namespace

int SystemStatfs(const std::string& path, uv_statfs_t* out) {
  // Without a callback uv_fs_statfs runs synchronously in the calling thread
  // (a pool thread here) and does not touch any loop.
  uv_fs_t req;
  const int rc = uv_fs_statfs(nullptr, &req, path.c_str(), nullptr);
  if (rc == 0) *out = *static_cast<const uv_statfs_t*>(req.ptr);
  uv_fs_req_cleanup(&req);
  return rc;
}

DiskCheckSpec::DiskCheckSpec(DiskCheckSettings settings)
    : settings_(std::make_shared<const DiskCheckSettings>(std::move(settings))) {}

std::unique_ptr<Check> DiskCheckSpec::CreateCheck(const CheckContext& context) const {
  return std::make_unique<DiskCheck>(context.io, settings_);
}

std::string DiskCheckSpec::Target() const { return settings_->path; }

std::shared_ptr<const DiskCheckSpec> ParseDiskCheckSpec(config::MapReader& reader) {
  DiskCheckSettings settings;
  if (auto path = reader.String("path")) {
    if (path->empty() || path->front() != '/') {
      reader.Error("path", "must be an absolute path (starting with /)");
    } else {
      settings.path = std::move(*path);
    }
  }
  const UsageThresholds space =
      ReadUsageThresholds(reader, "degraded_above", "unhealthy_above",
                          {settings.degraded_above, settings.unhealthy_above});
  settings.degraded_above = *space.degraded_above;
  settings.unhealthy_above = *space.unhealthy_above;
  const UsageThresholds inodes =
      ReadUsageThresholds(reader, "inodes_degraded_above", "inodes_unhealthy_above", {});
  settings.inodes_degraded_above = inodes.degraded_above;
  settings.inodes_unhealthy_above = inodes.unhealthy_above;
  if (auto write_test = reader.Bool("write_test")) settings.write_test = *write_test;
  if (!reader.Finish()) return nullptr;
  return std::make_shared<const DiskCheckSpec>(std::move(settings));
}

CheckType DiskCheckType() { return {"disk", &ParseDiskCheckSpec}; }

CheckResult JudgeDiskUsage(const DiskCheckSettings& settings, const uv_statfs_t& stats) {
  // Like df: reserved blocks (free but not available) count as neither used
  // nor available, so 100% means "full for everyone but root".
  const uint64_t used_blocks = stats.f_blocks - std::min(stats.f_bfree, stats.f_blocks);
  const uint64_t usable_blocks = used_blocks + stats.f_bavail;
  const double used = usable_blocks == 0
                          ? 0.0
                          : static_cast<double>(used_blocks) / static_cast<double>(usable_blocks);
  const double available_bytes =
      static_cast<double>(stats.f_bavail) * static_cast<double>(stats.f_bsize);

  CheckResult result = CheckResult::Healthy();
  result.observations.emplace_back(ObservationId::kDiskUsedRatio, used);
  result.observations.emplace_back(ObservationId::kDiskAvailableBytes, available_bytes);

  double crossed = 0;
  const Health health =
      JudgeUsage(used, {settings.degraded_above, settings.unhealthy_above}, &crossed);
  LowerTo(result, health);
  std::string detail = settings.path + " " + FormatUsedPercent(used) + " used";
  if (health != Health::kHealthy) detail += ", above " + FormatLimitPercent(crossed);
  detail += " (" + FormatBinaryBytes(available_bytes) + " free)";

  // Some filesystems (btrfs, vfat, procfs) have no fixed inode table and
  // report 0 inodes: there is nothing to judge then.
  if (stats.f_files > 0) {
    const uint64_t used_inodes = stats.f_files - std::min(stats.f_ffree, stats.f_files);
    const double inodes_used =
        static_cast<double>(used_inodes) / static_cast<double>(stats.f_files);
    result.observations.emplace_back(ObservationId::kDiskInodesUsedRatio, inodes_used);
    const Health inode_health = JudgeUsage(
        inodes_used, {settings.inodes_degraded_above, settings.inodes_unhealthy_above}, &crossed);
    detail += ", inodes " + FormatUsedPercent(inodes_used) + " used";
    if (inode_health != Health::kHealthy) detail += ", above " + FormatLimitPercent(crossed);
    LowerTo(result, inode_health);
  }
  result.detail = std::move(detail);
  return result;
}

struct DiskCheck::StatfsOutcome {
  int rc = 0;
  uv_statfs_t stats{};
};

DiskCheck::DiskCheck(IoContext& io, std::shared_ptr<const DiskCheckSettings> settings,
                     StatfsFunction statfs)
    : io_(io), settings_(std::move(settings)), statfs_(std::move(statfs)) {}

DiskCheck::~DiskCheck() { Cancel(); }

void DiskCheck::Start(DoneCallback done) {
  Cancel();  // the scheduler never overlaps attempts; be safe if someone does
  done_ = std::move(done);
  if (!abandoned_in_pool_.expired()) {
    // The filesystem has still not answered an attempt the timeout cut off:
    // the same failure goes on.
    Finish(CheckResult::Unhealthy(FailureReason::kTimeout,
                                  settings_->path +
                                      ": an earlier attempt is still blocked (filesystem not "
                                      "responding)"));
    return;
  }
  auto in_pool = std::make_shared<int>(0);
  attempt_in_pool_ = in_pool;
  // The pool closure owns copies of everything it touches: after Cancel()
  // (or the check's destruction) it may still be running.
  auto outcome = std::make_shared<StatfsOutcome>();
  const int rc = job_.Start(
      io_.loop(),
      [outcome, statfs = statfs_, settings = settings_, in_pool] {
        // `in_pool` only needs to live as long as this closure.
        outcome->rc = statfs(settings->path, &outcome->stats);
      },
      [this, outcome] { OnStatfs(*outcome); });
  if (rc < 0) {
    Finish(CheckResult::Unhealthy(FailureReason::kInternal,
                                  "statfs " + settings_->path + ": " + uv_strerror(rc)));
  }
}

void DiskCheck::OnStatfs(const StatfsOutcome& outcome) {
  if (outcome.rc < 0) {
    // libuv errors are negated errnos on Unix.
    Finish(CheckResult::Unhealthy(FailureReason::kInternal,
                                  "statfs " + settings_->path + ": " + ErrnoMessage(-outcome.rc)));
    return;
  }
  CheckResult result = JudgeDiskUsage(*settings_, outcome.stats);
  if (!settings_->write_test) {
    Finish(std::move(result));
    return;
  }
  auto error = std::make_shared<int>(0);
  const int rc = job_.Start(
      io_.loop(),
      [error, settings = settings_, in_pool = attempt_in_pool_.lock()] {
        *error = RunWriteTest(settings->path);
      },
      [this, error, result]() mutable { OnWriteTest(*error, std::move(result)); });
  if (rc < 0) OnWriteTest(-rc, std::move(result));
}

void DiskCheck::OnWriteTest(int error, CheckResult result) {
  if (error != 0) {
    result.health = Health::kUnhealthy;
    result.reason = WriteTestReason(error);
    result.detail = "write test failed: " + ErrnoMessage(error);
  }
  Finish(std::move(result));
}

void DiskCheck::Finish(CheckResult result) {
  // The callback may destroy this check or start the next attempt.
  DoneCallback done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(result));
}

void DiskCheck::Cancel() {
  if (job_.active()) abandoned_in_pool_ = attempt_in_pool_;
  job_.Cancel();
  done_ = nullptr;
}

}  // namespace hx
