#pragma once
// STUB — to be replaced by the real RedisCheck.
#include "checks/check.h"

namespace hx {
/// The `redis:` check type.
CheckType RedisCheckType();
}  // namespace hx
