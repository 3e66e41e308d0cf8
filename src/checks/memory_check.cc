// STUB — to be replaced by the real MemoryCheck.
#include "checks/memory_check.h"

namespace hx {
CheckType MemoryCheckType() {
  return {"memory", [](config::MapReader& r) -> std::shared_ptr<const CheckSpec> {
            r.Error("the memory check type is not implemented yet");
            r.Finish();
            return nullptr;
          }};
}
}  // namespace hx
