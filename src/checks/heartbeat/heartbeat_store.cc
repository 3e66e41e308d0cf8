#include "checks/heartbeat/heartbeat_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "util/log.h"
#include "util/quote.h"

namespace hx {
namespace {

constexpr int kFormatVersion = 1;


std::string ErrnoText(int error) { return std::strerror(error); }

// Writes all of `text` to `fd`; returns 0 or errno.
int WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

// Reads a whole file of at most `limit` bytes. Returns 0, errno, or EFBIG.
int ReadFileLimited(const std::string& path, uint64_t limit, std::string* text) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int error = 0;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      error = errno;
      break;
    }
    if (n == 0) break;
    text->append(buf, static_cast<size_t>(n));
    if (text->size() > limit) {
      error = EFBIG;
      break;
    }
  }
  close(fd);
  return error;
}

bool FiniteNonNegative(const nlohmann::json& value) {
  return value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() >= 0;
}

// Parses the file's text; nullopt and *error on anything unexpected.
std::optional<std::map<std::string, HeartbeatRecord, std::less<>>> ParseState(
    const std::string& text, std::string* error) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    *error = "not valid JSON";
    return std::nullopt;
  }
  if (!doc.is_object() || !doc.contains("version") || doc["version"] != kFormatVersion) {
    *error = "not a version " + std::to_string(kFormatVersion) + " heartbeat state file";
    return std::nullopt;
  }
  if (!doc.contains("checks") || !doc["checks"].is_object()) {
    *error = "no \"checks\" object";
    return std::nullopt;
  }
  std::map<std::string, HeartbeatRecord, std::less<>> records;
  for (const auto& [name, entry] : doc["checks"].items()) {
    const bool shape_ok = entry.is_object() && entry.contains("watched_since") &&
                          FiniteNonNegative(entry["watched_since"]) &&
                          entry.contains("last_ping") && FiniteNonNegative(entry["last_ping"]) &&
                          entry.contains("last_ok") && entry["last_ok"].is_boolean() &&
                          entry.contains("detail") && entry["detail"].is_string();
    if (!shape_ok) {
      *error = "malformed entry for check " + Quote(name);
      return std::nullopt;
    }
    // "removed_at" is optional: files written before it existed lack it.
    if (entry.contains("removed_at") && !FiniteNonNegative(entry["removed_at"])) {
      *error = "malformed entry for check " + Quote(name);
      return std::nullopt;
    }
    HeartbeatRecord record;
    record.removed_at = entry.value("removed_at", 0.0);
    record.watched_since = entry["watched_since"].get<double>();
    record.last_ping = entry["last_ping"].get<double>();
    record.last_ok = entry["last_ok"].get<bool>();
    record.detail = entry["detail"].get<std::string>();
    records.emplace(name, std::move(record));
  }
  return records;
}

}  // namespace

