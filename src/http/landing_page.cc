#include "http/landing_page.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "build_info.h"
#include "http/history_svg.h"
#include "http/state_icons.h"
#include "status/status_json.h"
#include "util/base64.h"

namespace hx {
namespace {

// The four states a card or the whole board can be in. Pending is not a
// Health: it is the absence of a result.
enum class Light : uint8_t { kHealthy, kDegraded, kUnhealthy, kPending };

constexpr std::array<Light, 4> kLightsInBannerOrder = {Light::kHealthy, Light::kDegraded,
                                                       Light::kUnhealthy, Light::kPending};

std::string_view LightName(Light light) {
  switch (light) {
    case Light::kHealthy:
      return "healthy";
    case Light::kDegraded:
      return "degraded";
    case Light::kUnhealthy:
      return "unhealthy";
    case Light::kPending:
      return "pending";
  }
  return "pending";
}

// The word shown beside the colour, so the state is never told by colour alone.
std::string_view LightTitle(Light light) {
  switch (light) {
    case Light::kHealthy:
      return "Healthy";
    case Light::kDegraded:
      return "Degraded";
    case Light::kUnhealthy:
      return "Unhealthy";
    case Light::kPending:
      return "Pending";
  }
  return "Pending";
}

Light LightOf(Health health) {
  switch (health) {
    case Health::kHealthy:
      return Light::kHealthy;
    case Health::kDegraded:
      return Light::kDegraded;
    case Health::kUnhealthy:
      return Light::kUnhealthy;
  }
  return Light::kUnhealthy;
}

Light LightOf(const CheckStatus& status) {
  return status.state ? LightOf(*status.state) : Light::kPending;
}

Light LightOf(OverallStatus overall) {
  switch (overall) {
    case OverallStatus::kHealthy:
      return Light::kHealthy;
    case OverallStatus::kDegraded:
      return Light::kDegraded;
    case OverallStatus::kUnhealthy:
      return Light::kUnhealthy;
    case OverallStatus::kPending:
      return Light::kPending;
  }
  return Light::kPending;
}

// Each light's mark (http/state_icons.h): the favicon's colour and the icon.
StateMark MarkOf(Light light) {
  switch (light) {
    case Light::kHealthy:
      return StateMark::kOk;
    case Light::kDegraded:
      return StateMark::kWarn;
    case Light::kUnhealthy:
      return StateMark::kBad;
    case Light::kPending:
      return StateMark::kPending;
  }
  return StateMark::kPending;
}
std::string_view FaviconColour(Light light) { return StateFaviconColour(MarkOf(light)); }
std::string_view LightIcon(Light light) { return StateIconSvg(MarkOf(light)); }

// Within a group the cards that need a human come first: critical unhealthy,
// then other failures, then checks without a result, then healthy ones.
int Urgency(const CheckStatus& status) {
  switch (LightOf(status)) {
    case Light::kUnhealthy:
      return status.info->critical ? 0 : 1;
    case Light::kDegraded:
      return 2;
    case Light::kPending:
      return 3;
    case Light::kHealthy:
      return 4;
  }
  return 4;
}

constexpr int kRefreshSeconds = 5;

// The only style and script on the page. The Content-Security-Policy allows
// exactly these by hash, so they must be emitted byte for byte as written.
constexpr std::string_view kStyle = R"css(
:root{color-scheme:light dark;--bg:#f4f6f8;--fg:#1f2328;--muted:#59636e;--card:#fff;--line:#d1d9e0;
--link:#0969da;--ok:#1a7f37;--ok-bg:#dafbe1;--warn:#9a6700;--warn-bg:#fff4c2;--bad:#cf222e;
--bad-bg:#ffebe9;--wait:#6e7781;--wait-bg:#eaeef2}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--card:#161b22;
--line:#30363d;--link:#4493f8;--ok:#3fb950;--ok-bg:#12261e;--warn:#d29922;--warn-bg:#272115;
--bad:#f85149;--bad-bg:#2d1517;--wait:#8b949e;--wait-bg:#21262d}}
.healthy{--c:var(--ok);--c-bg:var(--ok-bg)}.degraded{--c:var(--warn);--c-bg:var(--warn-bg)}
.unhealthy{--c:var(--bad);--c-bg:var(--bad-bg)}.pending{--c:var(--wait);--c-bg:var(--wait-bg)}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--link)}
.top{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1.5rem;padding:.7rem 1.25rem;
background:var(--card);border-bottom:1px solid var(--line)}
.brand{font-weight:700;font-size:1.05rem}.brand .host{font-weight:400;color:var(--muted)}
.top nav{display:flex;flex-wrap:wrap;gap:.9rem;font-family:ui-monospace,Menlo,Consolas,monospace;
font-size:.85rem}
.live{margin-left:auto;color:var(--muted);font-size:.82rem}
.live.lost{color:var(--bad);font-weight:600}
main{max-width:1320px;margin:0 auto;padding:1.1rem 1.25rem 2rem}
body.stale main{opacity:.55;filter:grayscale(.8)}
.icon{width:1em;height:1em;flex:none;color:var(--c)}
.banner{display:flex;flex-wrap:wrap;align-items:center;gap:.8rem 1.25rem;padding:1rem 1.25rem;
border-radius:10px;background:var(--c-bg);border:1px solid var(--c);border-left-width:6px}
.banner>.icon{font-size:2.2rem}
.banner .text{flex:1 1 16rem;min-width:0}
.overall{margin:0;font-size:1.3rem;font-weight:600}
.overall strong{color:var(--c);text-transform:capitalize}
.why{margin:.1rem 0 0;color:var(--fg)}
.counts{display:flex;flex-wrap:wrap;gap:.45rem;list-style:none;margin:0;padding:0}
.counts li{display:flex;align-items:center;gap:.4rem;padding:.2rem .7rem;border-radius:999px;
background:var(--card);border:1px solid var(--line);font-size:.85rem}
.counts li::before{content:"";width:.6rem;height:.6rem;border-radius:50%;background:var(--c)}
.counts b{font-variant-numeric:tabular-nums}.counts li.zero{opacity:.5}
.grouping{margin:.9rem 0 0;color:var(--muted);font-size:.85rem}
.grouping a[aria-current]{color:var(--fg);font-weight:600;text-decoration:none}
.group>h2{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem .6rem;margin:1.4rem 0 .6rem;
font-size:1.05rem}
.group>h2 .sub{font-size:.82rem;font-weight:400;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(310px,1fr));gap:.85rem}
.card{display:flex;flex-direction:column;gap:.55rem;min-width:0;padding:.8rem .95rem;
background:var(--card);border:1px solid var(--line);border-left:4px solid var(--c);border-radius:8px}
.card:target{outline:3px solid var(--link);outline-offset:2px}
.card>header{display:flex;flex-wrap:wrap;align-items:center;gap:.35rem .5rem}
.card h3{flex:1 1 auto;min-width:0;margin:0;font-size:1rem;overflow-wrap:anywhere}
.badge{display:inline-flex;align-items:center;gap:.3rem;padding:.05rem .5rem .05rem .35rem;
border-radius:999px;background:var(--c-bg);color:var(--c);font-size:.78rem;font-weight:600}
.crit{padding:0 .35rem;border:1px solid var(--line);border-radius:4px;color:var(--muted);
font-size:.68rem;letter-spacing:.04em;text-transform:uppercase}
.crit.yes{color:var(--fg);font-weight:600}
.target{margin:0;color:var(--muted);font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;
overflow-wrap:anywhere}
.detail{margin:0;overflow-wrap:anywhere}.detail.none{color:var(--muted);font-style:italic}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(70px,1fr));gap:.3rem .6rem;margin:0}
.facts dt{color:var(--muted);font-size:.68rem;letter-spacing:.04em;text-transform:uppercase}
.facts dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.facts .wide{grid-column:span 2}
.history{display:grid;grid-template-columns:repeat(20,1fr);gap:2px;margin:0;padding:0;list-style:none}
.history li{height:14px;border-radius:2px;background:var(--c)}
.history li.empty{background:none;border:1px dashed var(--line)}
.labels{display:flex;flex-wrap:wrap;gap:.3rem;margin:0}
.label{padding:0 .4rem;border:1px solid var(--line);border-radius:4px;background:var(--bg);
color:var(--muted);font-size:.75rem;overflow-wrap:anywhere}
.open{margin:0;font-size:.82rem}
.empty-board{color:var(--muted)}
main>footer{margin-top:2rem;color:var(--muted);font-size:.8rem}
@media (max-width:600px){.top,main{padding-left:.75rem;padding-right:.75rem}.live{margin-left:0}
.cards{grid-template-columns:1fr}.banner{padding:.8rem .9rem}}
)css";

