#pragma once
// The status page served at "/": a traffic-light view of every check for when
// Grafana is not at hand. Pure functions of their arguments; thread-safe.
//
// The page is complete without JavaScript. A small inline script re-fetches
// the page itself every few seconds and swaps in the freshly server-rendered
// board, so there is exactly one renderer (this file) and nothing from config
// or targets is ever turned into markup on the client. See
// docs/status-page.md.

#include <string>
#include <string_view>

#include "status/history.h"
#include "status/status_board.h"

namespace hx {

/// Escapes text for HTML element content and double-quoted attributes.
std::string HtmlEscape(std::string_view text);

/// The page's stylesheet, for pages of the same look (the check panel).
std::string_view LandingPageStyle();
/// "'sha256-<base64>'" of `text`: a CSP source for an inline style or script.
std::string PageCspHash(std::string_view text);
/// `text` percent-encoded for one URL path segment, a query value or a
/// fragment (all but RFC 3986's unreserved A-Z a-z 0-9 -._~).
std::string UrlPathEscape(std::string_view text);
/// "45s", "5m 3s", "3h 4m", "2d 3h".
std::string FormatTimeSpan(double seconds);

/// What the query string of "/" may ask for.
struct LandingPageRequest {
  /// The label whose values group the cards ("?group=env"); checks without
  /// it land in an "other" group. Empty puts every check in one group.
  std::string group_label = "team";
};

/// Reads "?group=<label>" (percent-decoded; '+' is a space) from a raw query
/// string without the leading '?'. Unknown parameters are ignored.
LandingPageRequest ParseLandingPageQuery(std::string_view query_string);

/// "just now", "12s ago", "5m ago", "3h 4m ago", "2d 3h ago" for a time
/// `seconds_ago` in the past; negative values (clock skew) are "just now".
std::string FormatAgo(double seconds_ago);

/// "0.42 ms", "12 ms", "1.25 s" for a check's latency.
std::string FormatLatency(Duration duration);

/// The whole HTML document for `snapshot` as of wall time `now` (seconds since
/// the epoch; "12s ago" is relative to it). Self-contained: inline CSS, JS
/// and SVG only, locked down by a Content-Security-Policy <meta> that allows
/// exactly the inline style and script (by hash) and fetches from 'self'.
/// Every value that comes from config or from a target is escaped. With
/// `history`, each card shows its 90-day uptime bar and percentages
/// (http/history_svg.h).
std::string RenderLandingPage(const BoardSnapshot& snapshot, double now,
                              const LandingPageRequest& request,
                              const HistoryView* history = nullptr);

/// The id of a check's card on the status page ("check-<name>", to be
/// HTML-escaped in an attribute) and a link to it ("/#check-<percent-encoded
/// name>"), for other pages that point at cards (the dependency map).
std::string CardId(std::string_view check_name);
std::string CardHref(std::string_view check_name);

/// The status page's inline style and refresh script, byte for byte: pages of
/// the same family (the dependency map) reuse the look and the live refresh
/// of "#board" under a policy of their own (PageCspHash).
std::string_view StatusPageStyle();
std::string_view StatusPageScript();

}  // namespace hx
