#pragma once
// STUB — to be replaced by the real DiskCheck.
#include "checks/check.h"

namespace hx {
/// The `disk:` check type.
CheckType DiskCheckType();
}  // namespace hx
