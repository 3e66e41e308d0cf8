// STUB — to be replaced by the real PostgresCheck.
#include "checks/postgres_check.h"

namespace hx {
CheckType PostgresCheckType() {
  return {"postgres", [](config::MapReader& r) -> std::shared_ptr<const CheckSpec> {
            r.Error("the postgres check type is not implemented yet");
            r.Finish();
            return nullptr;
          }};
}
}  // namespace hx
