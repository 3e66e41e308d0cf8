#pragma once
// Days of history drawn for the status pages (issue 16): the 90-day uptime
// bar and uptime percentages of a card, and the 30-day latency trend of a
// check's panel. Server-rendered inline SVG and HTML, no script, no external
// asset; styled by HistoryStyle(), which the page emits as a <style> of its
// own and allows by hash in its Content-Security-Policy. Days are UTC days
// (the store keeps UTC days; see docs/status-page.md).
//
// Pure functions of their arguments (RenderCardHistory reads the view, which
// is thread-safe): thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "status/history.h"

namespace hx {

/// The CSS for everything below, byte for byte what the page must hash.
std::string_view HistoryStyle();

/// "2026-12-05" for a day since 1970-01-01 (store/records.h DailyAggregate::
/// day), by civil-from-days arithmetic: cheaper than gmtime_r + strftime,
/// which matters at 90 cells a card and 90 days a public entry.
std::string IsoDate(int64_t day);

/// "100%", "99.98%" (two decimals, rounded down so that anything short of
/// 100 % never shows as 100 %), "–" when there is no figure.
std::string FormatUptime(std::optional<double> uptime);

/// The colour class of a day: "u-none" (no verdict that day), "u-ok"
/// (>= 99.9 %), "u-minor" (>= 99 %), "u-major" (>= 95 %), "u-bad".
std::string_view UptimeClass(const store::DailyAggregate& day);

/// One day's tooltip: date, uptime, attempts (and how many were not
/// healthy), p95 latency, longest outage; "no data" for an empty day.
std::string DayTooltip(const store::DailyAggregate& day);

/// The uptime bar (<svg class="ubar">, one cell per day of `history`, oldest
/// left, each with a <title> tooltip) followed by the uptime percentages
/// over 24 h, 7 d, 30 d and 90 d (<dl class="upct">), in one
/// <div class="uptime">.
std::string RenderUptimeBlock(const CheckHistory& history);

/// Appends RenderUptimeBlock() of `check`'s last 90 days as of `now` to
/// `out`; nothing when `history` is null (no store, tests).
void RenderCardHistory(const HistoryView* history, std::string_view check, double now,
                       std::string& out);

/// The latency trend of the last `days` days of `history` (p50 and p95 per
/// day as two lines, gaps where a day had no attempt; axes labelled with
/// latency and UTC dates; a <title> per point), as an <svg class="ltrend">.
std::string RenderLatencyTrendSvg(const CheckHistory& history, int days = 30);

}  // namespace hx
