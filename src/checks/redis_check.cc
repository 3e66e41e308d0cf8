// STUB — to be replaced by the real RedisCheck.
#include "checks/redis_check.h"

namespace hx {
CheckType RedisCheckType() {
  return {"redis", [](config::MapReader& r) -> std::shared_ptr<const CheckSpec> {
            r.Error("the redis check type is not implemented yet");
            r.Finish();
            return nullptr;
          }};
}
}  // namespace hx
