#include "http/public_page.h"

#include <civetweb.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "http/history_svg.h"
#include "http/landing_page.h"
#include "http/state_icons.h"
#include "util/sha256.h"

namespace hx {
namespace {

constexpr std::string_view kBadgePrefix = "/public/badge/";
constexpr std::string_view kBadgeSuffix = ".svg";

// The page's only style. The Content-Security-Policy allows exactly this by
// hash, so it must be emitted byte for byte as written. No script at all.
constexpr std::string_view kStyle = R"css(
:root{color-scheme:light dark;--bg:#f6f8fa;--fg:#1f2328;--muted:#59636e;--card:#fff;--line:#d1d9e0;
--ok:#1a7f37;--ok-bg:#dafbe1;--warn:#9a6700;--warn-bg:#fff4c2;--bad:#cf222e;--bad-bg:#ffebe9;
--wait:#6e7781;--wait-bg:#eaeef2;--none:#d8dee4;--minor:#d4a72c}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--card:#161b22;
--line:#30363d;--ok:#3fb950;--ok-bg:#12261e;--warn:#d29922;--warn-bg:#272115;--bad:#f85149;
--bad-bg:#2d1517;--wait:#8b949e;--wait-bg:#21262d;--none:#30363d;--minor:#bb8009}}
.operational{--c:var(--ok);--c-bg:var(--ok-bg)}.degraded{--c:var(--warn);--c-bg:var(--warn-bg)}
.outage{--c:var(--bad);--c-bg:var(--bad-bg)}.unknown{--c:var(--wait);--c-bg:var(--wait-bg)}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:860px;margin:0 auto;padding:2rem 1.25rem 3rem}
h1{margin:0 0 1.25rem;font-size:1.6rem}
.icon{width:1.15em;height:1.15em;flex:none;color:var(--c)}
.overall{display:flex;align-items:center;gap:.75rem;margin:0 0 1.25rem;padding:1rem 1.25rem;
border-radius:10px;background:var(--c-bg);border:1px solid var(--c);font-size:1.15rem;font-weight:600}
.overall .icon{width:1.6rem;height:1.6rem}
.notice{margin:0 0 1.25rem;padding:.85rem 1.1rem;border-radius:8px;background:var(--card);
border:1px solid var(--line);border-left:4px solid var(--warn);white-space:pre-line;overflow-wrap:anywhere}
.group{margin:0 0 1.25rem;background:var(--card);border:1px solid var(--line);border-radius:10px}
.group>h2{display:flex;align-items:center;gap:.5rem;margin:0;padding:.8rem 1.1rem;font-size:1.05rem;
border-bottom:1px solid var(--line)}
.group>h2 .name{flex:1;min-width:0;overflow-wrap:anywhere}
.components{list-style:none;margin:0;padding:0}
.component{padding:.85rem 1.1rem}.component+.component{border-top:1px solid var(--line)}
.row{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem .75rem}
.row h3{flex:1 1 auto;min-width:0;margin:0;font-size:1rem;font-weight:600;overflow-wrap:anywhere}
.state{display:inline-flex;align-items:center;gap:.35rem;color:var(--c);font-size:.9rem;font-weight:600}
.bars{display:flex;gap:2px;height:30px;margin:.6rem 0 .25rem;padding:0;list-style:none}
.bars li{flex:1;min-width:0;border-radius:2px;background:var(--none)}
.bars li.up{background:var(--ok)}.bars li.minor{background:var(--minor)}.bars li.down{background:var(--bad)}
.legend{display:flex;justify-content:space-between;gap:.5rem;color:var(--muted);font-size:.78rem}
.legend .short{display:none}
.uptime{display:flex;flex-wrap:wrap;gap:.2rem 1.1rem;margin:.35rem 0 0;color:var(--muted);font-size:.82rem}
.uptime div{display:flex;gap:.3rem}.uptime dt{margin:0}.uptime dd{margin:0;color:var(--fg);
font-variant-numeric:tabular-nums}
footer{margin-top:2rem;color:var(--muted);font-size:.8rem}footer a{color:inherit}
@media (max-width:600px){main{padding:1.25rem .75rem 2rem}h1{font-size:1.3rem}
.bars li:nth-child(-n+60){display:none}.legend .long{display:none}.legend .short{display:inline}
.overall{font-size:1.02rem}}
)css";

const std::string& ContentSecurityPolicy() {
  // Nothing but the inline style and the data: icon: no script, no fetch,
  // no form, no frame.
  static const std::string policy = "default-src 'none'; style-src " + PageCspHash(kStyle) +
                                    "; img-src data:; base-uri 'none'; form-action 'none'; "
                                    "frame-ancestors 'none'";
  return policy;
}

// Each public state's mark (http/state_icons.h), shared with the status page.
StateMark MarkOf(PublicState state) {
  switch (state) {
    case PublicState::kOperational:
      return StateMark::kOk;
    case PublicState::kDegraded:
      return StateMark::kWarn;
    case PublicState::kOutage:
      return StateMark::kBad;
    case PublicState::kUnknown:
      return StateMark::kUnknown;
  }
  return StateMark::kUnknown;
}
std::string_view FaviconColour(PublicState state) { return StateFaviconColour(MarkOf(state)); }
std::string_view StateIcon(PublicState state) { return StateIconSvg(MarkOf(state)); }

std::string_view OverallSentence(PublicState state) {
  switch (state) {
    case PublicState::kOperational:
      return "All systems operational";
    case PublicState::kDegraded:
      return "Some systems have degraded performance";
    case PublicState::kOutage:
      return "Some systems have an outage";
    case PublicState::kUnknown:
      return "The status of some systems is unknown";
  }
  return "";
}

// Shares rounded down to 0.01 %: the page's resolution, and what keeps the
// body (and its ETag) stable while today's seconds tick on.
double Floor4(double share) { return std::floor(std::clamp(share, 0.0, 1.0) * 10000) / 10000; }

std::string_view DayClass(std::optional<double> uptime) {
  if (!uptime) return "none";
  if (*uptime >= 0.999) return "up";
  if (*uptime >= 0.99) return "minor";
  return "down";
}

void RenderComponent(const PublicComponent& component, bool has_history, std::string& out) {
  const std::string_view key = PublicStateKey(component.state);
  out += "<li class=\"component " + std::string(key) + "\" data-state=\"" + std::string(key) +
         "\"><div class=\"row\"><h3>" + HtmlEscape(component.name) + "</h3><span class=\"state\">" +
         std::string(StateIcon(component.state)) + std::string(PublicStateText(component.state)) +
         "</span></div>";
  if (has_history) {
    out += "<ol class=\"bars\" aria-label=\"Uptime per day over the last " +
           std::to_string(component.days.size()) + " days, oldest first\">";
    for (const PublicDay& day : component.days) {
      out += "<li class=\"" + std::string(DayClass(day.uptime)) + "\" title=\"" + IsoDate(day.day) +
             ": " + (day.uptime ? FormatUptime(*day.uptime) + " uptime" : std::string("no data")) +
             "\"></li>";
    }
    out += "</ol><div class=\"legend\"><span class=\"long\">" +
           std::to_string(component.days.size()) +
           " days ago</span><span class=\"short\">30 days ago</span><span>Today</span></div>";
    out += "<dl class=\"uptime\">";
    const std::pair<const char*, std::optional<double>> windows[] = {
        {"24 h", component.uptime_24h},
        {"7 days", component.uptime_7d},
        {"30 days", component.uptime_30d},
        {"90 days", component.uptime_90d}};
    for (const auto& [label, value] : windows) {
      out += "<div><dt>" + std::string(label) + "</dt><dd>" +
             (value ? FormatUptime(*value) : std::string("\xE2\x80\x93")) + "</dd></div>";
    }
    out += "</dl>";
  }
  out += "</li>\n";
}

// A share as JSON: rounded down to 4 decimals, shortest form ("1", "0.9995"),
// or null.
std::string UptimeJson(std::optional<double> share) {
  if (!share) return "null";
  char text[32];
  std::snprintf(text, sizeof(text), "%.4f", Floor4(*share));
  std::string out = text;
  while (out.back() == '0') out.pop_back();
  if (out.back() == '.') out.pop_back();
  return out;
}

// A JSON string literal. Invalid UTF-8 in a name (the config allows any
// bytes) is replaced, never a reason to fail.
std::string JsonString(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Estimated width in px of `text` in Verdana 11px, the badge font; the
// text is then fitted to it (textLength), so an estimate a little off only
// squeezes or spreads the letters.
double TextWidth(std::string_view text) {
  double width = 0;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u & 0xC0) == 0x80) continue;  // UTF-8 continuation byte
    if (u >= 0x80) {
      width += 8;
    } else if (std::string_view("ijl.,:;'|!I").find(c) != std::string_view::npos) {
      width += 3.4;
    } else if (std::string_view("frt ()[]-/").find(c) != std::string_view::npos) {
      width += 4.6;
    } else if (std::string_view("mwMW%").find(c) != std::string_view::npos) {
      width += 11;
    } else if (c >= 'A' && c <= 'Z') {
      width += 7.6;
    } else if (c >= '0' && c <= '9') {
      width += 7;
    } else {
      width += 6.6;
    }
  }
  return std::ceil(width);
}

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

