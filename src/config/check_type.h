#pragma once
// The check types the config knows: each one's handler key (`http:`) and the
// parser of its mapping. The config sits below src/checks/ in the module
// tower, so it sees a check's parsed config only as an opaque CheckSpec
// (declared in checks/check.h); src/checks/ registers its types here
// (BuiltinCheckTypes()).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/parse_context.h"

namespace hx {

class CheckSpec;

/// A check type: its config key and parser.
struct CheckType {
  /// Handler key in the config and value of the `type` label, e.g. "http".
  std::string name;
  /// Parses the handler mapping. Reports problems through `reader` (and
  /// calls reader.Finish()); returns nullptr if there were any.
  std::function<std::shared_ptr<const CheckSpec>(config::MapReader& reader)> parse;
};

/// The set of known check types. Filled once at start-up, then read-only and
/// safe to share between threads.
class CheckTypeRegistry {
 public:
  void Register(CheckType type);
  const CheckType* Find(std::string_view name) const;
  /// Names in registration order, e.g. for "expected one of http, tcp".
  std::vector<std::string> Names() const;

 private:
  std::vector<CheckType> types_;
};

}  // namespace hx
