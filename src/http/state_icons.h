#pragma once
// The state marks the daemon's pages share (the status page, the check panel,
// the dependency map, the public page): one 16x16 inline SVG icon per state,
// drawn in currentColor so each page colours it from its own CSS, and the
// colour of the page's favicon. One drawing per state, so a state looks the
// same on every page. Pure functions over constants; thread-safe.

#include <string_view>

namespace hx {

enum class StateMark : unsigned char {
  kOk,       ///< a tick in a disc
  kWarn,     ///< an exclamation mark in a triangle
  kBad,      ///< a cross in a disc
  kPending,  ///< a clock face (no result yet)
  kUnknown,  ///< a question mark (nothing to say, e.g. a removed check)
};

/// `<svg class="icon" ...>` for `mark`, aria-hidden (the page says the state
/// in words beside it).
std::string_view StateIconSvg(StateMark mark);

/// The favicon colour for `mark`, '#' already percent-encoded for a data: URL
/// ("%231a7f37").
std::string_view StateFaviconColour(StateMark mark);

}  // namespace hx
