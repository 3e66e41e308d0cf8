#pragma once
// `ip_policy: all` for the check types that run one request per attempt
// (http, grpc): the name is resolved once by the daemon's resolver, one
// check of the type pinned to each address runs side by side, and the
// results are combined by CombineAddressResults (ip_policy.h).
//
// Side by side, not in turn as tcp and tls do, because a request's timeout
// is set for one request: in turn, N slow but healthy addresses would add up
// to a timeout of the whole check.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "checks/check.h"
#include "checks/common/ip_policy.h"
#include "io/resolver.h"

namespace hx {

/// Runs attempts of one name at each of its addresses: resolves `host`, runs
/// one check per address (made by the type's factory, pinned to that address)
/// side by side, and combines their results: the worst counts, failing
/// addresses are named (CombineAddressResults); the observations are the worst
/// address's, with the one lookup's time added to its `dns` phase (the pinned
/// checks resolved nothing) and the earliest certificate expiry of all.
/// Cancel() cancels the lookup and every per-address check; no callback after
/// it. Loop-thread only; not thread-safe.
class EachAddressCheck final : public Check {
 public:
  /// What a type supplies. Immutable after construction.
  struct Target {
    std::string host;  ///< the name resolved once per attempt
    IpProtocol ip_protocol = IpProtocol::kAuto;
    uint16_t port = 0;  ///< for the addresses' text (AddressPortText)
    /// The type's check of one address (an IP literal), connecting there
    /// without resolving while keeping the name for Host/:authority, SNI
    /// and the certificate. Its callback must be allowed to destroy it (as
    /// CurlCheck's is).
    std::function<std::unique_ptr<Check>(const std::string& address)> make_check;
    /// The result of an attempt whose name did not resolve, as the type's
    /// own check words it (with its `dns` phase of `dns_ns`).
    std::function<CheckResult(FailureReason reason, std::string error, uint64_t dns_ns)>
        lookup_failed;
    /// The type's phase observation whose "dns" label gets the lookup's time.
    ObservationId phase_id = ObservationId::kHttpPhaseSeconds;
  };

  EachAddressCheck(Target target, Resolver& resolver);
  ~EachAddressCheck() override;
  EachAddressCheck(const EachAddressCheck&) = delete;
  EachAddressCheck& operator=(const EachAddressCheck&) = delete;

  void Start(DoneCallback done) override;
  void Cancel() override;

 private:
  void OnResolved(ResolveResult resolved);
  void OnAddressDone(size_t index, CheckResult result);
  void Finish(CheckResult result);

  const Target target_;
  Resolver& resolver_;
  DoneCallback done_;  // set while an attempt runs
  std::unique_ptr<ResolveRequest> resolving_;
  uint64_t dns_ns_ = 0;
  std::vector<std::unique_ptr<Check>> checks_;  // one per address
  std::vector<AddressResult> results_;          // index-aligned with checks_
  size_t pending_ = 0;                          // checks not yet done
  bool starting_ = false;                       // inside OnResolved's loop: finish after it
};

}  // namespace hx
