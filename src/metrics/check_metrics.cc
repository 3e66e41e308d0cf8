#include "metrics/check_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "build_info.h"
#include "exposition/openmetrics_writer.h"
#include "exposition/protobuf_writer.h"
#include "exposition/registry_bridge.h"
#include "exposition/text_writer.h"
#include "metrics/check_exposition.h"
#include "metrics/metric_names.h"

namespace hx {

using prometheus::Family;
using prometheus::Histogram;

namespace {

const char* CompilerName() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

template <typename T>
Family<T>& Build(prometheus::detail::Builder<T> builder, const metric::MetricName& name,
                 prometheus::Registry& registry) {
  return builder.Name(name.name).Help(name.help).Register(registry);
}

}  // namespace

CheckMetrics::CheckMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      lateness_(Build(prometheus::BuildHistogram(), metric::kSchedulerLateness, *registry_)
                    .Add({}, Histogram::BucketBoundaries(std::begin(metric::kLatenessBuckets),
                                                         std::end(metric::kLatenessBuckets)))),
      config_last_reload_successful_(
          Build(prometheus::BuildGauge(), metric::kConfigLastReloadSuccessful, *registry_).Add({})),
      config_last_reload_success_timestamp_(
          Build(prometheus::BuildGauge(), metric::kConfigLastReloadSuccessTimestamp, *registry_)
              .Add({})),
      config_reloads_success_(Build(prometheus::BuildCounter(), metric::kConfigReloads, *registry_)
                                  .Add({{"result", "success"}})),
      config_reloads_failure_(Build(prometheus::BuildCounter(), metric::kConfigReloads, *registry_)
                                  .Add({{"result", "failure"}})),
      config_info_(Build(prometheus::BuildGauge(), metric::kConfigInfo, *registry_)) {
  Build(prometheus::BuildGauge(), metric::kBuildInfo, *registry_)
      .Add({{"version", build::kVersion},
            {"revision", build::kRevision},
            {"compiler", CompilerName()}})
      .Set(1);
}

CheckMetrics::~CheckMetrics() = default;

void CheckMetrics::ObserveLateness(Duration lateness) { lateness_.Observe(ToSeconds(lateness)); }

void CheckMetrics::RecordConfigLoad(bool reload, bool success, double timestamp,
                                    const std::string& config_hash) {
  if (reload) (success ? config_reloads_success_ : config_reloads_failure_).Increment();
  config_last_reload_successful_.Set(success ? 1 : 0);
  if (!success) return;
  config_last_reload_success_timestamp_.Set(timestamp);
  // Add before Remove: a scrape between the two sees both hashes for an
  // instant rather than none.
  prometheus::Gauge* previous = config_info_series_;
  config_info_series_ = &config_info_.Add({{"hash", config_hash}});
  config_info_series_->Set(1);
  if (previous != nullptr && previous != config_info_series_) config_info_.Remove(previous);
}

void CheckMetrics::Write(const BoardSnapshot& snapshot, metrics::ExpositionWriter& writer) const {
  metrics::WriteCheckFamilies(snapshot, writer);
  std::vector<prometheus::MetricFamily> own = registry_->Collect();
  std::vector<prometheus::MetricFamily> process = process_collector_.Collect();
  own.insert(own.end(), std::make_move_iterator(process.begin()),
             std::make_move_iterator(process.end()));
  metrics::SerializeRegistry(own, writer);
  writer.Finish();
}

}  // namespace hx

namespace hx {

std::string CheckMetrics::Render(const BoardSnapshot& snapshot,
                                 metrics::ExpositionFormat format) const {
  std::atomic<size_t>& last_size = last_size_[static_cast<size_t>(format) % last_size_.size()];
  const size_t reserve = last_size.load(std::memory_order_relaxed);
  std::string body;
  switch (format) {
    case metrics::ExpositionFormat::kOpenMetrics100:
    case metrics::ExpositionFormat::kOpenMetrics001: {
      metrics::OpenMetricsWriter writer(reserve, /*created_lines=*/false);
      Write(snapshot, writer);
      body = std::move(writer.output());
      break;
    }
    case metrics::ExpositionFormat::kProtobufDelimited: {
      metrics::ProtobufWriter writer({.classic_buckets = classic_in_protobuf_.load()});
      writer.output().reserve(reserve);
      Write(snapshot, writer);
      body = std::move(writer.output());
      break;
    }
    case metrics::ExpositionFormat::kText004:
    default: {
      metrics::TextWriter writer(reserve);
      Write(snapshot, writer);
      body = std::move(writer.output());
      break;
    }
  }
  last_size.store(body.size(), std::memory_order_relaxed);
  return body;
}

}  // namespace hx
