#include "checks/common/each_address_check.h"

#include <utility>

#include "checks/common/failure_reasons.h"

namespace hx {

EachAddressCheck::EachAddressCheck(Target target, Resolver& resolver)
    : target_(std::move(target)), resolver_(resolver) {}

EachAddressCheck::~EachAddressCheck() { Cancel(); }

void EachAddressCheck::Start(DoneCallback done) {
  Cancel();  // the scheduler never overlaps attempts; be safe if someone does
  done_ = std::move(done);
  // The callback never runs inside Resolve(), so resolving_ is in place.
  resolving_ = resolver_.Resolve(
      target_.host, target_.ip_protocol, [this](ResolveResult r) { OnResolved(std::move(r)); },
      trace());
}

void EachAddressCheck::Cancel() {
  resolving_.reset();
  checks_.clear();  // each cancels its request: no callback after
  results_.clear();
  pending_ = 0;
  done_ = nullptr;
}

void EachAddressCheck::OnResolved(ResolveResult resolved) {
  resolving_.reset();  // already delivered: only frees the handle
  dns_ns_ = resolved.duration_ns;
  if (!resolved.error.empty()) {
    Finish(target_.lookup_failed(ReasonOfFailedLookup(resolved.failure), std::move(resolved.error),
                                 dns_ns_));
    return;
  }
  pending_ = resolved.addresses.size();
  for (const sockaddr_storage& address : resolved.addresses) {
    checks_.push_back(target_.make_check(AddressText(address)));
    checks_.back()->set_trace(trace());
    results_.push_back({address, CheckResult::Unhealthy(FailureReason::kInternal, "not probed")});
  }
  // A request that fails while being set up reports inside Start(): its
  // result is kept and the whole attempt ends only after this loop.
  starting_ = true;
  for (size_t i = 0; i < checks_.size(); ++i) {
    checks_[i]->Start([this, i](CheckResult r) { OnAddressDone(i, std::move(r)); });
  }
  starting_ = false;
  if (pending_ == 0) OnAddressDone(checks_.size(), {});
}

void EachAddressCheck::OnAddressDone(size_t index, CheckResult result) {
  if (index < results_.size()) {
    results_[index].result = std::move(result);
    --pending_;
  }
  if (pending_ > 0 || starting_) return;
  CheckResult combined = CombineAddressResults(results_, target_.port);
  UseLowestOfAll(results_, ObservationId::kTlsCertExpiryTimestampSeconds, &combined);
  // The checks were pinned and never resolved: the lookup was ours.
  for (Observation& o : combined.observations) {
    if (o.id == target_.phase_id && o.label_value == "dns") {
      o.value += static_cast<double>(dns_ns_) / 1e9;
    }
  }
  Finish(std::move(combined));
}

void EachAddressCheck::Finish(CheckResult result) {
  // Detach first: `done` may destroy this check or start the next attempt.
  // The per-address checks are all over; the last one's own callback is
  // running now, which each must allow to destroy it (Target::make_check).
  DoneCallback done = std::move(done_);
  Cancel();
  done(std::move(result));
}

}  // namespace hx