// Re-fetches this very page and swaps in the new #board, which the server has
// already rendered and escaped: nothing from /status is turned into markup
// here, and text set by the script goes through textContent. When the daemon
// cannot be reached the board is greyed out, so a dead daemon never keeps
// showing green.
constexpr std::string_view kScript = R"js(
(function () {
  'use strict';
  var PERIOD_MS = 5000, TIMEOUT_MS = 4000, refreshes = 0, lostSince = null;
  var live = document.getElementById('live');
  function say(text, lost) {
    live.textContent = text;
    live.className = lost ? 'live lost' : 'live';
    document.body.classList.toggle('stale', lost);
  }
  function refresh() {
    var abort = new AbortController();
    var timer = setTimeout(function () { abort.abort(); }, TIMEOUT_MS);
    fetch(location.pathname + location.search, {cache: 'no-store', signal: abort.signal})
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, 'text/html');
        var board = next.getElementById('board');
        var icon = next.getElementById('favicon');
        if (!board) throw new Error('unexpected response');
        document.getElementById('board').replaceWith(document.adoptNode(board));
        document.title = next.title;
        if (icon) document.getElementById('favicon').setAttribute('href', icon.getAttribute('href'));
        refreshes += 1;
        document.body.setAttribute('data-refreshes', String(refreshes));
        lostSince = null;
        say('Live \u00b7 updated ' + new Date().toLocaleTimeString(), false);
      })
      .catch(function (error) {
        if (lostSince === null) lostSince = new Date().toLocaleTimeString();
        var why = error.name === 'AbortError' ? 'no answer' : error.message;
        say('Daemon unreachable since ' + lostSince + ' (' + why + '): showing the last known state',
            true);
      })
      .finally(function () {
        clearTimeout(timer);
        setTimeout(refresh, PERIOD_MS);
      });
  }
  say('Live \u00b7 refreshes every 5 s', false);
  setTimeout(refresh, PERIOD_MS);
})();
)js";

