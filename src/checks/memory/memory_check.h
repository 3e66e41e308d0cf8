#pragma once
// The `memory:` check type: how much of the machine's memory is in use,
// counting what the kernel could reclaim (page cache, ...) as free:
// used = 1 - MemAvailable / MemTotal from /proc/meminfo.
//
//   memory:
//     degraded_above: 90%    # default 90%
//     unhealthy_above: 97%   # default 97%

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "checks/check.h"
#include "io/thread_pool_job.h"

namespace hx {

/// The parsed `memory:` mapping. Plain data; immutable once parsed, safe to share.
struct MemoryCheckSettings {
  double degraded_above = 0.90;  ///< fractions of 1, compared with ">"
  double unhealthy_above = 0.97;
};

/// Where the kernel publishes memory statistics.
inline constexpr std::string_view kProcMeminfo = "/proc/meminfo";

/// The two /proc/meminfo fields the check uses, in bytes.
struct MemInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
};

/// Parses the text of /proc/meminfo ("MemTotal:  24579884 kB" lines). On
/// failure returns nullopt and sets *error, e.g. "no MemAvailable line".
/// Pure; thread-safe.
std::optional<MemInfo> ParseMeminfo(std::string_view text, std::string* error);

/// Judges memory numbers against the thresholds: health, a detail such as
/// "memory 63.0% used (8.9 GiB available of 23.4 GiB)", and the observations
/// memory_used_ratio and memory_available_bytes. Pure; thread-safe.
CheckResult JudgeMemoryUsage(const MemoryCheckSettings& settings, const MemInfo& info);

/// The validated config of one memory check. Immutable; thread-safe.
class MemoryCheckSpec final : public CheckSpec {
 public:
  explicit MemoryCheckSpec(MemoryCheckSettings settings);

  const MemoryCheckSettings& settings() const { return *settings_; }

  std::unique_ptr<Check> CreateCheck(const CheckContext& context) const override;
  /// "/proc/meminfo".
  std::string Target() const override;

 private:
  std::shared_ptr<const MemoryCheckSettings> settings_;
};

/// Reads a `memory:` mapping (calls reader.Finish()); nullptr on any error.
std::shared_ptr<const MemoryCheckSpec> ParseMemoryCheckSpec(config::MapReader& reader);

/// Runs memory attempts: reads the meminfo file on the loop's thread pool (it
/// never blocks in practice, but all file I/O stays off the loop thread) and
/// judges it. Cancel() drops a read in flight. Loop-thread only; not
/// thread-safe.
class MemoryCheck final : public Check {
 public:
  /// `meminfo_path` replaces /proc/meminfo (tests point it at a fake file).
  MemoryCheck(IoContext& io, std::shared_ptr<const MemoryCheckSettings> settings,
              std::string meminfo_path = std::string(kProcMeminfo));
  ~MemoryCheck() override;
  MemoryCheck(const MemoryCheck&) = delete;
  MemoryCheck& operator=(const MemoryCheck&) = delete;

  void Start(DoneCallback done) override;
  void Cancel() override;

  /// Most bytes read from the meminfo file (the real one is about 1.5 KiB).
  static constexpr size_t kMaxMeminfoBytes = 64 * 1024;

 private:
  struct ReadOutcome;
  void OnRead(const ReadOutcome& outcome);
  void Finish(CheckResult result);

  IoContext& io_;
  std::shared_ptr<const MemoryCheckSettings> settings_;
  std::string meminfo_path_;
  ThreadPoolJob job_;
  DoneCallback done_;  // set while an attempt is in flight
};

/// The `memory` check type, for the registry.
CheckType MemoryCheckType();

}  // namespace hx
