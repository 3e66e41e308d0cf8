#pragma once
// STUB — to be replaced by the real PostgresCheck.
#include "checks/check.h"

namespace hx {
/// The `postgres:` check type.
CheckType PostgresCheckType();
}  // namespace hx
