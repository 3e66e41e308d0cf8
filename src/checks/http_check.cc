// STUB — to be replaced by the real HttpCheck.
#include "checks/http_check.h"

namespace hx {
CheckType HttpCheckType() {
  return {"http", [](config::MapReader& r) -> std::shared_ptr<const CheckSpec> {
            r.Finish();
            return nullptr;
          }};
}
}  // namespace hx
