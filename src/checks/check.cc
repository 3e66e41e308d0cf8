#include "checks/check.h"

namespace hx {

std::string_view HealthName(Health h) {
  switch (h) {
    case Health::kHealthy:
      return "healthy";
    case Health::kDegraded:
      return "degraded";
    case Health::kUnhealthy:
      return "unhealthy";
  }
  return "unhealthy";
}

double HealthValue(Health h) {
  switch (h) {
    case Health::kHealthy:
      return 1.0;
    case Health::kDegraded:
      return 0.5;
    case Health::kUnhealthy:
      return 0.0;
  }
  return 0.0;
}

void CheckTypeRegistry::Register(CheckType type) { types_.push_back(std::move(type)); }

const CheckType* CheckTypeRegistry::Find(std::string_view name) const {
  for (const auto& t : types_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<std::string> CheckTypeRegistry::Names() const {
  std::vector<std::string> names;
  names.reserve(types_.size());
  for (const auto& t : types_) names.push_back(t.name);
  return names;
}

const CheckTypeRegistry& CheckTypeRegistry::Builtin() {
  static const CheckTypeRegistry registry = [] {
    CheckTypeRegistry r;
    RegisterBuiltinCheckTypes(r);
    return r;
  }();
  return registry;
}

}  // namespace hx
