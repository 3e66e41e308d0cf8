#pragma once
// What a customer may see of the checks: the projection the public page, its
// JSON and its badges are rendered from (http/public_page.h). It holds the
// operator's display names, states in plain words and uptime figures, and
// nothing else: no check name, target, host, detail, label, reason or type
// ever enters it, so a renderer cannot leak one by accident. Pure values;
// BuildPublicView is a pure function of its arguments (it reads the
// HistoryView, which is thread-safe). See docs/status-page.md, "Public page".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/status_page_config.h"
#include "status/history.h"
#include "status/status_board.h"

namespace hx {

/// The state of a component in the customer's words. Ordered from best to
/// worst: a component made of several checks takes the worst of theirs.
enum class PublicState : uint8_t { kOperational, kUnknown, kDegraded, kOutage };

/// "Operational", "Unknown", "Degraded performance", "Outage".
std::string_view PublicStateText(PublicState state);
/// "operational", "unknown", "degraded", "outage" (JSON, CSS classes).
std::string_view PublicStateKey(PublicState state);

/// One UTC day of a component.
struct PublicDay {
  int64_t day = 0;  ///< days since 1970-01-01 (store::UnixDay)
  /// Share of the day's time with a verdict that was not an outage; nullopt
  /// when the day has no verdict (not run, daemon down).
  std::optional<double> uptime;
};

/// One line of the page.
struct PublicComponent {
  std::string name;  ///< the operator's display name
  PublicState state = PublicState::kUnknown;
  /// Oldest first, ending today; empty without a HistoryView.
  std::vector<PublicDay> days;
  std::optional<double> uptime_24h;
  std::optional<double> uptime_7d;
  std::optional<double> uptime_30d;
  std::optional<double> uptime_90d;
};

struct PublicGroupView {
  std::string name;
  PublicState state = PublicState::kOperational;  ///< worst of its components
  std::vector<PublicComponent> components;
};

struct PublicView {
  std::string title;
  std::string notice;
  PublicState overall = PublicState::kOperational;  ///< worst of every component
  /// Whether uptime bars and percentages are known (a HistoryView was given).
  bool has_history = false;
  std::vector<PublicGroupView> groups;

  /// The component with display name `name`, or null.
  const PublicComponent* Find(std::string_view name) const;
};

/// Days of uptime bars on the page.
inline constexpr int kPublicHistoryDays = 90;

/// The projection of `snapshot` (and, when not null, `history` as of wall
/// time `now`) through `page`. A named check that is not on the board (a
/// reload in between) and a matcher that matches nothing are kUnknown.
/// A check blocked by a failing dependency is an outage like any unhealthy
/// check (it is one for the customer); which check is the root is internal.
PublicView BuildPublicView(const PublicPageConfig& page, const BoardSnapshot& snapshot,
                           const HistoryView* history, double now);

}  // namespace hx
