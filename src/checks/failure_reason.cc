#include "checks/failure_reason.h"

namespace hx {

std::optional<FailureReason> ParseFailureReason(std::string_view name) {
  if (name.empty()) return std::nullopt;
  for (const FailureReasonKind& kind : kFailureReasons) {
    if (name == kind.name) return kind.reason;
  }
  return std::nullopt;
}

}  // namespace hx
