// STUB — to be replaced by the real DiskCheck.
#include "checks/disk_check.h"

namespace hx {
CheckType DiskCheckType() {
  return {"disk", [](config::MapReader& r) -> std::shared_ptr<const CheckSpec> {
            r.Error("the disk check type is not implemented yet");
            r.Finish();
            return nullptr;
          }};
}
}  // namespace hx
