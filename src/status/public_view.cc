#include "status/public_view.h"

#include <algorithm>
#include <unordered_map>

namespace hx {
namespace {

PublicState StateOf(const CheckStatus& status) {
  if (!status.state) return PublicState::kUnknown;
  switch (*status.state) {
    case Health::kHealthy:
      return PublicState::kOperational;
    case Health::kDegraded:
      return PublicState::kDegraded;
    case Health::kUnhealthy:
      return PublicState::kOutage;
  }
  return PublicState::kUnknown;
}

PublicState Worse(PublicState a, PublicState b) { return std::max(a, b); }

std::optional<double> DayUptime(const store::DailyAggregate& day) {
  const double up = day.seconds_healthy + day.seconds_degraded;
  const double judged = up + day.seconds_unhealthy;
  if (judged > 0) return up / judged;
  // A day with results but no time recorded yet (its first minutes).
  const int64_t results = day.results_healthy + day.results_degraded + day.results_unhealthy;
  if (results > 0) {
    return static_cast<double>(day.results_healthy + day.results_degraded) /
           static_cast<double>(results);
  }
  return std::nullopt;
}

// The worse (lower) of two uptimes; either may be unknown.
std::optional<double> Lower(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

// Adds one check's history to a component: a component of several checks
// shows, per day and per window, the worst of its checks.
void Merge(PublicComponent& component, const CheckHistory& history, bool first) {
  if (first) component.days.clear();
  if (component.days.size() < history.days.size()) component.days.resize(history.days.size());
  // Right-aligned: the last entry is today for every check.
  const size_t offset = component.days.size() - history.days.size();
  for (size_t i = 0; i < history.days.size(); ++i) {
    PublicDay& day = component.days[offset + i];
    day.day = history.days[i].day;
    day.uptime = first ? DayUptime(history.days[i]) : Lower(day.uptime, DayUptime(history.days[i]));
  }
  component.uptime_24h =
      first ? history.uptime_24h : Lower(component.uptime_24h, history.uptime_24h);
  component.uptime_7d = first ? history.uptime_7d : Lower(component.uptime_7d, history.uptime_7d);
  component.uptime_30d =
      first ? history.uptime_30d : Lower(component.uptime_30d, history.uptime_30d);
  component.uptime_90d =
      first ? history.uptime_90d : Lower(component.uptime_90d, history.uptime_90d);
}

}  // namespace

std::string_view PublicStateText(PublicState state) {
  switch (state) {
    case PublicState::kOperational:
      return "Operational";
    case PublicState::kUnknown:
      return "Unknown";
    case PublicState::kDegraded:
      return "Degraded performance";
    case PublicState::kOutage:
      return "Outage";
  }
  return "Unknown";
}

std::string_view PublicStateKey(PublicState state) {
  switch (state) {
    case PublicState::kOperational:
      return "operational";
    case PublicState::kUnknown:
      return "unknown";
    case PublicState::kDegraded:
      return "degraded";
    case PublicState::kOutage:
      return "outage";
  }
  return "unknown";
}

const PublicComponent* PublicView::Find(std::string_view name) const {
  for (const PublicGroupView& group : groups) {
    for (const PublicComponent& component : group.components) {
      if (component.name == name) return &component;
    }
  }
  return nullptr;
}

PublicView BuildPublicView(const PublicPageConfig& page, const BoardSnapshot& snapshot,
                           const HistoryView* history, double now) {
  std::unordered_map<std::string_view, const CheckStatus*> by_name;
  by_name.reserve(snapshot.checks.size());
  for (const auto& status : snapshot.checks) by_name.emplace(status->info->name, status.get());

  PublicView view;
  view.title = page.title;
  view.notice = page.notice;
  view.has_history = history != nullptr;
  for (const PublicGroup& group : page.groups) {
    PublicGroupView& out_group = view.groups.emplace_back();
    out_group.name = group.name;
    for (const PublicEntry& entry : group.entries) {
      // The checks behind the entry: only used here, never copied out.
      std::vector<const CheckStatus*> members;
      if (!entry.check.empty()) {
        if (auto it = by_name.find(entry.check); it != by_name.end()) members.push_back(it->second);
      } else {
        for (const auto& status : snapshot.checks) {
          if (config::LabelsMatch(status->info->labels, entry.match))
            members.push_back(status.get());
        }
      }
      PublicComponent& component = out_group.components.emplace_back();
      component.name = entry.display_name;
      component.state = members.empty() ? PublicState::kUnknown : PublicState::kOperational;
      for (const CheckStatus* member : members) {
        component.state = Worse(component.state, StateOf(*member));
      }
      if (history != nullptr) {
        bool first = true;
        for (const CheckStatus* member : members) {
          Merge(component, history->ForCheck(member->info->name, kPublicHistoryDays, now), first);
          first = false;
        }
      }
    }
  }
  // Groups and the whole page: the worst of what they show. Only the public
  // components count, never the board's own overall state (it knows checks
  // the page does not show).
  view.overall = PublicState::kOperational;
  for (PublicGroupView& group : view.groups) {
    group.state = PublicState::kOperational;
    for (const PublicComponent& component : group.components) {
      group.state = Worse(group.state, component.state);
    }
    view.overall = Worse(view.overall, group.state);
  }
  return view;
}

}  // namespace hx
