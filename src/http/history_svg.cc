#include "http/history_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <vector>

#include "http/landing_page.h"

namespace hx {
namespace {

constexpr int kCardDays = 90;

// The cell geometry of the bar: 4 units wide, 1 apart, 24 high; the SVG
// stretches to the card's width (preserveAspectRatio none).
constexpr int kCellPitch = 5;

constexpr std::string_view kStyle = R"css(
.uptime{display:flex;flex-direction:column;gap:.2rem;container-type:inline-size}
.ubar{display:block;width:100%;height:24px}
.ubar rect{width:4px;height:24px;rx:1px}
.ubar rect:hover{opacity:.7}
.u-ok{fill:var(--ok)}.u-minor{fill:color-mix(in srgb,var(--ok) 45%,var(--warn))}
.u-major{fill:var(--warn)}.u-bad{fill:var(--bad)}.u-none{fill:var(--line)}
.uaxis{display:flex;justify-content:space-between;color:var(--muted);font-size:.68rem}
.upct{display:grid;grid-template-columns:repeat(4,auto);justify-content:space-between;
gap:.2rem .4rem;margin:0;font-size:.75rem}
@container (max-width:21rem){.upct{grid-template-columns:repeat(2,auto);justify-content:start;
column-gap:1.5rem}}
.upct div{display:flex;gap:.25rem;white-space:nowrap}.upct dt{color:var(--muted)}
.upct dd{margin:0;font-variant-numeric:tabular-nums;font-weight:600}
.ltrend{display:block;width:100%;max-width:720px;height:auto;font-size:11px}
.ltrend text{fill:var(--muted)}.ltrend .grid{stroke:var(--line);stroke-width:1}
.ltrend .axis{stroke:var(--muted);stroke-width:1}
.ltrend .p50,.ltrend .p95{fill:none;stroke-width:2;stroke-linejoin:round}
.ltrend .p50{stroke:var(--link)}.ltrend .p95{stroke:var(--warn)}
.ltrend circle.p50{fill:var(--link);stroke:none}.ltrend circle.p95{fill:var(--warn);stroke:none}
.ltrend .key.p50,.ltrend .key.p95{stroke-width:3}
)css";

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, value);
  return buffer;
}

// The civil date of a day since 1970-01-01 (proleptic Gregorian; the usual
// era arithmetic: 400-year eras of 146097 days, years starting in March so
// that the leap day is last). Cheaper than gmtime_r + strftime, which
// matters at 90 cells a card.
struct Civil {
  int64_t year;
  unsigned month, day;
};
Civil CivilFromDays(int64_t days) {
  days += 719468;  // 0000-03-01 to 1970-01-01
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;  // March = 0
  const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(year_of_era) + era * 400 + (month <= 2), month, day};
}

// Appends "2026-12-05".
void AppendIsoDate(std::string& out, int64_t day) {
  const Civil date = CivilFromDays(day);
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%04lld-%02u-%02u", static_cast<long long>(date.year),
                date.month, date.day);
  out += buffer;
}

// "Dec 5".
std::string ShortDate(int64_t day) {
  const std::time_t t = static_cast<std::time_t>(day * 86400);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[16];
  std::strftime(buffer, sizeof(buffer), "%b %e", &tm);
  std::string out = buffer;
  out.erase(
      std::unique(out.begin(), out.end(), [](char a, char b) { return a == ' ' && b == ' '; }),
      out.end());
  return out;
}

// "45s", "12m 5s", "3h 2m".
std::string Span(double seconds) {
  const auto total = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  const int64_t hours = total / 3600, minutes = total % 3600 / 60, secs = total % 60;
  if (hours > 0) return std::to_string(hours) + "h " + std::to_string(minutes) + "m";
  if (minutes > 0) return std::to_string(minutes) + "m " + std::to_string(secs) + "s";
  return std::to_string(secs) + "s";
}

std::string Latency(double seconds) {
  return FormatLatency(
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)));
}

