// STUB — to be replaced by the real ExecCheck.
#include "checks/exec_check.h"

namespace hx {
CheckType ExecCheckType() {
  return {"exec", [](config::MapReader& r) -> std::shared_ptr<const CheckSpec> {
            r.Error("the exec check type is not implemented yet");
            r.Finish();
            return nullptr;
          }};
}
}  // namespace hx
