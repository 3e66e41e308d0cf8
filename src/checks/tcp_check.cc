// STUB — to be replaced by the real TcpCheck.
#include "checks/tcp_check.h"

namespace hx {
CheckType TcpCheckType() {
  return {"tcp", [](config::MapReader& r) -> std::shared_ptr<const CheckSpec> {
            r.Finish();
            return nullptr;
          }};
}
}  // namespace hx