// "'sha256-<base64>'" of `text`, as a CSP source expression.
std::string CspHash(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  EVP_Digest(text.data(), text.size(), digest, &digest_size, EVP_sha256(), nullptr);
  return "'sha256-" + Base64(std::string_view(reinterpret_cast<const char*>(digest), digest_size)) +
         "'";
}

// The page's one <style>: its own rules and those of the history block.
const std::string& PageStyle() {
  static const std::string style = std::string(kStyle) + std::string(HistoryStyle());
  return style;
}

const std::string& ContentSecurityPolicy() {
  // The page needs nothing but its own inline style and script, fetches of
  // itself, and the data: favicon; everything else is refused, so even a
  // missed escape could not load or run anything.
  static const std::string policy = "default-src 'none'; style-src " + CspHash(PageStyle()) +
                                    "; script-src " + CspHash(kScript) +
                                    "; connect-src 'self'; img-src data:; base-uri 'none'; "
                                    "form-action 'none'";
  return policy;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// "5m 3s", "2h 10m", "3d 4h": two units at most, which is all a glance needs.
std::string FormatSpan(double seconds) {
  const auto total = static_cast<int64_t>(std::floor(std::max(0.0, seconds)));
  const int64_t days = total / 86400, hours = total % 86400 / 3600;
  const int64_t minutes = total % 3600 / 60, secs = total % 60;
  auto two = [](int64_t big, const char* big_unit, int64_t small, const char* small_unit) {
    std::string out = std::to_string(big) + big_unit;
    if (small > 0) out += " " + std::to_string(small) + small_unit;
    return out;
  };
  if (days > 0) return two(days, "d", hours, "h");
  if (hours > 0) return two(hours, "h", minutes, "m");
  if (minutes > 0) return two(minutes, "m", secs, "s");
  return std::to_string(secs) + "s";
}

std::string Plural(size_t count, std::string_view singular, std::string_view plural) {
  return std::to_string(count) + " " + std::string(count == 1 ? singular : plural);
}

std::string Hostname() {
  char name[256] = "";
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

// One "label / value" row of a card's fact list. `title` is the tooltip,
// e.g. the exact time behind "12s ago".
struct Fact {
  std::string_view label;
  std::string value;
  std::string title;
  bool wide = false;  // two columns: a reason name or check names, not a figure
};

// The facts under a card's detail line. Optional facts are simply left out;
// a new optional line (e.g. "Blocked by <check>") is one more push_back here.
// Root causes of a blocked check, by check; absent when not blocked.
using BlockedMap = std::unordered_map<const CheckStatus*, const std::vector<std::string>*>;

std::vector<Fact> CardFacts(const CheckStatus& status, double now,
                            const std::vector<std::string>* blocked_by) {
  std::vector<Fact> facts;
  if (blocked_by != nullptr && !blocked_by->empty()) {
    std::string names;
    for (const auto& name : *blocked_by) names += (names.empty() ? "" : ", ") + name;
    facts.push_back(
        {"Blocked by", names, "fails because a check it depends on is unhealthy", true});
  }
  if (status.last && status.last->reason != FailureReason::kNone) {
    const FailureReason reason = status.last->reason;
    facts.push_back({"Reason", std::string(FailureReasonName(reason)),
                     kFailureReasons[static_cast<unsigned>(reason)].meaning, true});
  }
  if (status.last) {
    const LastResult& last = *status.last;
    facts.push_back(
        {"Latency", FormatLatency(last.duration) + (last.timed_out ? " (timeout)" : ""), ""});
    facts.push_back(
        {"Last run", FormatAgo(now - last.finished_at), FormatRfc3339(last.finished_at)});
  }
  if (status.state) {
    facts.push_back({"In state", FormatSpan(now - status.state_since),
                     "since " + FormatRfc3339(status.state_since)});
  }
  if (status.consecutive_failures > 0) {
    facts.push_back({"Failures", std::to_string(status.consecutive_failures) + " in a row", ""});
  }
  return facts;
}

void RenderHistory(const CheckStatus& status, double now, std::string& out) {
  const size_t filled = std::min(status.history.size(), CheckStatus::kHistorySize);
  size_t failures = 0;
  for (const auto& entry : status.history) failures += entry.health != Health::kHealthy;
  out += "<ol class=\"history\" aria-label=\"Last " + std::to_string(filled) + " results, " +
         std::to_string(failures) + " not healthy; oldest first\">";
  for (size_t i = filled; i < CheckStatus::kHistorySize; ++i) out += "<li class=\"empty\"></li>";
  for (size_t i = status.history.size() - filled; i < status.history.size(); ++i) {
    const HistoryEntry& entry = status.history[i];
    const std::string_view name = HealthName(entry.health);
    std::string tip = std::string(name) + " \xC2\xB7 " + FormatLatency(entry.duration) +
                      " \xC2\xB7 " + FormatAgo(now - entry.finished_at) + " (" +
                      FormatRfc3339(entry.finished_at) + ")";
    if (entry.reason != FailureReason::kNone)
      tip += " \xC2\xB7 " + std::string(FailureReasonName(entry.reason));
    if (!entry.detail.empty()) tip += "\n" + entry.detail;
    out += "<li class=\"" + std::string(name) + "\" title=\"" + HtmlEscape(tip) + "\"></li>";
  }
  out += "</ol>";
}

void RenderCard(const CheckStatus& status, double now, const BlockedMap& blocked,
                const HistoryView* history, std::string& out) {
  const CheckInfo& info = *status.info;
  const Light light = LightOf(status);
  const std::string state(LightName(light));
  out += "<article class=\"card " + state + "\" data-check=\"" + HtmlEscape(info.name) +
         "\" data-state=\"" + state + "\" data-critical=\"" + (info.critical ? "true" : "false") +
         "\" id=\"" + HtmlEscape(CardId(info.name)) + "\">\n<header><span class=\"badge\">" +
         std::string(LightIcon(light)) + std::string(LightTitle(light)) + "</span><h3>" +
         HtmlEscape(info.name) + "</h3>";
  out += info.critical ? "<span class=\"crit yes\" title=\"Unhealthy makes the daemon not ready\">"
                         "critical</span>"
                       : "<span class=\"crit\" title=\"Unhealthy only degrades the whole\">"
                         "non-critical</span>";
  out += "</header>\n<p class=\"target\" title=\"timeout " + FormatSpan(ToSeconds(info.timeout)) +
         "\">" + HtmlEscape(info.type) + " \xC2\xB7 " + HtmlEscape(info.target) +
         " \xC2\xB7 every " + FormatSpan(ToSeconds(info.interval)) + "</p>\n";
  if (status.last && !status.last->detail.empty()) {
    out += "<p class=\"detail\">" + HtmlEscape(status.last->detail) + "</p>\n";
  } else {
    out += std::string("<p class=\"detail none\">") +
           (status.last ? "no detail" : "Waiting for the first result") + "</p>\n";
  }
  const auto blocked_it = blocked.find(&status);
  const std::vector<Fact> facts =
      CardFacts(status, now, blocked_it == blocked.end() ? nullptr : blocked_it->second);
  if (!facts.empty()) out += "<dl class=\"facts\">";
  for (const Fact& fact : facts) {
    out += fact.wide ? "<div class=\"wide\"" : "<div";
    if (!fact.title.empty()) out += " title=\"" + HtmlEscape(fact.title) + "\"";
    // A reason name breaks, if it must, after an underscore, not mid-word.
    std::string value;
    for (const char c : HtmlEscape(fact.value)) {
      value += c;
      if (fact.wide && c == '_') value += "<wbr>";
    }
    out += "><dt>" + std::string(fact.label) + "</dt><dd>" + value + "</dd></div>";
  }
  if (!facts.empty()) out += "</dl>\n";
  RenderHistory(status, now, out);
  out += "\n";
  RenderCardHistory(history, info.name, now, out);
  if (!info.labels.empty()) {
    out += "<p class=\"labels\">";
    for (const auto& [name, value] : info.labels) {
      out += "<span class=\"label\">" + HtmlEscape(name) + "=" + HtmlEscape(value) + "</span>";
    }
    out += "</p>\n";
  }
  // The check's panel (http/check_panel.h): its failure journal and details.
  out += "<p class=\"open\"><a href=\"/check/" + HtmlEscape(PercentEncode(info.name)) +
         "\">Failure journal and details</a></p>\n";
  out += "</article>\n";
}

struct CardGroup {
  std::string title;  // the label value, or "other"
  bool unlabelled = false;
  std::vector<const CheckStatus*> checks;
};

// Groups by `label` in name order, the unlabelled "other" group last; within
// a group by urgency, then config order.
std::vector<CardGroup> GroupChecks(const BoardSnapshot& snapshot, const std::string& label) {
  std::map<std::string, CardGroup> labelled;
  CardGroup other{label.empty() ? "all checks" : "other", true, {}};
  for (const auto& status : snapshot.checks) {
    const auto& labels = status->info->labels;
    const auto it = std::find_if(labels.begin(), labels.end(),
                                 [&](const auto& entry) { return entry.first == label; });
    if (label.empty() || it == labels.end()) {
      other.checks.push_back(status.get());
    } else {
      CardGroup& group = labelled[it->second];
      group.title = it->second;
      group.checks.push_back(status.get());
    }
  }
  std::vector<CardGroup> groups;
  groups.reserve(labelled.size() + 1);
  for (auto& [value, group] : labelled) groups.push_back(std::move(group));
  if (!other.checks.empty()) groups.push_back(std::move(other));
  for (auto& group : groups) {
    std::stable_sort(
        group.checks.begin(), group.checks.end(),
        [](const CheckStatus* a, const CheckStatus* b) { return Urgency(*a) < Urgency(*b); });
  }
  return groups;
}

std::array<size_t, 4> CountLights(const std::vector<const CheckStatus*>& checks) {
  std::array<size_t, 4> counts{};
  for (const CheckStatus* status : checks) ++counts[static_cast<size_t>(LightOf(*status))];
  return counts;
}

// One sentence on why the board is in its state.
std::string Explanation(const BoardSnapshot& snapshot, const std::array<size_t, 4>& counts) {
  size_t critical_unhealthy = 0, critical_pending = 0;
  for (const auto& status : snapshot.checks) {
    if (!status->info->critical) continue;
    critical_unhealthy += LightOf(*status) == Light::kUnhealthy;
    critical_pending += LightOf(*status) == Light::kPending;
  }
  const size_t total = snapshot.checks.size();
  const size_t failing = counts[static_cast<size_t>(Light::kDegraded)] +
                         counts[static_cast<size_t>(Light::kUnhealthy)];
  switch (snapshot.overall) {
    case OverallStatus::kUnhealthy:
      return Plural(critical_unhealthy, "critical check is", "critical checks are") +
             " unhealthy: the daemon reports not ready.";
    case OverallStatus::kDegraded:
      return Plural(failing, "check is", "checks are") +
             " degraded or failing; no critical check is unhealthy.";
    case OverallStatus::kPending:
      return "Waiting for the first result of " +
             Plural(critical_pending, "critical check.", "critical checks.");
    case OverallStatus::kHealthy:
      break;
  }
  if (total == 0) return "No checks are configured.";
  const size_t pending = counts[static_cast<size_t>(Light::kPending)];
  if (pending > 0) {
    return Plural(total - pending, "check is", "checks are") + " healthy; " +
           Plural(pending, "non-critical check has", "non-critical checks have") +
           " no result yet.";
  }
  return total == 1 ? "The only check is healthy."
                    : "All " + std::to_string(total) + " checks are healthy.";
}

void RenderBanner(const BoardSnapshot& snapshot, std::string& out) {
  std::vector<const CheckStatus*> all;
  for (const auto& status : snapshot.checks) all.push_back(status.get());
  const auto counts = CountLights(all);
  const Light overall = LightOf(snapshot.overall);
  const std::string name(LightName(overall));
  out += "<section class=\"banner " + name + "\" role=\"status\" aria-live=\"polite\">" +
         std::string(LightIcon(overall)) +
         "<div class=\"text\"><p class=\"overall\">Overall: " + "<strong class=\"" + name + "\">" +
         name + "</strong></p><p class=\"why\">" + HtmlEscape(Explanation(snapshot, counts)) +
         "</p></div>\n<ul class=\"counts\">";
  for (Light light : kLightsInBannerOrder) {
    const size_t count = counts[static_cast<size_t>(light)];
    const std::string state(LightName(light));
    out += "<li class=\"";
    out += state;
    out += count == 0 ? " zero" : "";
    out += "\" data-state=\"";
    out += state;
    out += "\"><b>";
    out += std::to_string(count);
    out += "</b> ";
    out += state;
    out += "</li>";
  }
  out += "</ul>\n</section>\n";
}

// "Grouped by team · group by: env · tier · none" with links that keep the
// choice in the URL, so a bookmarked view survives refreshes.
void RenderGroupingChoice(const BoardSnapshot& snapshot, const std::string& label,
                          std::string& out) {
  std::set<std::string> names;
  for (const auto& status : snapshot.checks) {
    for (const auto& entry : status->info->labels) names.insert(entry.first);
  }
  out += "<p class=\"grouping\">";
  out += label.empty() ? std::string("Not grouped") : "Grouped by <b>" + HtmlEscape(label) + "</b>";
  out += " \xC2\xB7 group by:";
  auto link = [&](const std::string& value, const std::string& text) {
    out += " <a href=\"/?group=" + HtmlEscape(PercentEncode(value)) + "\"";
    if (value == label) out += " aria-current=\"page\"";
    out += ">" + HtmlEscape(text) + "</a>";
  };
  for (const auto& name : names) link(name, name);
  link("", "none");
  out += "</p>\n";
}

void RenderGroup(const CardGroup& group, const std::string& label, double now,
                 const BlockedMap& blocked, const HistoryView* history, std::string& out) {
  const auto counts = CountLights(group.checks);
  std::string summary = Plural(group.checks.size(), "check", "checks");
  for (Light light : {Light::kUnhealthy, Light::kDegraded, Light::kPending}) {
    const size_t count = counts[static_cast<size_t>(light)];
    if (count > 0)
      summary += " \xC2\xB7 " + std::to_string(count) + " " + std::string(LightName(light));
  }
  out += "<section class=\"group\" data-group=\"" + HtmlEscape(group.title) + "\"";
  if (group.unlabelled) out += " data-unlabelled=\"true\"";
  out += ">\n<h2>" + HtmlEscape(group.title);
  if (group.unlabelled && !label.empty()) {
    out += " <span class=\"sub\">(no " + HtmlEscape(label) + " label)</span>";
  }
  out += " <span class=\"sub\">" + summary + "</span></h2>\n<div class=\"cards\">\n";
  for (const CheckStatus* status : group.checks) RenderCard(*status, now, blocked, history, out);
  out += "</div>\n</section>\n";
}

}  // namespace

std::string_view LandingPageStyle() { return PageStyle(); }
std::string PageCspHash(std::string_view text) { return CspHash(text); }
std::string UrlPathEscape(std::string_view text) { return PercentEncode(text); }
std::string FormatTimeSpan(double seconds) { return FormatSpan(seconds); }

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

LandingPageRequest ParseLandingPageQuery(std::string_view query_string) {
  LandingPageRequest request;
  while (!query_string.empty()) {
    const size_t amp = query_string.find('&');
    const std::string_view pair = query_string.substr(0, amp);
    query_string = amp == std::string_view::npos ? "" : query_string.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (PercentDecode(pair.substr(0, eq)) != "group") continue;
    request.group_label = eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
  }
  return request;
}

std::string CardId(std::string_view check_name) { return "check-" + std::string(check_name); }

std::string CardHref(std::string_view check_name) {
  return "/#" + PercentEncode(CardId(check_name));
}

std::string_view StatusPageStyle() { return kStyle; }
std::string_view StatusPageScript() { return kScript; }

std::string FormatAgo(double seconds_ago) {
  if (!(seconds_ago >= 1)) return "just now";
  return FormatSpan(seconds_ago) + " ago";
}

std::string FormatLatency(Duration duration) {
  const double ms = std::chrono::duration<double, std::milli>(duration).count();
  char buffer[32];
  if (ms < 10) {
    std::snprintf(buffer, sizeof(buffer), "%.2f ms", ms);
  } else if (ms < 1000) {
    std::snprintf(buffer, sizeof(buffer), "%.0f ms", ms);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.2f s", ms / 1000);
  }
  return buffer;
}

std::string RenderLandingPage(const BoardSnapshot& snapshot, double now,
                              const LandingPageRequest& request, const HistoryView* history) {
  const Light overall = LightOf(snapshot.overall);
  const std::string host = HtmlEscape(Hostname());
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"" +
      ContentSecurityPolicy() +
      "\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"color-scheme\" content=\"light dark\">\n<title>" +
      std::string(LightTitle(overall)) + " \xC2\xB7 health_exporter" +
      (host.empty() ? "" : " on " + host) +
      "</title>\n<link rel=\"icon\" id=\"favicon\" href=\"data:image/svg+xml,%3Csvg "
      "xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' "
      "fill='" +
      std::string(FaviconColour(overall)) + "'/%3E%3C/svg%3E\">\n<style>" + PageStyle() +
      "</style>\n</head>\n<body>\n<header class=\"top\">\n<div class=\"brand\">health_exporter" +
      (host.empty() ? "" : " <span class=\"host\">on " + host + "</span>") +
      "</div>\n<nav><a href=\"/map\">Dependency map</a> <a href=\"/metrics\">/metrics</a> "
      "<a href=\"/status\">/status</a> "
      "<a href=\"/readyz\">/readyz</a> <a href=\"/healthz\">/healthz</a></nav>\n"
      "<span id=\"live\" class=\"live\">Snapshot; reload to update</span>\n</header>\n";

  page += "<main id=\"board\" data-overall=\"" + std::string(LightName(overall)) +
          "\" data-group-label=\"" + HtmlEscape(request.group_label) + "\">\n";
  RenderBanner(snapshot, page);
  RenderGroupingChoice(snapshot, request.group_label, page);
  if (snapshot.checks.empty()) {
    page += "<p class=\"empty-board\">No checks are configured.</p>\n";
  }
  BlockedMap blocked;
  for (size_t i = 0; i < snapshot.checks.size() && i < snapshot.blocked_by.size(); ++i) {
    if (!snapshot.blocked_by[i].empty()) blocked[snapshot.checks[i].get()] = &snapshot.blocked_by[i];
  }
  for (const CardGroup& group : GroupChecks(snapshot, request.group_label)) {
    RenderGroup(group, request.group_label, now, blocked, history, page);
  }
  page += "<footer>Generated " + FormatRfc3339(now) + " by health_exporter " +
          HtmlEscape(build::kVersion) + " (" + HtmlEscape(build::kRevision) + ")" +
          " \xC2\xB7 refreshes every " + std::to_string(kRefreshSeconds) +
          " s with JavaScript</footer>\n</main>\n<script id=\"refresh\">" + std::string(kScript) +
          "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace hx
