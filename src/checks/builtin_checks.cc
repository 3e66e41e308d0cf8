#include "checks/check.h"
#include "checks/http_check.h"
#include "checks/tcp_check.h"

namespace hx {

// Adding a check type: one file pair in src/checks/ and one line here.
void RegisterBuiltinCheckTypes(CheckTypeRegistry& registry) {
  registry.Register(HttpCheckType());
  registry.Register(TcpCheckType());
}

}  // namespace hx