std::optional<double> DayUptime(const store::DailyAggregate& day) {
  const double with_verdict = day.seconds_healthy + day.seconds_degraded + day.seconds_unhealthy;
  if (with_verdict <= 0) return std::nullopt;
  return (day.seconds_healthy + day.seconds_degraded) / with_verdict;
}

// A "nice" step for about four intervals up to `value`: 1, 2 or 5 times a
// power of ten, so that every tick label is a round number.
double NiceStep(double value) {
  if (!(value > 0)) return 0.25;
  const double rough = value / 4;
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  for (double step : {1.0, 2.0, 5.0}) {
    if (step * power >= rough) return step * power;
  }
  return 10 * power;
}

// Tick label for milliseconds: "0", "0.5", "12", "1500".
std::string MsLabel(double ms) {
  if (ms == 0) return "0";
  if (ms < 1) return Format("%.2g", ms);
  if (ms < 10) return Format("%.3g", ms);
  return Format("%.0f", ms);
}

// The tooltip of one day. Only digits, dates and fixed words: nothing to
// escape, so the bar's 90 cells a card are appended without a copy each.
void AppendDayTooltip(std::string& out, const store::DailyAggregate& day) {
  AppendIsoDate(out, day.day);
  const auto uptime = DayUptime(day);
  if (day.attempts == 0 && !uptime) {
    out += ": no data";
    return;
  }
  out += " \xC2\xB7 uptime ";
  out += FormatUptime(uptime);
  out += " \xC2\xB7 ";
  out += std::to_string(day.attempts);
  out += day.attempts == 1 ? " attempt" : " attempts";
  const int64_t failed = day.results_degraded + day.results_unhealthy;
  if (failed > 0) {
    out += " (";
    out += std::to_string(failed);
    out += " not healthy)";
  }
  if (day.latency_p95) {
    out += " \xC2\xB7 p95 ";
    out += Latency(*day.latency_p95);
  }
  if (day.longest_outage > 0) {
    out += " \xC2\xB7 longest outage ";
    out += Span(day.longest_outage);
  }
}

}  // namespace

std::string IsoDate(int64_t day) {
  std::string out;
  AppendIsoDate(out, day);
  return out;
}

std::string_view HistoryStyle() { return kStyle; }

std::string FormatUptime(std::optional<double> uptime) {
  if (!uptime) return "\xE2\x80\x93";
  if (*uptime >= 1) return "100%";
  // Rounded down: 99.999 % is shown as 99.99 %, never as 100 %.
  const double hundredths = std::floor(std::max(0.0, *uptime) * 10000) / 100;
  return Format("%.2f", hundredths) + "%";
}

std::string_view UptimeClass(const store::DailyAggregate& day) {
  const auto uptime = DayUptime(day);
  if (!uptime) return "u-none";
  if (*uptime >= 0.999) return "u-ok";
  if (*uptime >= 0.99) return "u-minor";
  if (*uptime >= 0.95) return "u-major";
  return "u-bad";
}

std::string DayTooltip(const store::DailyAggregate& day) {
  std::string tip;
  AppendDayTooltip(tip, day);
  return tip;
}

std::string RenderUptimeBlock(const CheckHistory& history) {
  const size_t n = history.days.size();
  std::string out;
  out.reserve(200 + n * 110);
  out += "<div class=\"uptime\">";
  out += "<svg class=\"ubar\" viewBox=\"0 0 " +
         std::to_string(std::max<size_t>(n, 1) * kCellPitch - 1) +
         " 24\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"Uptime per UTC day, last " +
         std::to_string(n) + " days: " + HtmlEscape(FormatUptime(history.uptime_90d)) + "\">";
  for (size_t i = 0; i < n; ++i) {
    const auto& day = history.days[i];
    out += "<rect x=\"";
    out += std::to_string(i * kCellPitch);
    out += "\" class=\"";
    out += UptimeClass(day);
    out += "\"><title>";
    AppendDayTooltip(out, day);
    out += "</title></rect>";
  }
  out += "</svg><div class=\"uaxis\"><span>" + std::to_string(n) +
         " days ago</span><span>today (UTC)</span></div>";
  out += "<dl class=\"upct\">";
  const std::pair<const char*, const std::optional<double>*> windows[] = {
      {"24 h", &history.uptime_24h},
      {"7 d", &history.uptime_7d},
      {"30 d", &history.uptime_30d},
      {"90 d", &history.uptime_90d}};
  for (const auto& [label, value] : windows) {
    out += "<div><dt>" + std::string(label) + "</dt><dd>" + FormatUptime(*value) + "</dd></div>";
  }
  out += "</dl></div>";
  return out;
}

