#include "app/check_set.h"

#include <unordered_set>

#include "checks/common/check_services.h"
#include "io/io_context.h"
#include "scheduler/check_scheduler.h"
#include "status/status_board.h"

namespace hx {

CheckSet::CheckSet(CheckScheduler& scheduler, StatusBoard& board, IoContext& io,
                   CheckServices& services)
    : scheduler_(scheduler), board_(board), io_(io), services_(services) {}

void CheckSet::Stop(const Running& running) {
  scheduler_.Remove(running.id);
  board_.RemoveCheck(running.id);
}

CheckSet::Changes CheckSet::Apply(Config& config) {
  Changes changes;
  std::unordered_set<std::string> wanted;
  wanted.reserve(config.checks.size());
  for (const CheckConfig& check : config.checks) wanted.insert(check.name);

  // Removed checks go first: their attempts are cancelled before new ones
  // may start against the same targets.
  for (auto it = running_.begin(); it != running_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    changes.removed.push_back(it->first);
    Stop(it->second);
    it = running_.erase(it);
  }

  // Which checks stay, which start (again); `config` gets the running specs.
  std::vector<bool> keep(config.checks.size(), false);
  for (size_t i = 0; i < config.checks.size(); ++i) {
    CheckConfig& check = config.checks[i];
    auto it = running_.find(check.name);
    if (it == running_.end()) {
      changes.added.push_back(check.name);
    } else if (it->second.fingerprint == check.fingerprint) {
      keep[i] = true;
      check.spec = it->second.spec;
      ++changes.unchanged;
    } else {
      changes.changed.push_back(check.name);
      Stop(it->second);
      running_.erase(it);
    }
  }
  // Types with shared state learn what will run before their new checks are
  // created (the heartbeat store watches names before a first attempt).
  NamedCheckSpecs will_run;
  will_run.reserve(config.checks.size());
  for (const CheckConfig& check : config.checks) {
    will_run.emplace_back(check.name, check.spec.get());
  }
  services_.ChecksWillRun(will_run, io_.loop(), /*first=*/!applied_);
  applied_ = true;
  // Before any Add(): checks added by this config get its start window.
  scheduler_.SetStartupSpread(config.global.startup_spread);

  // New checks use the config's buckets; a change of buckets changes every
  // fingerprint, so no check keeps a histogram with the old ones.
  const NativeHistogramSettings& native = config.global.native_histograms;
  board_.SetDurationLayout(
      {config.global.duration_buckets,
       metrics::NativeHistogramOptions{native.bucket_factor, native.max_buckets,
                                       native.zero_threshold}});
  std::vector<size_t> order;
  order.reserve(config.checks.size());
  for (size_t i = 0; i < config.checks.size(); ++i) {
    const CheckConfig& check = config.checks[i];
    if (keep[i]) {
      order.push_back(running_.at(check.name).id);
      continue;
    }
    CheckInfo info = CheckInfoFromConfig(check);
    const size_t id = scheduler_.Add(
        check, WithWrittenText(check.spec->CreateCheck(CheckContext(io_, check.name, &services_)),
                               check.expansions));
    board_.AddCheck(id, std::move(info));
    running_.emplace(check.name, Running{id, check.fingerprint, check.spec});
    order.push_back(id);
  }
  board_.SetOrder(order);
  return changes;
}

}  // namespace hx
