#include "checks/common/ip_policy.h"

#include "io/resolver.h"
#include "util/quote.h"

namespace hx {

const char* IpPolicyName(IpPolicy policy) {
  switch (policy) {
    case IpPolicy::kFirst:
      return "first";
    case IpPolicy::kAll:
      return "all";
  }
  return "first";
}

IpPolicy ReadIpPolicy(config::MapReader& reader) {
  constexpr std::string_view kKey = "ip_policy";
  auto value = reader.String(kKey, /*expand_env=*/false);
  if (!value) return IpPolicy::kFirst;
  for (IpPolicy p : {IpPolicy::kFirst, IpPolicy::kAll}) {
    if (*value == IpPolicyName(p)) return p;
  }
  reader.Error(kKey, "must be first or all, got " + Quote(*value));
  return IpPolicy::kFirst;
}

std::string AddressPortText(const sockaddr_storage& address, uint16_t port) {
  std::string ip = AddressText(address);
  if (port == 0) return ip;
  return (address.ss_family == AF_INET6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

CheckResult CombineAddressResults(const std::vector<AddressResult>& results, uint16_t port) {
  CheckResult combined;
  if (results.empty())
    return CheckResult::Unhealthy(FailureReason::kInternal, "no address was probed");
  const AddressResult* worst = &results.front();
  std::string failing;
  size_t failed = 0;
  for (const AddressResult& r : results) {
    if (r.result.health > worst->result.health) worst = &r;
    if (r.result.health == Health::kHealthy) continue;
    ++failed;
    if (!failing.empty()) failing += "; ";
    failing += AddressPortText(r.address, port) + ": " + r.result.detail;
  }
  combined.health = worst->result.health;
  combined.observations = worst->result.observations;
  // The evidence of the address whose state counts: its reason (kNone when
  // all are healthy), the address itself and its body excerpt.
  combined.reason = worst->result.reason;
  if (combined.health != Health::kHealthy) {
    combined.address = worst->result.address.empty() ? AddressPortText(worst->address, port)
                                                     : worst->result.address;
    combined.body_excerpt = worst->result.body_excerpt;
  }
  if (failed == 0) {
    combined.detail = results.front().result.detail;
    if (results.size() > 1) {
      combined.detail += " (all " + std::to_string(results.size()) + " addresses)";
    }
  } else {
    combined.detail =
        std::to_string(failed) + " of " + std::to_string(results.size()) + " addresses " +
        (combined.health == Health::kUnhealthy ? "failed" : "degraded") + ": " + failing;
  }
  return combined;
}

void UseLowestOfAll(const std::vector<AddressResult>& results, ObservationId id,
                    CheckResult* combined) {
  const Observation* lowest = nullptr;
  for (const AddressResult& r : results) {
    for (const Observation& o : r.result.observations) {
      if (o.id == id && (lowest == nullptr || o.value < lowest->value)) lowest = &o;
    }
  }
  std::erase_if(combined->observations, [id](const Observation& o) { return o.id == id; });
  if (lowest != nullptr) combined->observations.push_back(*lowest);
}

}  // namespace hx
