#include "http/check_panel.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "build_info.h"
#include "http/history_svg.h"
#include "http/landing_page.h"
#include "status/status_json.h"

namespace hx {
namespace {

// The panel's own rules, on top of the status page's stylesheet (its colour
// variables, top bar, badges and fact lists). Emitted byte for byte: the
// Content-Security-Policy allows it by hash.
constexpr std::string_view kPanelStyle = R"css(
.panel{display:flex;flex-direction:column;gap:1.1rem;max-width:1000px}
.panel>section>h2{margin:0 0 .5rem;font-size:1.05rem}
.panel>section>h2 .sub{font-size:.82rem;font-weight:400;color:var(--muted)}
.back{margin:0;font-size:.85rem}
.summary{max-width:none}
.summary h1{flex:1 1 auto;min-width:0;margin:0;font-size:1.25rem;overflow-wrap:anywhere}
.journal{display:flex;flex-direction:column;gap:.6rem;margin:0;padding:0;list-style:none}
.entry{padding:.6rem .85rem;background:var(--card);border:1px solid var(--line);
border-left:4px solid var(--c);border-radius:6px}
.entry>header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.3rem .7rem}
.entry time{font-variant-numeric:tabular-nums}
.entry .ago,.entry .attempt{color:var(--muted);font-size:.82rem}
.change{font-weight:600}
.reason{padding:0 .35rem;border:1px solid var(--line);border-radius:4px;
font:12px/1.5 ui-monospace,Menlo,Consolas,monospace}
.entry .detail{margin:.3rem 0 0}
.evidence{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.4rem 0 0;
font-size:.85rem}
.evidence dt{color:var(--muted)}
.evidence dd{margin:0;overflow-wrap:anywhere;font-family:ui-monospace,Menlo,Consolas,monospace}
.entry details{margin:.35rem 0 0;font-size:.85rem}
pre.body{margin:.3rem 0 0;padding:.5rem .6rem;background:var(--bg);border:1px solid var(--line);
border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere;max-height:20rem;overflow:auto;
font:12px/1.45 ui-monospace,Menlo,Consolas,monospace}
.note{margin:0;color:var(--muted)}
)css";

const std::string& PanelPolicy() {
  // Styles only, by hash: the panel has no script, fetches nothing, and a
  // missed escape could neither load nor run anything.
  static const std::string policy =
      "default-src 'none'; style-src " + PageCspHash(LandingPageStyle()) + " " +
      PageCspHash(kPanelStyle) + "; img-src data:; base-uri 'none'; form-action 'none'";
  return policy;
}

std::string_view StateClass(std::string_view state) {
  if (state == "healthy" || state == "degraded" || state == "unhealthy") return state;
  return "pending";
}

// "2026-12-06 09:40:03 UTC" from FormatRfc3339's "2026-12-06T09:40:03.250Z".
std::string HumanTime(double unix_seconds) {
  std::string text = FormatRfc3339(unix_seconds);
  if (text.size() >= 19) {
    text[10] = ' ';
    text.replace(19, std::string::npos, " UTC");
  }
  return text;
}

std::string Milliseconds(double seconds) {
  return FormatLatency(
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)));
}

// Text from a target (a body excerpt) with control bytes other than newline
// and tab shown as \xNN, then escaped: it reads as text and cannot shape the
// page.
std::string ShowBytes(std::string_view text) {
  std::string shown;
  shown.reserve(text.size());
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      shown += hex;
    } else {
      shown += static_cast<char>(c);
    }
  }
  return HtmlEscape(shown);
}

void Fact(std::string_view label, const std::string& value, std::string& out,
          const std::string& title = "") {
  out += "<div";
  if (!title.empty()) out += " title=\"" + HtmlEscape(title) + "\"";
  out += "><dt>" + std::string(label) + "</dt><dd>" + HtmlEscape(value) + "</dd></div>";
}

