#include "checks/memory/memory_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <system_error>
#include <utility>

#include "checks/common/usage_thresholds.h"
#include "io/io_context.h"
#include "util/fd_shortage.h"

namespace hx {
namespace {

// Reads up to `limit` bytes of `path` into *text; returns 0 or errno. Runs on
// a pool thread.
int ReadSmallFile(const std::string& path, size_t limit, std::string* text) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int error = 0;
  char buf[4096];
  while (text->size() < limit) {
    const ssize_t n = read(fd, buf, std::min(sizeof(buf), limit - text->size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      error = errno;
      break;
    }
    if (n == 0) break;
    text->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return error;
}

// The value of a "Name:   1234 kB" line in bytes; nullopt when the line is
// missing, *malformed set when it is there but unreadable.
std::optional<uint64_t> MeminfoField(std::string_view text, std::string_view name,
                                     bool* malformed) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != ':') {
      continue;
    }
    std::string_view rest = line.substr(name.size() + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    std::string_view unit(ptr, static_cast<size_t>(rest.data() + rest.size() - ptr));
    while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    if (ec != std::errc() || ptr == rest.data()) {
      *malformed = true;
      return std::nullopt;
    }
    // The kernel writes "kB" and means KiB.
    if (unit == "kB") {
      if (value > UINT64_MAX / 1024) {
        *malformed = true;
        return std::nullopt;
      }
      return value * 1024;
    }
    if (unit.empty()) return value;
    *malformed = true;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::optional<MemInfo> ParseMeminfo(std::string_view text, std::string* error) {
  MemInfo info;
  for (auto [name, out] : {std::pair<std::string_view, uint64_t*>{"MemTotal", &info.total_bytes},
                           {"MemAvailable", &info.available_bytes}}) {
    bool malformed = false;
    std::optional<uint64_t> value = MeminfoField(text, name, &malformed);
    if (!value) {
      if (malformed) {
        *error = "unreadable " + std::string(name) + " line";
      } else if (name == "MemAvailable") {
        *error = "no MemAvailable line (it needs Linux 3.14 or later)";
      } else {
        *error = "no " + std::string(name) + " line";
      }
      return std::nullopt;
    }
    *out = *value;
  }
  if (info.total_bytes == 0) {
    *error = "MemTotal is 0";
    return std::nullopt;
  }
  return info;
}

CheckResult JudgeMemoryUsage(const MemoryCheckSettings& settings, const MemInfo& info) {
  const uint64_t available = std::min(info.available_bytes, info.total_bytes);
  const double used = 1.0 - static_cast<double>(available) / static_cast<double>(info.total_bytes);
  CheckResult result = CheckResult::Healthy();
  result.observations.emplace_back(ObservationId::kMemoryUsedRatio, used);
  result.observations.emplace_back(ObservationId::kMemoryAvailableBytes,
                                   static_cast<double>(info.available_bytes));
  double crossed = 0;
  LowerTo(result, JudgeUsage(used, {settings.degraded_above, settings.unhealthy_above}, &crossed));
  result.detail = "memory " + FormatUsedPercent(used) + " used";
  if (result.health != Health::kHealthy) result.detail += ", above " + FormatLimitPercent(crossed);
  result.detail += " (" + FormatBinaryBytes(static_cast<double>(info.available_bytes)) +
                   " available of " + FormatBinaryBytes(static_cast<double>(info.total_bytes)) +
                   ")";
  return result;
}

MemoryCheckSpec::MemoryCheckSpec(MemoryCheckSettings settings)
    : settings_(std::make_shared<const MemoryCheckSettings>(settings)) {}

std::unique_ptr<Check> MemoryCheckSpec::CreateCheck(const CheckContext& context) const {
  return std::make_unique<MemoryCheck>(context.io, settings_);
}

std::string MemoryCheckSpec::Target() const { return std::string(kProcMeminfo); }

std::shared_ptr<const MemoryCheckSpec> ParseMemoryCheckSpec(config::MapReader& reader) {
  MemoryCheckSettings settings;
  const UsageThresholds limits =
      ReadUsageThresholds(reader, "degraded_above", "unhealthy_above",
                          {settings.degraded_above, settings.unhealthy_above});
  settings.degraded_above = *limits.degraded_above;
  settings.unhealthy_above = *limits.unhealthy_above;
  if (!reader.Finish()) return nullptr;
  return std::make_shared<const MemoryCheckSpec>(settings);
}

CheckType MemoryCheckType() { return {"memory", &ParseMemoryCheckSpec}; }

struct MemoryCheck::ReadOutcome {
  int error = 0;
  std::string text;
};

MemoryCheck::MemoryCheck(IoContext& io, std::shared_ptr<const MemoryCheckSettings> settings,
                         std::string meminfo_path)
    : io_(io), settings_(std::move(settings)), meminfo_path_(std::move(meminfo_path)) {}

MemoryCheck::~MemoryCheck() { Cancel(); }

void MemoryCheck::Start(DoneCallback done) {
  Cancel();  // the scheduler never overlaps attempts; be safe if someone does
  done_ = std::move(done);
  // The pool closure owns what it touches: it may outlive a cancelled check.
  auto outcome = std::make_shared<ReadOutcome>();
  const int rc = job_.Start(
      io_.loop(),
      [outcome, path = meminfo_path_] {
        outcome->error = ReadSmallFile(path, kMaxMeminfoBytes, &outcome->text);
      },
      [this, outcome] { OnRead(*outcome); });
  if (rc < 0) {
    Finish(CheckResult::Unhealthy(FailureReason::kInternal,
                                  "read " + meminfo_path_ + ": " + uv_strerror(rc)));
  }
}

void MemoryCheck::OnRead(const ReadOutcome& outcome) {
  if (IsFdShortage(outcome.error)) {
    Finish(CheckResult::Unhealthy(FailureReason::kInternal,
                                  ReportFdShortage(outcome.error, "cannot open " + meminfo_path_)));
    return;
  }
  if (outcome.error != 0) {
    Finish(CheckResult::Unhealthy(
        FailureReason::kInternal,
        "read " + meminfo_path_ + ": " + std::generic_category().message(outcome.error)));
    return;
  }
  std::string error;
  std::optional<MemInfo> info = ParseMeminfo(outcome.text, &error);
  if (!info) {
    Finish(CheckResult::Unhealthy(FailureReason::kInternal, meminfo_path_ + ": " + error));
    return;
  }
  Finish(JudgeMemoryUsage(*settings_, *info));
}

void MemoryCheck::Finish(CheckResult result) {
  // The callback may destroy this check or start the next attempt.
  DoneCallback done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(result));
}

void MemoryCheck::Cancel() {
  job_.Cancel();
  done_ = nullptr;
}

}  // namespace hx
