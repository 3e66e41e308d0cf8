#include "checks/check.h"
#include "checks/disk_check.h"
#include "checks/exec_check.h"
#include "checks/heartbeat_check.h"
#include "checks/http_check.h"
#include "checks/memory_check.h"
#include "checks/postgres_check.h"
#include "checks/redis_check.h"
#include "checks/tcp_check.h"

namespace hx {

// Adding a check type: one file pair in src/checks/ and one line here.
void RegisterBuiltinCheckTypes(CheckTypeRegistry& registry) {
  registry.Register(HttpCheckType());
  registry.Register(TcpCheckType());
  registry.Register(PostgresCheckType());
  registry.Register(RedisCheckType());
  registry.Register(DiskCheckType());
  registry.Register(MemoryCheckType());
  registry.Register(ExecCheckType());
  registry.Register(HeartbeatCheckType());
}

}  // namespace hx
