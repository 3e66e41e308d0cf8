#include "config/check_type.h"

namespace hx {

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

}  // namespace hx
