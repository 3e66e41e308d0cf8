#pragma once
// Every metric health_exporter exports, declared here and nowhere else, so the
// whole contract with dashboards and alerts can be read in one screen. Names
// use base units (_seconds, _bytes) and counters end in _total.

#include "checks/observation.h"

namespace hx::metric {

struct MetricName {
  const char* name;
  const char* help;
};

// Per check. Every per-check series carries check="<name>".
inline constexpr MetricName kCheckStatus = {
    "health_check_status",
    "State of the check after thresholds: 1 healthy, 0.5 degraded, 0 unhealthy. Absent until "
    "the first result."};
inline constexpr MetricName kCheckDuration = {"health_check_duration_seconds",
                                              "Duration of check attempts."};
inline constexpr MetricName kCheckRuns = {
    "health_check_runs_total", "Finished attempts by raw result (healthy, degraded, unhealthy)."};
inline constexpr MetricName kCheckTimeouts = {"health_check_timeouts_total",
                                              "Attempts cancelled by the hard timeout."};
inline constexpr MetricName kCheckSkippedRuns = {
    "health_check_skipped_runs_total",
    "Planned runs that did not happen: the previous attempt was still in flight, or the "
    "daemon was too busy to start it before the next one was due."};
inline constexpr MetricName kCheckFailures = {
    "health_check_failures_total",
    "Non-healthy results by reason (docs/failure-reasons.md); a reason's series appears with its "
    "first failure."};
inline constexpr MetricName kCheckLastFailureReason = {
    "health_check_last_failure_reason",
    "Always 1, labelled with the reason of the check's latest non-healthy result; the series "
    "changes only when the reason does. Absent until the first failure."};
inline constexpr MetricName kCheckLastRun = {"health_check_last_run_timestamp_seconds",
                                             "Unix time at which the last attempt finished."};
inline constexpr MetricName kCheckConsecutiveFailures = {
    "health_check_consecutive_failures", "Consecutive unhealthy results of the check."};
inline constexpr MetricName kCheckStateChange = {
    "health_check_state_change_timestamp_seconds",
    "Unix time of the last change of the check's state (the first result counts)."};

inline constexpr MetricName kCheckBlocked = {
    "health_check_blocked",
    "1 while the check is unhealthy because a check it depends on is unhealthy (page the root "
    "cause, not this). Only for checks with depends_on."};
inline constexpr MetricName kCheckSloObjective = {
    "health_check_slo_objective",
    "Availability objective of the check (slo in the config), as a ratio. Only for checks with "
    "an slo."};

// Per check, from CheckResult::observations: the family of each ObservationId
// (src/checks/observation.h, which also names the one extra label a family may
// carry). An observation missing from a check's latest result has no series.
struct ObservationFamily {
  ObservationId id;
  MetricName metric;
};
/// Indexed by ObservationId (checked below).
inline constexpr ObservationFamily kObservationFamilies[] = {
    {ObservationId::kHttpStatusCode,
     {"health_check_http_status_code", "HTTP status code of the last response."}},
    {ObservationId::kTlsCertExpiryTimestampSeconds,
     {"health_check_tls_cert_expiry_timestamp_seconds",
      "Unix time at which the peer's leaf certificate expires."}},
    {ObservationId::kHttpPhaseSeconds,
     {"health_check_http_phase_seconds", "Duration of each phase of the last HTTP request."}},
    {ObservationId::kHttpRedirects,
     {"health_check_http_redirects", "Redirects followed by the last HTTP request."}},
    {ObservationId::kPostgresReplicationLagSeconds,
     {"health_check_postgres_replication_lag_seconds",
      "Replication lag of a PostgreSQL replica at the last check."}},
    {ObservationId::kPostgresConnectionsUsedRatio,
     {"health_check_postgres_connections_used_ratio",
      "Connections in use as a fraction of max_connections."}},
    {ObservationId::kRedisMemoryUsedRatio,
     {"health_check_redis_memory_used_ratio", "Redis used_memory as a fraction of maxmemory."}},
    {ObservationId::kDiskUsedRatio,
     {"health_check_disk_used_ratio", "Fraction of the filesystem's space in use (as df counts)."}},
    {ObservationId::kDiskInodesUsedRatio,
     {"health_check_disk_inodes_used_ratio", "Fraction of the filesystem's inodes in use."}},
    {ObservationId::kDiskAvailableBytes,
     {"health_check_disk_available_bytes", "Space available to unprivileged users."}},
    {ObservationId::kMemoryUsedRatio,
     {"health_check_memory_used_ratio", "1 - MemAvailable / MemTotal."}},
    {ObservationId::kMemoryAvailableBytes,
     {"health_check_memory_available_bytes", "MemAvailable from /proc/meminfo."}},
    {ObservationId::kPluginValue,
     {"health_check_plugin_value",
      "Performance data reported by a Nagios-protocol plugin, in base units."}},
    {ObservationId::kHeartbeatLastPingTimestampSeconds,
     {"health_check_heartbeat_last_ping_timestamp_seconds",
      "Unix time of the last successful heartbeat received."}},
    {ObservationId::kDnsRcode,
     {"health_check_dns_rcode_info",
      "Response code of the last DNS answer, in the rcode label (NOERROR, NXDOMAIN, SERVFAIL...); "
      "always 1."}},
    {ObservationId::kDnsAnswers,
     {"health_check_dns_answers",
      "Records of the queried type in the answer section of the last DNS response."}},
    {ObservationId::kDnsAnswerTtlSeconds,
     {"health_check_dns_answer_ttl_seconds",
      "TTL of the first record of the queried type in the last DNS response."}},
    {ObservationId::kTlsVersionInfo,
     {"health_check_tls_version_info",
      "TLS version negotiated by the last handshake (label version, e.g. TLSv1.3); always 1."}},
    {ObservationId::kIcmpLossRatio,
     {"health_check_icmp_loss_ratio",
      "Fraction of the last attempt's ICMP echo requests that got no reply in time."}},
    {ObservationId::kIcmpRttSeconds,
     {"health_check_icmp_rtt_seconds",
      "Round-trip time of the last attempt's echo replies: stat is min, avg, max or stddev."}},
    {ObservationId::kGrpcStatusCode,
     {"health_check_grpc_status_code",
      "grpc-status of the last gRPC health check call (0 OK, 12 UNIMPLEMENTED, ...)."}},
    {ObservationId::kGrpcServingStatus,
     {"health_check_grpc_serving_status",
      "Serving status of the last gRPC health check response: 0 UNKNOWN, 1 SERVING, 2 "
      "NOT_SERVING, 3 SERVICE_UNKNOWN."}},
    {ObservationId::kGrpcPhaseSeconds,
     {"health_check_grpc_phase_seconds", "Duration of each phase of the last gRPC call."}},
};
static_assert(sizeof(kObservationFamilies) / sizeof(kObservationFamilies[0]) == kObservationCount,
              "every ObservationId needs a family");

constexpr bool ObservationFamiliesAreIndexedById() {
  for (unsigned i = 0; i < kObservationCount; ++i) {
    if (static_cast<unsigned>(kObservationFamilies[i].id) != i) return false;
  }
  return true;
}
static_assert(ObservationFamiliesAreIndexedById(),
              "kObservationFamilies must be in ObservationId order");

/// The family that exposes observations of `id`.
constexpr const MetricName& FamilyOf(ObservationId id) {
  return kObservationFamilies[static_cast<unsigned>(id)].metric;
}

// The whole set of checks, computed from the StatusBoard at scrape time.
inline constexpr MetricName kOverallStatus = {
    "health_overall_status",
    "Overall status: 1 healthy, 0.5 degraded, 0 unhealthy. Absent while a critical check is "
    "pending."};
inline constexpr MetricName kChecksByState = {"health_checks", "Number of checks in each state."};

// The exporter itself.
inline constexpr MetricName kBuildInfo = {
    "health_exporter_build_info",
    "Version, revision and compiler of this health_exporter; always 1."};
inline constexpr MetricName kConfigLastReloadSuccessful = {
    "health_exporter_config_last_reload_successful",
    "Whether the last config load (start-up or reload) succeeded: 1 yes, 0 no (the previous "
    "config keeps running)."};
inline constexpr MetricName kConfigLastReloadSuccessTimestamp = {
    "health_exporter_config_last_reload_success_timestamp_seconds",
    "Unix time of the last successful config load (start-up or reload)."};
inline constexpr MetricName kConfigReloads = {
    "health_exporter_config_reloads_total",
    "Config reloads (SIGHUP, POST /-/reload) by result: success or failure."};
inline constexpr MetricName kConfigInfo = {
    "health_exporter_config_info",
    "The running config: hash is the SHA-256 of its files; always 1."};
inline constexpr MetricName kSchedulerLateness = {
    "health_exporter_scheduler_lateness_seconds",
    "How late attempts started compared to their planned time."};

// The process, read from /proc/self at scrape time.
inline constexpr MetricName kProcessCpu = {"process_cpu_seconds_total",
                                           "Total user and system CPU time spent in seconds."};
inline constexpr MetricName kProcessResidentMemory = {"process_resident_memory_bytes",
                                                      "Resident memory size in bytes."};
inline constexpr MetricName kProcessVirtualMemory = {"process_virtual_memory_bytes",
                                                     "Virtual memory size in bytes."};
inline constexpr MetricName kProcessOpenFds = {"process_open_fds",
                                               "Number of open file descriptors."};
inline constexpr MetricName kProcessMaxFds = {"process_max_fds",
                                              "Maximum number of open file descriptors."};
inline constexpr MetricName kProcessStartTime = {
    "process_start_time_seconds", "Start time of the process since unix epoch in seconds."};

/// Upper bounds of health_exporter_scheduler_lateness_seconds.
inline constexpr double kLatenessBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                              0.05,   0.1,   0.25,   0.5,   1};

}  // namespace hx::metric
