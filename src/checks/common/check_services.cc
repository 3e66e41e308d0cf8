#include "checks/common/check_services.h"

#include "store/store.h"

namespace hx {

std::optional<std::string> CheckServices::Open() {
  for (const auto& service : order_) {
    if (auto error = service->Open()) return error;
  }
  return std::nullopt;
}

void CheckServices::ChecksWillRun(const NamedCheckSpecs& checks, uv_loop_t* loop, bool first) {
  if (options_.store != nullptr) {
    // The store's tombstones: a check no longer configured (any type) keeps
    // its rows (journal, history, last heartbeat) for the grace period, one
    // that is back loses its tombstone. Queued: never waits on disk.
    std::vector<std::string> names;
    names.reserve(checks.size());
    for (const auto& [name, spec] : checks) names.push_back(name);
    options_.store->SetChecks(std::move(names));
  }
  for (const auto& service : order_) service->ChecksWillRun(checks, loop, first);
}

void CheckServices::ChecksWillProbe(const NamedCheckSpecs& checks) {
  for (const auto& service : order_) service->ChecksWillProbe(checks);
}

std::vector<PushEndpoint> CheckServices::PushEndpoints() const {
  std::vector<PushEndpoint> endpoints;
  for (const auto& service : order_) {
    for (PushEndpoint& endpoint : service->PushEndpoints()) {
      endpoints.push_back(std::move(endpoint));
    }
  }
  return endpoints;
}

}  // namespace hx
