#pragma once
// STUB — to be replaced by the real HttpCheck.
#include "checks/check.h"

namespace hx {
/// The `http:` check type.
CheckType HttpCheckType();
}  // namespace hx
