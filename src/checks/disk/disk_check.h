#pragma once
// The `disk:` check type: how full a filesystem is (space and, optionally,
// inodes), and optionally whether it still accepts writes.
//
//   disk:
//     path: /var/lib/postgresql     # absolute; any path on the filesystem
//     degraded_above: 85%           # used space; default 85%
//     unhealthy_above: 95%          # default 95%
//     inodes_degraded_above: 90%    # inode checks are off unless given
//     inodes_unhealthy_above: 98%
//     write_test: true              # create, write 4 KiB, fsync, delete a file
//
// Used space is computed like df: (blocks - free) / (blocks - free + avail),
// so the blocks reserved for root count as unusable.

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "checks/check.h"
#include "io/thread_pool_job.h"

namespace hx {

/// The parsed `disk:` mapping. Plain data; immutable once parsed, safe to share.
struct DiskCheckSettings {
  std::string path = "/";
  double degraded_above = 0.85;  ///< fractions of 1, compared with ">"
  double unhealthy_above = 0.95;
  std::optional<double> inodes_degraded_above;
  std::optional<double> inodes_unhealthy_above;
  bool write_test = false;
};

/// Fills *out with statfs(2) numbers for `path`; returns 0 or a negative libuv
/// error (UV_ENOENT, ...). Called on a thread-pool thread, so it may block.
using StatfsFunction = std::function<int(const std::string& path, uv_statfs_t* out)>;

/// The real one: uv_fs_statfs() run synchronously on the calling thread.
int SystemStatfs(const std::string& path, uv_statfs_t* out);

/// The validated config of one disk check. Immutable; thread-safe.
class DiskCheckSpec final : public CheckSpec {
 public:
  explicit DiskCheckSpec(DiskCheckSettings settings);

  const DiskCheckSettings& settings() const { return *settings_; }

  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// The path, e.g. "/var/lib/postgresql".
  std::string Target() const override;

 private:
  std::shared_ptr<const DiskCheckSettings> settings_;
};

/// Reads a `disk:` mapping (calls reader.Finish()); nullptr on any error.
std::shared_ptr<const DiskCheckSpec> ParseDiskCheckSpec(config::MapReader& reader);

/// Judges filesystem numbers against the thresholds: health, a detail such as
/// "/ 42.1% used (57.9 GiB free), inodes 3.2% used", and the observations
/// disk_used_ratio, disk_available_bytes and (when the filesystem counts
/// inodes) disk_inodes_used_ratio. Pure; thread-safe.
CheckResult JudgeDiskUsage(const DiskCheckSettings& settings, const uv_statfs_t& stats);

/// Runs disk attempts: statfs on the loop's thread pool, then (with
/// write_test) a write test there too. The check has no timer of its own: the
/// scheduler's hard timeout calls Cancel(), which returns at once even while
/// statfs hangs on a dead mount; the pool thread's late result is dropped
/// (see ThreadPoolJob).
///
/// A pool thread stuck on a dead mount stays stuck, and libuv's pool is small
/// and shared with DNS lookups and every other check. So while an abandoned
/// attempt of this check still occupies a pool thread, the next attempt does
/// not queue another one: it reports unhealthy at once. One hung mount costs
/// at most one pool thread per check. Loop-thread only; not thread-safe.
class DiskCheck final : public Check {
 public:
  /// `statfs` replaces SystemStatfs (tests use it to fake numbers or hang).
  DiskCheck(IoContext& io, std::shared_ptr<const DiskCheckSettings> settings,
            StatfsFunction statfs = SystemStatfs);
  ~DiskCheck() override;
  DiskCheck(const DiskCheck&) = delete;
  DiskCheck& operator=(const DiskCheck&) = delete;

  void Start(DoneCallback done) override;
  void Cancel() override;

  /// Bytes the write test writes (and fsyncs) before deleting its file.
  static constexpr size_t kWriteTestBytes = 4096;

 private:
  struct StatfsOutcome;
  void OnStatfs(const StatfsOutcome& outcome);
  void OnWriteTest(int error, CheckResult result);
  void Finish(CheckResult result);

  IoContext& io_;
  std::shared_ptr<const DiskCheckSettings> settings_;
  StatfsFunction statfs_;
  ThreadPoolJob job_;
  DoneCallback done_;  // set while an attempt is in flight
  // Held by the pool closures of the attempt in flight; expires once libuv
  // has released them (after the function returned, even if cancelled).
  std::weak_ptr<void> attempt_in_pool_;
  // The same, for the last attempt Cancel() abandoned while it was in the pool.
  std::weak_ptr<void> abandoned_in_pool_;
};

/// The `disk` check type, for the registry.
CheckType DiskCheckType();

}  // namespace hx
