#pragma once
// Sets of HTTP status codes as written in config: exact codes ("200" or 200),
// classes ("2xx") and inclusive ranges ("200-299"). Immutable after parsing;
// thread-safe to share.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hx {

class StatusCodeSet {
 public:
  /// An inclusive range of codes; a single code has low == high.
  struct Range {
    int low = 0;
    int high = 0;
    std::string text;  ///< as the user wrote it, normalised ("2xx", "301", "200-299")
  };

  /// Parses one item. On failure returns nullopt and sets *error (if not
  /// null), e.g.
  /// `invalid status code "20x" (use e.g. 200, 2xx or 200-299)`.
  static std::optional<Range> ParseItem(std::string_view text, std::string* error);

  StatusCodeSet() = default;
  explicit StatusCodeSet(std::vector<Range> ranges) : ranges_(std::move(ranges)) {}

  /// Parses every item; the first bad one fails the whole set.
  static std::optional<StatusCodeSet> Parse(const std::vector<std::string>& items,
                                            std::string* error);

  bool Contains(int code) const;
  bool empty() const { return ranges_.empty(); }
  const std::vector<Range>& ranges() const { return ranges_; }

  /// "2xx, 301", for messages such as "HTTP 503, expected 2xx, 301".
  std::string ToString() const;

 private:
  std::vector<Range> ranges_;
};

}  // namespace hx
