#include "checks/check.h"
#include "checks/common/check_services.h"
#include "checks/disk/disk_check.h"
#include "checks/dns/dns_check.h"
#include "checks/exec/exec_check.h"
#include "checks/grpc/grpc_check.h"
#include "checks/heartbeat/heartbeat_check.h"
#include "checks/http/http_check.h"
#include "checks/icmp/icmp_check.h"
#include "checks/memory/memory_check.h"
#include "checks/postgres/postgres_check.h"
#include "checks/redis/redis_check.h"
#include "checks/tcp/tcp_check.h"
#include "checks/tls/tls_check.h"

namespace hx {

// Adding a check type: one file pair in src/checks/<type>/ and one line here.
void RegisterBuiltinCheckTypes(CheckTypeRegistry& registry) {
  registry.Register(HttpCheckType());
  registry.Register(TcpCheckType());
  registry.Register(PostgresCheckType());
  registry.Register(RedisCheckType());
  registry.Register(DiskCheckType());
  registry.Register(MemoryCheckType());
  registry.Register(ExecCheckType());
  registry.Register(HeartbeatCheckType());
  registry.Register(DnsCheckType());
  registry.Register(TlsCheckType());
  registry.Register(IcmpCheckType());
  registry.Register(GrpcCheckType());
}

// A type whose checks share state or serve a push endpoint: one line here.
void AddBuiltinCheckServices(CheckServices& services) {
  services.Add(HeartbeatService::FromOptions(services.options()));
}

}  // namespace hx
