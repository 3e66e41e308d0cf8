#pragma once
// The HTML landing page served at "/". Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "status/status_board.h"

namespace hx {

/// Escapes text for HTML element content and double-quoted attributes.
std::string HtmlEscape(std::string_view text);

/// A small self-contained page (no external assets): the overall status,
/// links to the other endpoints and a table of checks with their state. Every
/// value that comes from config or from a target is escaped.
std::string RenderLandingPage(const BoardSnapshot& snapshot);

}  // namespace hx
