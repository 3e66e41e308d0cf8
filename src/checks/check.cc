#include "checks/check.h"

namespace hx {

std::string_view HealthName(Health h) {
  switch (h) {
    case Health::kHealthy:
      return "healthy";
    case Health::kDegraded:
      return "degraded";
    case Health::kUnhealthy:
      return "unhealthy";
  }
  return "unhealthy";
}

double HealthValue(Health h) {
  switch (h) {
    case Health::kHealthy:
      return 1.0;
    case Health::kDegraded:
      return 0.5;
    case Health::kUnhealthy:
      return 0.0;
  }
  return 0.0;
}

namespace {

// See WithWrittenText(). Loop thread only, like the check it wraps.
class WrittenTextCheck final : public Check {
 public:
  WrittenTextCheck(std::unique_ptr<Check> inner, std::vector<config::Expansion> expansions)
      : inner_(std::move(inner)),
        expansions_(std::make_shared<const std::vector<config::Expansion>>(std::move(expansions))) {
  }

  void Start(DoneCallback done) override {
    // The callback may run after this wrapper is gone (never: Cancel() and
    // the destructor stop the inner check first), or before Start() returns.
    inner_->Start([expansions = expansions_, done = std::move(done)](CheckResult result) {
      result.detail = config::AsWritten(std::move(result.detail), *expansions);
      done(std::move(result));
    });
  }
  void Cancel() override { inner_->Cancel(); }
  bool IsInstant() const override { return inner_->IsInstant(); }

 private:
  std::unique_ptr<Check> inner_;
  std::shared_ptr<const std::vector<config::Expansion>> expansions_;
};

}  // namespace

std::unique_ptr<Check> WithWrittenText(std::unique_ptr<Check> check,
                                       std::vector<config::Expansion> expansions) {
  if (expansions.empty() || check == nullptr) return check;
  return std::make_unique<WrittenTextCheck>(std::move(check), std::move(expansions));
}

std::unique_ptr<Check> NewCheck(const CheckSpec& spec, const CheckContext& context) {
  std::unique_ptr<Check> check = spec.CreateCheck(context);
  if (check != nullptr) check->set_trace(context.trace);
  return check;
}

const CheckTypeRegistry& BuiltinCheckTypes() {
  static const CheckTypeRegistry registry = [] {
    CheckTypeRegistry r;
    RegisterBuiltinCheckTypes(r);
    return r;
  }();
  return registry;
}

}  // namespace hx
