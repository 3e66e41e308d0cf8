#pragma once
// `status_page:` in the daemon config: what the pages show beyond the checks
// themselves. Today only `status_page.public`, the customer-facing page at
// /public (docs/status-page.md, "Public page"). Plain values, immutable once
// loaded; safe to share between threads.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/parse_context.h"

namespace hx {

struct CheckConfig;

/// One line of the public page: one check by name, or every check whose
/// labels match, shown as one component under a display name the operator
/// chose. Nothing else about the check is ever shown.
struct PublicEntry {
  /// The display name: unique on the page, the badge's name
  /// (/public/badge/<display_name>.svg).
  std::string display_name;
  /// `check:`, a configured check's name; empty for a matcher.
  std::string check;
  /// `match:`, label name -> exact value, sorted by name; every pair must
  /// hold. Empty for a named check.
  std::vector<std::pair<std::string, std::string>> match;
};

/// A heading and its entries, in file order.
struct PublicGroup {
  std::string name;
  std::vector<PublicEntry> entries;
};

/// `status_page.public`.
struct PublicPageConfig {
  std::string title = "Service status";
  /// Operator-written text shown at the top; empty: none.
  std::string notice;
  std::vector<PublicGroup> groups;
  /// A second address that serves only the public paths ("IPv4:port" or
  /// ":port"); empty: only the main listen address. Read at start-up.
  std::string listen_address;

  bool operator==(const PublicPageConfig&) const = default;
};

/// `status_page:`.
struct StatusPageConfig {
  std::optional<PublicPageConfig> public_page;
};

namespace config {

/// "did you mean" for an unknown check name: the closest configured name, or
/// nullopt.
using ClosestCheckName = std::function<std::optional<std::string>(const std::string&)>;

/// Reads the `status_page:` mapping (`node`, at key path "status_page")
/// against the checks read so far. `checks_complete` is false when some
/// check entries had errors (and so are missing from `checks`): a matcher is
/// then not reported for matching no check, which could be their fault.
/// Errors go to `ctx`; returns what was read (meaningful only without errors).
StatusPageConfig ReadStatusPage(const YAML::Node& node, const std::vector<CheckConfig>& checks,
                                const std::vector<std::string>& check_names,
                                const ClosestCheckName& closest, bool checks_complete,
                                ParseContext& ctx);

/// Whether `labels` (sorted or not) hold every pair of `match`.
bool LabelsMatch(const std::vector<std::pair<std::string, std::string>>& labels,
                 const std::vector<std::pair<std::string, std::string>>& match);

}  // namespace config
}  // namespace hx