void RenderCardHistory(const HistoryView* history, std::string_view check, double now,
                       std::string& out) {
  if (history == nullptr) return;
  out += RenderUptimeBlock(history->ForCheck(check, kCardDays, now));
  out += "\n";
}

std::string RenderLatencyTrendSvg(const CheckHistory& history, int days) {
  days = std::max(days, 2);
  const size_t n = history.days.size();
  const size_t first = n - std::min(n, static_cast<size_t>(days));
  std::vector<const store::DailyAggregate*> shown;
  for (size_t i = first; i < n; ++i) shown.push_back(&history.days[i]);

  constexpr double kWidth = 640, kHeight = 220;
  constexpr double kLeft = 52, kRight = 24, kTop = 24, kBottom = 40;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;

  double max_ms = 0;
  for (const auto* day : shown) {
    if (day->latency_p95) max_ms = std::max(max_ms, *day->latency_p95 * 1000);
    if (day->latency_p50) max_ms = std::max(max_ms, *day->latency_p50 * 1000);
  }
  const double step_ms = NiceStep(max_ms);
  const int steps = std::max(1, static_cast<int>(std::ceil(max_ms / step_ms - 1e-9)));
  const double top_ms = step_ms * steps;
  const double slots = std::max<double>(static_cast<double>(days) - 1, 1);
  // Days are placed from the right: the last shown day is today.
  auto x_of = [&](size_t i) {
    const double from_end = static_cast<double>(shown.size() - 1 - i);
    return kLeft + plot_w * (slots - from_end) / slots;
  };
  auto y_of = [&](double ms) { return kTop + plot_h * (1 - ms / top_ms); };

  std::string out;
  out += "<svg class=\"ltrend\" viewBox=\"0 0 " + Format("%.0f", kWidth) + " " +
         Format("%.0f", kHeight) +
         "\" role=\"img\" aria-label=\"Latency p50 and p95 per UTC day, last " +
         std::to_string(days) + " days\">";
  // Horizontal grid lines with their labels, at round numbers.
  for (int step = 0; step <= steps; ++step) {
    const double ms = step_ms * step;
    const double y = y_of(ms);
    out += "<line class=\"" + std::string(step == 0 ? "axis" : "grid") + "\" x1=\"" +
           Format("%.1f", kLeft) + "\" x2=\"" + Format("%.1f", kWidth - kRight) + "\" y1=\"" +
           Format("%.1f", y) + "\" y2=\"" + Format("%.1f", y) + "\"/>";
    out += "<text x=\"" + Format("%.1f", kLeft - 6) + "\" y=\"" + Format("%.1f", y + 4) +
           "\" text-anchor=\"end\">" + MsLabel(ms) + "</text>";
  }
  out += "<line class=\"axis\" x1=\"" + Format("%.1f", kLeft) + "\" x2=\"" + Format("%.1f", kLeft) +
         "\" y1=\"" + Format("%.1f", kTop) + "\" y2=\"" + Format("%.1f", kTop + plot_h) + "\"/>";
  out += "<text x=\"12\" y=\"" + Format("%.1f", kTop + plot_h / 2) +
         "\" text-anchor=\"middle\" transform=\"rotate(-90 12 " +
         Format("%.1f", kTop + plot_h / 2) + ")\">latency (ms)</text>";
  // Date labels: about five, the last one today.
  if (!shown.empty()) {
    const size_t every = std::max<size_t>(1, (static_cast<size_t>(days) + 4) / 5);
    for (size_t i = shown.size(); i-- > 0;) {
      if ((shown.size() - 1 - i) % every != 0) continue;
      const double x = x_of(i);
      out += "<line class=\"axis\" x1=\"" + Format("%.1f", x) + "\" x2=\"" + Format("%.1f", x) +
             "\" y1=\"" + Format("%.1f", kTop + plot_h) + "\" y2=\"" +
             Format("%.1f", kTop + plot_h + 4) + "\"/><text x=\"" + Format("%.1f", x) + "\" y=\"" +
             Format("%.1f", kTop + plot_h + 16) + "\" text-anchor=\"middle\">" +
             HtmlEscape(ShortDate(shown[i]->day)) + "</text>";
    }
  }
  out += "<text x=\"" + Format("%.1f", kLeft + plot_w / 2) + "\" y=\"" +
         Format("%.1f", kHeight - 4) + "\" text-anchor=\"middle\">day (UTC)</text>";

  bool any = false;
  for (const auto& [cls, pick] :
       {std::pair<const char*, std::optional<double> store::DailyAggregate::*>{
            "p95", &store::DailyAggregate::latency_p95},
        {"p50", &store::DailyAggregate::latency_p50}}) {
    std::string path;
    bool pen_down = false;
    for (size_t i = 0; i < shown.size(); ++i) {
      const auto& value = shown[i]->*pick;
      if (!value || shown[i]->attempts == 0) {
        pen_down = false;  // a day without attempts is a gap, not a zero
        continue;
      }
      path += (pen_down ? "L" : "M") + Format("%.1f", x_of(i)) + " " +
              Format("%.1f", y_of(*value * 1000));
      pen_down = true;
    }
    if (!path.empty()) {
      any = true;
      out += "<path class=\"" + std::string(cls) + "\" d=\"" + path + "\"/>";
    }
  }
  // One point per day with its figures (the lines alone hide single days).
  for (size_t i = 0; i < shown.size(); ++i) {
    const auto& day = *shown[i];
    if (day.attempts == 0 || !day.latency_p50 || !day.latency_p95) continue;
    std::string tip = IsoDate(day.day) + ": p50 " + Latency(*day.latency_p50) + ", p95 " +
                      Latency(*day.latency_p95);
    if (day.latency_p99) tip += ", p99 " + Latency(*day.latency_p99);
    tip += ", " + std::to_string(day.attempts) + " attempts";
    for (const auto& [cls, value] :
         {std::pair<const char*, double>{"p95", *day.latency_p95}, {"p50", *day.latency_p50}}) {
      out += "<circle class=\"" + std::string(cls) + "\" cx=\"" + Format("%.1f", x_of(i)) +
             "\" cy=\"" + Format("%.1f", y_of(value * 1000)) + "\" r=\"2.5\"><title>" +
             HtmlEscape(tip) + "</title></circle>";
    }
  }
  if (!any) {
    out += "<text x=\"" + Format("%.1f", kLeft + plot_w / 2) + "\" y=\"" +
           Format("%.1f", kTop + plot_h / 2) +
           "\" text-anchor=\"middle\">no attempts in the last " + std::to_string(days) +
           " days</text>";
  }
  // Legend, top right.
  const double lx = kWidth - kRight - 120;
  out += "<line class=\"key p50\" x1=\"" + Format("%.1f", lx) + "\" x2=\"" +
         Format("%.1f", lx + 14) + "\" y1=\"8\" y2=\"8\"/><text x=\"" + Format("%.1f", lx + 18) +
         "\" y=\"12\">p50</text>";
  out += "<line class=\"key p95\" x1=\"" + Format("%.1f", lx + 56) + "\" x2=\"" +
         Format("%.1f", lx + 70) + "\" y1=\"8\" y2=\"8\"/><text x=\"" + Format("%.1f", lx + 74) +
         "\" y=\"12\">p95</text>";
  out += "</svg>";
  return out;
}

}  // namespace hx
