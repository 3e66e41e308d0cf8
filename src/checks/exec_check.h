#pragma once
// STUB — to be replaced by the real ExecCheck.
#include "checks/check.h"

namespace hx {
/// The `exec:` check type.
CheckType ExecCheckType();
}  // namespace hx