WallClock SystemWallClock() {
  return [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

HeartbeatStore::HeartbeatStore(std::string state_dir, WallClock wall_clock)
    : state_dir_(std::move(state_dir)),
      file_path_((std::filesystem::path(state_dir_) / kFileName).string()),
      wall_clock_(std::move(wall_clock)) {}

std::optional<std::string> HeartbeatStore::CheckDirectory() const {
  struct stat st {};
  if (stat(state_dir_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Quote(state_dir_) + " is not a directory";
  } else {
    std::error_code ec;
    std::filesystem::create_directories(state_dir_, ec);
    if (ec) return "cannot create " + Quote(state_dir_) + ": " + ec.message();
  }
  // A real write, not access(2): root passes access() whatever the mode
  // bits, and a read-only mount shows only when writing.
  std::string probe = (std::filesystem::path(state_dir_) / ".write-test-XXXXXX").string();
  const int fd = mkostemp(probe.data(), O_CLOEXEC);
  if (fd < 0) return "cannot write in " + Quote(state_dir_) + ": " + ErrnoText(errno);
  close(fd);
  unlink(probe.c_str());
  return std::nullopt;
}

std::optional<std::string> HeartbeatStore::Load() {
  std::string text;
  const int error = ReadFileLimited(file_path_, kMaxFileBytes, &text);
  std::optional<std::string> problem;
  std::map<std::string, HeartbeatRecord, std::less<>> loaded;
  if (error == ENOENT) {
    log::Info("no heartbeat state yet, starting empty", {{"file", file_path_}});
  } else if (error != 0) {
    problem = "cannot read " + Quote(file_path_) + ": " +
              (error == EFBIG ? std::string("larger than 4 MiB") : ErrnoText(error));
  } else {
    std::string parse_error;
    if (auto records = ParseState(text, &parse_error)) {
      loaded = std::move(*records);
    } else {
      problem = Quote(file_path_) + " is corrupt: " + parse_error;
      // Keep the evidence; the next save would overwrite it otherwise.
      const std::string aside = file_path_ + ".corrupt";
      if (rename(file_path_.c_str(), aside.c_str()) == 0) *problem += " (moved to " + aside + ")";
    }
  }
  if (problem) {
    log::Warn("heartbeat state not loaded, starting empty: last heartbeats are forgotten",
              {{"error", *problem}});
  }
  std::lock_guard lock(mutex_);
  records_ = std::move(loaded);
  ++generation_;
  return problem;
}

void HeartbeatStore::Watch(const std::vector<std::pair<std::string, const CheckSpec*>>& checks) {
  const double now = Now();
  std::lock_guard lock(mutex_);
  std::map<std::string, HeartbeatRecord, std::less<>> kept;
  names_.clear();
  for (const auto& [name, spec] : checks) {
    if (spec != nullptr) names_[spec] = name;
    auto it = records_.find(name);
    if (it != records_.end()) {
      it->second.removed_at = 0;  // back within the grace period
      kept.insert(records_.extract(it));
    } else {
      kept[name].watched_since = now;
    }
  }
  // What is left was removed now or earlier: kept until its grace runs out.
  for (auto& [name, record] : records_) {
    if (record.removed_at == 0) record.removed_at = now;
    if (now - record.removed_at < kRemovedRecordGrace) kept.emplace(name, std::move(record));
  }
  records_ = std::move(kept);
  ++generation_;
}

bool HeartbeatStore::Record(std::string_view name, bool ok, std::string detail) {
  const double now = Now();
  std::string text;
  uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = records_.find(name);
    if (it == records_.end() || it->second.removed_at != 0) return false;
    HeartbeatRecord& record = it->second;
    record.last_ping = now;
    record.last_ok = ok;
    record.detail = ok ? std::string() : std::move(detail);
    generation = ++generation_;
    text = SerializeLocked();
  }
  if (auto error = Persist(text, generation)) {
    log::Warn("cannot save heartbeat state; the heartbeat is kept in memory only",
              {{"check", std::string(name)}, {"error", *error}});
  }
  return true;
}

std::optional<std::string> HeartbeatStore::Save() {
  std::string text;
  uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    generation = generation_;
    text = SerializeLocked();
  }
  return Persist(text, generation);
}

std::optional<HeartbeatRecord> HeartbeatStore::Find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = records_.find(name);
  if (it == records_.end() || it->second.removed_at != 0) return std::nullopt;
  return it->second;
}

std::optional<std::string> HeartbeatStore::NameOf(const CheckSpec* spec) const {
  std::lock_guard lock(mutex_);
  auto it = names_.find(spec);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> HeartbeatStore::last_save_error() const {
  std::lock_guard lock(mutex_);
  return last_save_error_;
}

std::string HeartbeatStore::SerializeLocked() const {
  nlohmann::json checks = nlohmann::json::object();
  for (const auto& [name, record] : records_) {
    checks[name] = {{"watched_since", record.watched_since},
                    {"last_ping", record.last_ping},
                    {"last_ok", record.last_ok},
                    {"detail", record.detail}};
    if (record.removed_at != 0) checks[name]["removed_at"] = record.removed_at;
  }
  nlohmann::json doc = {{"version", kFormatVersion}, {"checks", std::move(checks)}};
  // Replace invalid UTF-8 rather than throw: details come from the network.
  return doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::optional<std::string> HeartbeatStore::Persist(const std::string& text, uint64_t generation) {
  std::lock_guard write_lock(write_mutex_);
  // A concurrent ping already wrote a newer state: writing ours would go back.
  if (generation <= written_generation_ && written_generation_ != 0) return std::nullopt;

  std::optional<std::string> error;
  auto fail = [&](const std::string& what, int err) { error = what + ": " + ErrnoText(err); };

  std::error_code ec;
  std::filesystem::create_directories(state_dir_, ec);
  std::string temp = file_path_ + ".tmp-XXXXXX";
  int fd = -1;
  if (ec) {
    error = "cannot create state directory " + Quote(state_dir_) + ": " + ec.message();
  } else if ((fd = mkostemp(temp.data(), O_CLOEXEC)) < 0) {
    fail("cannot create a temporary file in " + Quote(state_dir_), errno);
  } else {
    int err = WriteAll(fd, text);
    if (err != 0) {
      fail("cannot write " + Quote(temp), err);
    } else if (fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
      fail("cannot sync " + Quote(temp), errno);
    }
    if (close(fd) != 0 && !error) fail("cannot write " + Quote(temp), errno);
    if (!error && rename(temp.c_str(), file_path_.c_str()) != 0) {
      fail("cannot rename " + Quote(temp) + " to " + Quote(file_path_), errno);
    }
    if (error) {
      unlink(temp.c_str());
    } else {
      // The rename itself is durable only once the directory is synced.
      const int dir = open(state_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dir < 0 || fsync(dir) != 0) fail("cannot sync directory " + Quote(state_dir_), errno);
      if (dir >= 0) close(dir);
    }
  }
  if (!error) written_generation_ = generation;
  std::lock_guard lock(mutex_);
  last_save_error_ = error;
  return error;
}

}  // namespace hx