void RenderSummary(const CheckStatus& status, const std::vector<std::string>& blocked_by,
                   double now, std::string& out) {
  const CheckInfo& info = *status.info;
  const std::string state = status.state ? std::string(HealthName(*status.state)) : "pending";
  std::string title = state;
  title[0] = static_cast<char>(title[0] - 'a' + 'A');
  out += "<section class=\"card summary " + state + "\" data-state=\"" + state +
         "\">\n<header><span class=\"badge\">" + title + "</span><h1>" + HtmlEscape(info.name) +
         "</h1>";
  out += info.critical ? "<span class=\"crit yes\">critical</span>"
                       : "<span class=\"crit\">non-critical</span>";
  out += "</header>\n<p class=\"target\">" + HtmlEscape(info.type) + " \xC2\xB7 " +
         HtmlEscape(info.target) + " \xC2\xB7 every " + FormatDuration(info.interval) +
         " \xC2\xB7 timeout " + FormatDuration(info.timeout) + "</p>\n";
  if (status.last && !status.last->detail.empty()) {
    out += "<p class=\"detail\">" + HtmlEscape(status.last->detail) + "</p>\n";
  } else {
    out += std::string("<p class=\"detail none\">") +
           (status.last ? "no detail" : "Waiting for the first result") + "</p>\n";
  }
  out += "<dl class=\"facts\">";
  if (!blocked_by.empty()) {
    std::string names;
    for (const auto& name : blocked_by) names += (names.empty() ? "" : ", ") + name;
    Fact("Blocked by", names, out);
  }
  if (status.last) {
    const LastResult& last = *status.last;
    if (last.reason != FailureReason::kNone) {
      Fact("Reason", std::string(FailureReasonName(last.reason)), out);
    }
    Fact("Latency", FormatLatency(last.duration) + (last.timed_out ? " (timeout)" : ""), out);
    Fact("Last run", FormatAgo(now - last.finished_at), out, FormatRfc3339(last.finished_at));
  }
  if (status.state) {
    Fact("In state", FormatTimeSpan(now - status.state_since), out,
         "since " + FormatRfc3339(status.state_since));
  }
  if (status.consecutive_failures > 0) {
    Fact("Failures", std::to_string(status.consecutive_failures) + " in a row", out);
  }
  Fact("Runs", std::to_string(status.runs), out,
       std::to_string(status.runs_by_result[0]) + " healthy, " +
           std::to_string(status.runs_by_result[1]) + " degraded, " +
           std::to_string(status.runs_by_result[2]) + " unhealthy");
  if (status.timeouts > 0) Fact("Timeouts", std::to_string(status.timeouts), out);
  if (status.last_failure_reason != FailureReason::kNone) {
    Fact("Last failure",
         std::string(FailureReasonName(status.last_failure_reason)) + ", " +
             FormatAgo(now - status.last_failure_at),
         out, FormatRfc3339(status.last_failure_at));
  }
  if (info.slo) Fact("SLO", std::to_string(*info.slo * 100).substr(0, 6) + " %", out);
  out += "</dl>\n";
  if (!info.labels.empty() || !info.depends_on.empty()) {
    out += "<p class=\"labels\">";
    for (const auto& [name, value] : info.labels) {
      out += "<span class=\"label\">" + HtmlEscape(name) + "=" + HtmlEscape(value) + "</span>";
    }
    for (const auto& name : info.depends_on) {
      out += "<a class=\"label\" href=\"/check/" + HtmlEscape(UrlPathEscape(name)) +
             "\">depends on " + HtmlEscape(name) + "</a>";
    }
    out += "</p>\n";
  }
  out += "</section>\n";
}

// The 30-day latency trend (daily p50/p95 from the HistoryView, issue 16),
// between the summary and the journal; nothing without a history.
void RenderLatencyTrend(const CheckStatus& status, const HistoryView* history, double now,
                        std::string& out) {
  if (history == nullptr) return;
  out += "<section class=\"trend\">\n<h2>Latency, last 30 days</h2>\n";
  out += RenderLatencyTrendSvg(history->ForCheck(status.info->name, 30, now), 30);
  out += "\n</section>\n";
}