std::optional<std::string> QueryValue(std::string_view query, const char* name) {
  if (query.empty()) return std::nullopt;
  char value[32];
  const int length = mg_get_var(query.data(), query.size(), name, value, sizeof(value));
  if (length < 0) return std::nullopt;
  return std::string(value, static_cast<size_t>(length));
}

PublicResponse Error(int status, std::string body) {
  PublicResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace

bool IsPublicPath(std::string_view path) {
  if (path == "/public" || path == "/public.json") return true;
  if (!path.starts_with(kBadgePrefix) || !path.ends_with(kBadgeSuffix)) return false;
  const std::string_view name =
      path.substr(kBadgePrefix.size(), path.size() - kBadgePrefix.size() - kBadgeSuffix.size());
  return !name.empty() && path.size() >= kBadgePrefix.size() + kBadgeSuffix.size() &&
         name.find('/') == std::string_view::npos;
}

std::string FormatUptime(double share) {
  const double floored = Floor4(share) * 100;
  if (floored >= 100) return "100%";
  if (floored <= 0) return "0%";
  char text[16];
  std::snprintf(text, sizeof(text), "%.2f%%", floored);
  return text;
}

std::string RenderPublicPage(const PublicView& view) {
  const std::string_view overall = PublicStateKey(view.overall);
  std::string out;
  out.reserve(8192 + view.groups.size() * 4096);
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"" +
      ContentSecurityPolicy() + "\"><meta name=\"robots\" content=\"noindex\"><title>" +
      HtmlEscape(view.title) + "</title>";
  out +=
      "<link rel=\"icon\" href=\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' "
      "viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='" +
      std::string(FaviconColour(view.overall)) + "'/%3E%3C/svg%3E\">";
  out += "<style>";
  out += kStyle;
  out += "</style></head>\n<body><main id=\"public\" data-overall=\"" + std::string(overall) +
         "\"><h1>" + HtmlEscape(view.title) + "</h1>\n";
  out += "<p class=\"overall " + std::string(overall) + "\">" +
         std::string(StateIcon(view.overall)) + std::string(OverallSentence(view.overall)) +
         "</p>\n";
  if (!view.notice.empty()) {
    out +=
        "<aside class=\"notice\" aria-label=\"Notice\">" + HtmlEscape(view.notice) + "</aside>\n";
  }
  for (const PublicGroupView& group : view.groups) {
    const std::string_view key = PublicStateKey(group.state);
    out += "<section class=\"group " + std::string(key) + "\" data-state=\"" + std::string(key) +
           "\"><h2><span class=\"name\">" + HtmlEscape(group.name) +
           "</span><span class=\"state\">" + std::string(StateIcon(group.state)) +
           std::string(PublicStateText(group.state)) + "</span></h2><ul class=\"components\">\n";
    for (const PublicComponent& component : group.components) {
      RenderComponent(component, view.has_history, out);
    }
    out += "</ul></section>\n";
  }
  out +=
      "<footer>Uptime is the share of each day without an outage (UTC days). "
      "<a href=\"public.json\">This page as JSON</a>.</footer>\n</main></body></html>\n";
  return out;
}

// Written directly rather than through a JSON document: 90 small objects per
// entry made the document the larger part of a render.
std::string RenderPublicJson(const PublicView& view) {
  std::string out;
  out.reserve(1024 + view.groups.size() * 512);
  auto state = [&](PublicState s, bool with_text) {
    out += ",\"status\":\"" + std::string(PublicStateKey(s)) + "\"";
    if (with_text) out += ",\"status_text\":\"" + std::string(PublicStateText(s)) + "\"";
  };
  out += "{\"title\":" + JsonString(view.title) + ",\"notice\":" + JsonString(view.notice);
  state(view.overall, true);
  out += ",\"groups\":[";
  for (size_t g = 0; g < view.groups.size(); ++g) {
    const PublicGroupView& group = view.groups[g];
    out += (g == 0 ? "" : ",");
    out += "\n{\"name\":" + JsonString(group.name);
    state(group.state, false);
    out += ",\"components\":[";
    for (size_t c = 0; c < group.components.size(); ++c) {
      const PublicComponent& component = group.components[c];
      out += (c == 0 ? "" : ",");
      out += "\n{\"name\":" + JsonString(component.name);
      state(component.state, true);
      if (view.has_history) {
        out += ",\"uptime\":{\"24h\":" + UptimeJson(component.uptime_24h) +
               ",\"7d\":" + UptimeJson(component.uptime_7d) +
               ",\"30d\":" + UptimeJson(component.uptime_30d) +
               ",\"90d\":" + UptimeJson(component.uptime_90d) + "},\"days\":[";
        for (size_t d = 0; d < component.days.size(); ++d) {
          out += (d == 0 ? "" : ",");
          out += "{\"date\":\"" + IsoDate(component.days[d].day) +
                 "\",\"uptime\":" + UptimeJson(component.days[d].uptime) + "}";
        }
        out += "]";
      }
      out += "}";
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

std::string_view BadgeColour(PublicState state) {
  switch (state) {
    case PublicState::kOperational:
      return "#4c1";
    case PublicState::kDegraded:
      return "#dfb317";
    case PublicState::kOutage:
      return "#e05d44";
    case PublicState::kUnknown:
      return "#9f9f9f";
  }
  return "#9f9f9f";
}

std::string_view UptimeColour(std::optional<double> uptime) {
  if (!uptime) return "#9f9f9f";
  if (*uptime >= 0.999) return "#4c1";
  if (*uptime >= 0.99) return "#97ca00";
  if (*uptime >= 0.95) return "#dfb317";
  return "#e05d44";
}

std::string RenderBadge(std::string_view label, std::string_view message, std::string_view colour) {
  const double label_text = TextWidth(label), message_text = TextWidth(message);
  const double left = label_text + 10, right = message_text + 10, total = left + right;
  const std::string label_html = HtmlEscape(label), message_html = HtmlEscape(message);
  const std::string aria = label_html + ": " + message_html;
  std::string out;
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Number(total) +
         "\" height=\"20\" role=\"img\" aria-label=\"" + aria + "\"><title>" + aria + "</title>";
  out +=
      "<linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" "
      "stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>";
  out += "<clipPath id=\"r\"><rect width=\"" + Number(total) +
         "\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>";
  out += "<g clip-path=\"url(#r)\"><rect width=\"" + Number(left) +
         "\" height=\"20\" fill=\"#555\"/><rect id=\"message\" x=\"" + Number(left) +
         "\" width=\"" + Number(right) + "\" height=\"20\" fill=\"" + std::string(colour) +
         "\"/><rect width=\"" + Number(total) + "\" height=\"20\" fill=\"url(#s)\"/></g>";
  out +=
      "<g fill=\"#fff\" text-anchor=\"middle\" "
      "font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"11\">";
  auto text = [&](double x, double width, const std::string& escaped) {
    const std::string fit =
        " textLength=\"" + Number(width) + "\" lengthAdjust=\"spacingAndGlyphs\">";
    out += "<text x=\"" + Number(x) + "\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\"" + fit +
           escaped + "</text>";
    out += "<text x=\"" + Number(x) + "\" y=\"14\"" + fit + escaped + "</text>";
  };
  text(left / 2, label_text, label_html);
  text(left + right / 2, message_text, message_html);
  out += "</g></svg>\n";
  return out;
}

PublicResponse RespondPublic(const PublicView& view, std::string_view path,
                             std::string_view query) {
  PublicResponse response;
  if (path == "/public") {
    response.content_type = "text/html; charset=utf-8";
    response.body = RenderPublicPage(view);
  } else if (path == "/public.json") {
    response.content_type = "application/json";
    response.body = RenderPublicJson(view);
  } else {
    const std::string_view name =
        path.substr(kBadgePrefix.size(), path.size() - kBadgePrefix.size() - kBadgeSuffix.size());
    const PublicComponent* component = view.Find(name);
    if (component == nullptr) return Error(404, "no such entry on the public page\n");
    response.content_type = "image/svg+xml";
    if (std::optional<std::string> window = QueryValue(query, "uptime")) {
      std::optional<double> uptime;
      if (*window == "24h") {
        uptime = component->uptime_24h;
      } else if (*window == "7d") {
        uptime = component->uptime_7d;
      } else if (*window == "30d") {
        uptime = component->uptime_30d;
      } else if (*window == "90d") {
        uptime = component->uptime_90d;
      } else {
        return Error(400, "uptime must be one of 24h, 7d, 30d, 90d\n");
      }
      response.body = RenderBadge(component->name + " (" + *window + ")",
                                  uptime ? FormatUptime(*uptime) : "no data", UptimeColour(uptime));
    } else {
      response.body = RenderBadge(component->name, PublicStateText(component->state),
                                  BadgeColour(component->state));
    }
  }
  response.etag = "\"" + Sha256Hex(response.body).substr(0, 32) + "\"";
  return response;
}

bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  if (etag.empty()) return false;
  if (trim(if_none_match) == "*") return true;
  while (!if_none_match.empty()) {
    const size_t comma = if_none_match.find(',');
    std::string_view tag = trim(if_none_match.substr(0, comma));
    if (tag.starts_with("W/")) tag.remove_prefix(2);  // weak comparison
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

void PublicPageSource::Set(std::optional<PublicPageConfig> page) {
  std::shared_ptr<const PublicPageConfig> next =
      page ? std::make_shared<const PublicPageConfig>(std::move(*page)) : nullptr;
  std::lock_guard lock(mutex_);
  page_ = std::move(next);
}

std::shared_ptr<const PublicPageConfig> PublicPageSource::Get() const {
  std::lock_guard lock(mutex_);
  return page_;
}

// ---------------------------------------------------------------------------
// PublicPageCache

std::shared_ptr<const PublicView> PublicPageCache::FreshView(
    const std::shared_ptr<const PublicPageConfig>& page, double now, std::string_view path,
    std::shared_ptr<const PublicResponse>* rendered) const {
  // A clock that went back makes the entry stale, as does a reloaded page.
  if (entry_.view == nullptr || entry_.page != page || now < entry_.built_at ||
      now - entry_.built_at >= ttl_) {
    return nullptr;
  }
  if (path == "/public") *rendered = entry_.html;
  if (path == "/public.json") *rendered = entry_.json;
  return entry_.view;
}

std::shared_ptr<const PublicResponse> PublicPageCache::Respond(
    const std::shared_ptr<const PublicPageConfig>& page, double now,
    const std::function<PublicView()>& build, std::string_view path, std::string_view query) {
  std::shared_ptr<const PublicResponse> rendered;
  std::shared_ptr<const PublicView> view;
  {
    std::lock_guard lock(mutex_);
    view = FreshView(page, now, path, &rendered);
  }
  if (rendered != nullptr) return rendered;
  if (view == nullptr) {
    std::lock_guard building(build_mutex_);
    {
      // Another request may have built it while this one waited.
      std::lock_guard lock(mutex_);
      view = FreshView(page, now, path, &rendered);
    }
    if (rendered != nullptr) return rendered;
    if (view == nullptr) {
      view = std::make_shared<const PublicView>(build());
      std::lock_guard lock(mutex_);
      entry_ = Entry{page, now, view, nullptr, nullptr};
      ++builds_;
    }
  }
  auto response = std::make_shared<const PublicResponse>(RespondPublic(*view, path, query));
  if (path == "/public" || path == "/public.json") {
    std::lock_guard lock(mutex_);
    if (entry_.view == view) (path == "/public" ? entry_.html : entry_.json) = response;
  }
  return response;
}

int PublicPageCache::builds() const {
  std::lock_guard lock(mutex_);
  return builds_;
}

}  // namespace hx
