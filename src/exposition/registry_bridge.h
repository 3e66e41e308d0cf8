#pragma once
// The daemon's own metrics (process_*, build info, config reloads, scheduler
// lateness) stay in prometheus-cpp registries, which are good at them; this
// walks what their Collect() returns into an ExpositionWriter so that every
// format carries those families too.

#include <prometheus/metric_family.h>

#include <vector>

#include "exposition/exposition.h"

namespace hx::metrics {

/// Writes `families` (prometheus-cpp's Registry::Collect() output) to
/// `writer`, in order: counters, gauges, untyped (as MetricType::kUnknown)
/// and histograms (their +Inf bucket becomes the writer's own). Families with
/// no metrics are left out, as the writers' contract requires. Summaries are
/// left out too: the contract has no summary, and the daemon defines none.
/// The unit (for OpenMetrics' # UNIT) is read off the name's suffix:
/// "_seconds" or "_bytes" (before "_total" for counters). Timestamps on
/// prometheus-cpp samples are not carried (the daemon sets none).
///
/// Thread-safety: a free function over its arguments; `writer` is the
/// caller's, one per scrape.
void SerializeRegistry(const std::vector<prometheus::MetricFamily>& families,
                       ExpositionWriter& writer);

}  // namespace hx::metrics