void RenderEntry(const store::JournalEntry& entry, double now, std::string& out) {
  const std::string_view state = StateClass(entry.state);
  out += "<li class=\"entry " + std::string(state) + "\" data-state=\"" + std::string(state) +
         "\" data-attempt=\"" + std::to_string(entry.attempt_id) +
         "\">\n<header><time datetime=\"" + FormatRfc3339(entry.time) + "\">" +
         HumanTime(entry.time) + "</time><span class=\"ago\">" + FormatAgo(now - entry.time) +
         "</span>";
  if (!entry.previous_state.empty()) {
    out += "<span class=\"change\">" + HtmlEscape(entry.previous_state) + " \xE2\x86\x92 " +
           HtmlEscape(entry.state) + "</span>";
  } else {
    out += "<span class=\"badge\">" + HtmlEscape(entry.state) + "</span>";
  }
  if (!entry.reason.empty())
    out += "<span class=\"reason\">" + HtmlEscape(entry.reason) + "</span>";
  out += "<span>" + Milliseconds(entry.duration) + "</span><span class=\"attempt\">attempt #" +
         std::to_string(entry.attempt_id) + "</span></header>\n";
  if (!entry.detail.empty()) out += "<p class=\"detail\">" + HtmlEscape(entry.detail) + "</p>\n";
  std::string evidence;
  auto row = [&](std::string_view label, const std::string& value) {
    evidence += "<dt>" + std::string(label) + "</dt><dd>" + HtmlEscape(value) + "</dd>";
  };
  if (!entry.address.empty()) row("Address", entry.address);
  if (entry.http_status) row("HTTP status", std::to_string(*entry.http_status));
  const nlohmann::json phases =
      nlohmann::json::parse(entry.phases_json, nullptr, /*allow_exceptions=*/false);
  if (phases.is_object() && !phases.empty()) {
    std::string text;
    for (const auto& [phase, seconds] : phases.items()) {
      if (!seconds.is_number()) continue;
      text +=
          (text.empty() ? "" : " \xC2\xB7 ") + phase + " " + Milliseconds(seconds.get<double>());
    }
    row("Phases", text);
  }
  if (!evidence.empty()) out += "<dl class=\"evidence\">" + evidence + "</dl>\n";
  if (!entry.body_excerpt.empty()) {
    out += "<details><summary>Response body, first " + std::to_string(entry.body_excerpt.size()) +
           " bytes</summary><pre class=\"body\">" + ShowBytes(entry.body_excerpt) +
           "</pre></details>\n";
  }
  out += "</li>\n";
}

void RenderJournal(const CheckPanelInput& input, double now, std::string& out) {
  out +=
      "<section id=\"journal\" aria-labelledby=\"journal-title\">\n<h2 id=\"journal-title\">"
      "Failure journal <span class=\"sub\">non-healthy results and state changes, newest "
      "first";
  if (input.journal_capacity > 0) {
    out += "; the last " + std::to_string(input.journal_capacity) + " are kept";
  }
  out += "</span></h2>\n";
  if (input.journal_storage == "memory-only") {
    out +=
        "<p class=\"note\">The store is running memory-only: this journal is lost when the "
        "daemon stops.</p>\n";
  } else if (input.journal_storage == "none") {
    out += "<p class=\"note\">No store is configured: nothing is journaled.</p>\n";
  }
  if (input.journal.empty()) {
    out +=
        "<p class=\"note empty-journal\">Nothing recorded: no failure or state change since "
        "the journal began (entries appear once committed, within a second).</p>\n";
  } else {
    out += "<ol class=\"journal\">\n";
    for (const auto& entry : input.journal) RenderEntry(entry, now, out);
    out += "</ol>\n";
  }
  out += "</section>\n";
}

}  // namespace

std::string RenderCheckPanel(const BoardSnapshot& snapshot, size_t index, double now,
                             const CheckPanelInput& input) {
  const CheckStatus& status = *snapshot.checks[index];
  const std::string name = HtmlEscape(status.info->name);
  const std::vector<std::string> no_block;
  const std::vector<std::string>& blocked_by =
      index < snapshot.blocked_by.size() ? snapshot.blocked_by[index] : no_block;
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"" +
      PanelPolicy() +
      "\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"color-scheme\" content=\"light dark\">\n<title>" +
      name + " \xC2\xB7 health_exporter</title>\n<style>" + std::string(LandingPageStyle()) +
      "</style>\n<style>" + std::string(kPanelStyle) +
      "</style>\n</head>\n<body>\n<header class=\"top\">\n<div class=\"brand\">health_exporter"
      "</div>\n<nav><a href=\"/\">All checks</a> <a href=\"/status/" +
      HtmlEscape(UrlPathEscape(status.info->name)) + "\">/status/" + name +
      "</a></nav>\n</header>\n<main class=\"panel\" id=\"panel\" data-check=\"" + name + "\">\n";
  page += "<p class=\"back\"><a href=\"/\">\xE2\x86\x90 All checks</a></p>\n";
  RenderSummary(status, blocked_by, now, page);
  RenderLatencyTrend(status, input.history, now, page);
  RenderJournal(input, now, page);
  page += "<footer>Generated " + FormatRfc3339(now) + " by health_exporter " +
          HtmlEscape(build::kVersion) +
          "; reload the page to update</footer>\n</main>\n"
          "</body>\n</html>\n";
  return page;
}

}  // namespace hx
