#pragma once
// STUB — to be replaced by the real MemoryCheck.
#include "checks/check.h"

namespace hx {
/// The `memory:` check type.
CheckType MemoryCheckType();
}  // namespace hx
