#include "checks/common/check_services.h"

namespace hx {

std::optional<std::string> CheckServices::Open() {
  for (const auto& service : order_) {
    if (auto error = service->Open()) return error;
  }
  return std::nullopt;
}

void CheckServices::ChecksWillRun(const NamedCheckSpecs& checks, uv_loop_t* loop, bool first) {
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
