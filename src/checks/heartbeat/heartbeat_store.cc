#include "checks/heartbeat/heartbeat_store.h"

#include <chrono>

#include "store/records.h"
#include "store/store.h"

namespace hx {

WallClock SystemWallClock() {
  return [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

HeartbeatStore::HeartbeatStore(store::Store* store, WallClock wall_clock)
    : store_(store), wall_clock_(std::move(wall_clock)) {}

void HeartbeatStore::Load() {
  std::map<std::string, HeartbeatRecord, std::less<>> loaded;
  if (store_ != nullptr) {
    for (store::HeartbeatRow& row : store_->Heartbeats()) {
      HeartbeatRecord& record = loaded[row.check];
      record.watched_since = row.watched_since;
      record.last_ping = row.last_ping;
      record.last_ok = row.last_ok;
      record.detail = std::move(row.detail);
    }
    // A check removed before the stop keeps its removal time: its grace
    // runs from then, not from this start.
    for (const store::CheckRow& check : store_->Checks()) {
      auto it = loaded.find(check.check);
      if (it != loaded.end()) it->second.removed_at = check.removed_at;
    }
  }
  std::lock_guard lock(mutex_);
  records_ = std::move(loaded);
}

void HeartbeatStore::Watch(const std::vector<std::pair<std::string, const CheckSpec*>>& checks) {
  const double now = Now();
  std::lock_guard lock(mutex_);
  std::map<std::string, HeartbeatRecord, std::less<>> kept;
  names_.clear();
  for (const auto& [name, spec] : checks) {
    if (spec != nullptr) names_[spec] = name;
    if (kept.contains(name)) continue;
    auto it = records_.find(name);
    const bool resumes =
        it != records_.end() &&
        (it->second.removed_at == 0 || now - it->second.removed_at < kRemovedRecordGrace);
    if (resumes) {
      HeartbeatRecord& record = kept[name] = std::move(it->second);
      if (record.removed_at != 0) {
        // Back within the grace period. Written again so that the store has
        // the row even if its own pruning ran first.
        record.removed_at = 0;
        PutLocked(name, record);
      }
    } else {
      // New, or back too late: the grace before a first ping starts now.
      HeartbeatRecord& record = kept[name];
      record.watched_since = now;
      PutLocked(name, record);
    }
    if (it != records_.end()) records_.erase(it);
  }
  // What is left was removed now or earlier: kept until its grace runs out.
  // The store keeps its row as long (its tombstone, set by SetChecks).
  for (auto& [name, record] : records_) {
    if (record.removed_at == 0) record.removed_at = now;
    if (now - record.removed_at < kRemovedRecordGrace) kept.emplace(name, std::move(record));
  }
  records_ = std::move(kept);
}

bool HeartbeatStore::Record(std::string_view name, bool ok, std::string detail) {
  const double now = Now();
  std::lock_guard lock(mutex_);
  auto it = records_.find(name);
  if (it == records_.end() || it->second.removed_at != 0) return false;
  HeartbeatRecord& record = it->second;
  record.last_ping = now;
  record.last_ok = ok;
  record.detail = ok ? std::string() : std::move(detail);
  PutLocked(it->first, record);
  return true;
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

void HeartbeatStore::PutLocked(const std::string& name, const HeartbeatRecord& record) const {
  if (store_ == nullptr) return;
  store::HeartbeatRow row;
  row.check = name;
  row.watched_since = record.watched_since;
  row.last_ping = record.last_ping;
  row.last_ok = record.last_ok;
  row.detail = record.detail;
  // A full queue is counted and logged by the store (at most every 10 s);
  // the record stays in memory and the next change writes it whole.
  store_->PutHeartbeat(std::move(row));
}

}  // namespace hx
