#pragma once
// What a check type can report beside its health: the observation vocabulary
// of src/checks/. A check type names what it measured with an ObservationId
// (a typo fails to compile); src/metrics/metric_names.h maps each id to the
// metric family that exposes it, /status shows it under its name here.

namespace hx {

enum class ObservationId : unsigned char {
  kHttpStatusCode,
  kTlsCertExpiryTimestampSeconds,
  kHttpPhaseSeconds,
  kHttpRedirects,
  kPostgresReplicationLagSeconds,
  kPostgresConnectionsUsedRatio,
  kRedisMemoryUsedRatio,
  kDiskUsedRatio,
  kDiskInodesUsedRatio,
  kDiskAvailableBytes,
  kMemoryUsedRatio,
  kMemoryAvailableBytes,
  kPluginValue,
  kHeartbeatLastPingTimestampSeconds,
  kDnsRcode,
  kDnsAnswers,
  kDnsAnswerTtlSeconds,
  kTlsVersionInfo,
  kIcmpLossRatio,
  kIcmpRttSeconds,
  kGrpcStatusCode,
  kGrpcServingStatus,
  kGrpcPhaseSeconds,
};

/// `name` is what /status shows for the observation; `label` the name of the
/// one extra label that tells apart several observations of one id in one
/// result (e.g. "phase" for dns/connect/...; "" when there is at most one).
struct ObservationKind {
  ObservationId id;
  const char* name;
  const char* label;
};

/// Indexed by ObservationId (checked below).
inline constexpr ObservationKind kObservationKinds[] = {
    {ObservationId::kHttpStatusCode, "http_status_code", ""},
    {ObservationId::kTlsCertExpiryTimestampSeconds, "tls_cert_expiry_timestamp_seconds", ""},
    {ObservationId::kHttpPhaseSeconds, "http_phase_seconds", "phase"},
    {ObservationId::kHttpRedirects, "http_redirects", ""},
    {ObservationId::kPostgresReplicationLagSeconds, "postgres_replication_lag_seconds", ""},
    {ObservationId::kPostgresConnectionsUsedRatio, "postgres_connections_used_ratio", ""},
    {ObservationId::kRedisMemoryUsedRatio, "redis_memory_used_ratio", ""},
    {ObservationId::kDiskUsedRatio, "disk_used_ratio", ""},
    {ObservationId::kDiskInodesUsedRatio, "disk_inodes_used_ratio", ""},
    {ObservationId::kDiskAvailableBytes, "disk_available_bytes", ""},
    {ObservationId::kMemoryUsedRatio, "memory_used_ratio", ""},
    {ObservationId::kMemoryAvailableBytes, "memory_available_bytes", ""},
    {ObservationId::kPluginValue, "plugin_value", "metric"},
    {ObservationId::kHeartbeatLastPingTimestampSeconds, "heartbeat_last_ping_timestamp_seconds",
     ""},
    {ObservationId::kDnsRcode, "dns_rcode_info", "rcode"},
    {ObservationId::kDnsAnswers, "dns_answers", ""},
    {ObservationId::kDnsAnswerTtlSeconds, "dns_answer_ttl_seconds", ""},
    {ObservationId::kTlsVersionInfo, "tls_version_info", "version"},
    {ObservationId::kIcmpLossRatio, "icmp_loss_ratio", ""},
    {ObservationId::kIcmpRttSeconds, "icmp_rtt_seconds", "stat"},
    {ObservationId::kGrpcStatusCode, "grpc_status_code", ""},
    {ObservationId::kGrpcServingStatus, "grpc_serving_status", ""},
    {ObservationId::kGrpcPhaseSeconds, "grpc_phase_seconds", "phase"},
};
inline constexpr unsigned kObservationCount =
    sizeof(kObservationKinds) / sizeof(kObservationKinds[0]);

constexpr bool ObservationKindsAreIndexedById() {
  for (unsigned i = 0; i < kObservationCount; ++i) {
    if (static_cast<unsigned>(kObservationKinds[i].id) != i) return false;
  }
  return true;
}
static_assert(ObservationKindsAreIndexedById(), "kObservationKinds must be in ObservationId order");

/// The table entry of `id`.
constexpr const ObservationKind& KindOf(ObservationId id) {
  return kObservationKinds[static_cast<unsigned>(id)];
}

}  // namespace hx
