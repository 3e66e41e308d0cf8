#pragma once
// Masks text an operator declared sensitive (config `global.redact`: RE2
// patterns) before it is kept or shown: every result's detail and body
// excerpt before the board, the failure journal and the log see them, and
// the debug run's trace. One place decides what masking means:
// every non-empty match of every pattern, in the order written, becomes
// kMask. Immutable once built: thread-safe, shared by pointer between the
// config, the loop thread and HTTP workers.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace hx {

class Redactor {
 public:
  /// What every match is replaced by.
  static constexpr std::string_view kMask = "<redacted>";

  /// `patterns` must be compiled (ok()); null entries are skipped.
  explicit Redactor(std::vector<std::shared_ptr<const re2::RE2>> patterns);

  /// `text` with every non-empty match of each pattern replaced by kMask,
  /// pattern by pattern (a later pattern sees the earlier masks). An empty
  /// match masks nothing: a pattern such as `x*` must not put a mask
  /// between every byte. Bytes are bytes: invalid UTF-8 is matched as
  /// Latin-1 would be and kept as it is outside matches.
  std::string Redact(std::string_view text) const;

  /// Redact() in place; no copy when nothing matches. Returns whether
  /// anything was masked.
  bool RedactInPlace(std::string& text) const;

  /// Whether Redact() would change `text` (a non-empty match of some
  /// pattern); no allocation.
  bool Matches(std::string_view text) const;

  bool empty() const { return patterns_.empty(); }
  size_t size() const { return patterns_.size(); }

 private:
  std::vector<std::shared_ptr<const re2::RE2>> patterns_;
};

/// Why `pattern` cannot be a redact pattern, or "" when it can: RE2's own
/// error for a bad pattern, or "matches the empty string" for one that
/// masks nothing and was surely meant otherwise (e.g. `token=.*?`). Pure.
std::string RedactPatternProblem(const re2::RE2& pattern);

}  // namespace hx
