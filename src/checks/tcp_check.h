#pragma once
// STUB — to be replaced by the real TcpCheck.
#include "checks/check.h"

namespace hx {
/// The `tcp:` check type.
CheckType TcpCheckType();
}  // namespace hx
