// Fuzzes the config loader: YAML text in, a validated Config or errors out
// (LoadConfigString with every built-in check type). Properties checked:
//  - exactly one of config / errors;
//  - no "internal error" (an exception the loader did not expect);
//  - a loaded config keeps the promises of config/config.h (unique valid
//    names, positive interval and timeout, sorted labels, dependencies that
//    exist, a spec for every check);
//  - no error message contains the value of an expanded ${VAR} (except the
//    path a *_file key opened).
//
// Nothing is run: exec checks are only parsed. *_file keys may read files
// (bounded, regular files only), which is harmless. Every ${VAR} expands to
// kEnvValue instead of the process environment.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checks/check.h"
#include "config/config.h"
#include "fuzz_check.h"
#include "util/log.h"

namespace {

// Control bytes make it unlikely that the input itself contains the value.
constexpr char kEnvValue[] = "\x01sEcReT-fuzz\x02";

bool IsValidName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Warnings (e.g. a secret file readable by others) would flood the output.
  hx::log::Init(spdlog::level::off, hx::log::Format::kLogfmt);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  const hx::LoadResult result = hx::LoadConfigString(
      yaml, "fuzz.yml", hx::BuiltinCheckTypes(),
      [](const std::string&) { return std::optional<std::string>(kEnvValue); });

  HX_FUZZ_CHECK(result.config.has_value() == result.errors.empty());
  const bool input_has_value = yaml.find(kEnvValue) != std::string::npos;
  for (const auto& error : result.errors) {
    HX_FUZZ_CHECK(!error.message.empty());
    HX_FUZZ_CHECK(error.message.rfind("internal error", 0) != 0);
    // A *_file key's errors name the file as opened, i.e. the expanded path
    // (a path, not a secret, and the one the user needs to see); reported to
    // the lead as an exception parse_context.h does not mention yet.
    const bool names_a_path =
        error.path.size() >= 5 && error.path.compare(error.path.size() - 5, 5, "_file") == 0;
    if (!input_has_value && !names_a_path &&
        error.ToString().find(kEnvValue) != std::string::npos) {
      std::fprintf(stderr, "an error message shows an expanded ${VAR} value: %s\n",
                   error.ToString().c_str());
      std::abort();
    }
  }
  if (!result.config) return 0;

  const hx::Config& config = *result.config;
  std::set<std::string> names;
  for (const auto& check : config.checks) {
    HX_FUZZ_CHECK(IsValidName(check.name));
    HX_FUZZ_CHECK(names.insert(check.name).second);
  }
  for (const auto& check : config.checks) {
    HX_FUZZ_CHECK(check.interval.count() > 0);
    HX_FUZZ_CHECK(check.timeout.count() > 0 && check.timeout <= check.interval);
    if (check.degraded_latency) HX_FUZZ_CHECK(*check.degraded_latency < check.timeout);
    HX_FUZZ_CHECK(check.failure_threshold >= 1 && check.success_threshold >= 1);
    HX_FUZZ_CHECK(check.spec != nullptr);
    (void)check.spec->Target();
    for (size_t i = 1; i < check.labels.size(); ++i) {
      HX_FUZZ_CHECK(check.labels[i - 1].first < check.labels[i].first);
    }
    std::set<std::string> deps;
    for (const auto& dependency : check.depends_on) {
      HX_FUZZ_CHECK(names.count(dependency) == 1);
      HX_FUZZ_CHECK(dependency != check.name);
      HX_FUZZ_CHECK(deps.insert(dependency).second);
    }
    if (check.unhealthy_interval) HX_FUZZ_CHECK(*check.unhealthy_interval >= check.interval);
    if (check.slo) HX_FUZZ_CHECK(*check.slo > 0 && *check.slo < 1);
  }
  return 0;
}
