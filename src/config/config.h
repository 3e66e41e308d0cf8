#pragma once
// The validated daemon config. Built once per load by LoadConfig*, then
// immutable and safe to share between threads.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/check_type.h"
#include "config/parse_context.h"
#include "config/status_page_config.h"
#include "util/duration.h"
#include "util/redactor.h"

namespace hx {

/// Default of `global.startup_spread`.
inline constexpr Duration kDefaultStartupSpread = std::chrono::seconds(10);

/// `global.native_histograms`: how health_check_duration_seconds' native
/// (exponential) buckets are made, in the style of client_golang. The same
/// fields as metrics::NativeHistogramOptions (src/exposition/), which the
/// store builds from it: the config does not depend on the formats module.
struct NativeHistogramSettings {
  /// Largest ratio between a bucket's upper and lower bound, > 1; picks the
  /// schema (1.1 -> schema 3, buckets 9 % wide).
  double bucket_factor = 1.1;
  /// Most populated buckets per series, >= 1; past it the resolution halves.
  uint32_t max_buckets = 160;
  /// Observations at or below this many seconds count in the zero bucket.
  double zero_threshold = 2.938735877055719e-39;  // 2^-128, as client_golang

  bool operator==(const NativeHistogramSettings&) const = default;
};

/// Defaults for every check (`global:`).
struct GlobalConfig {
  Duration interval = std::chrono::seconds(30);
  Duration timeout = std::chrono::seconds(5);
  std::optional<Duration> degraded_latency;
  /// Probe rate while a check's state is unhealthy; nullopt = no backoff.
  /// Not shorter than `interval`.
  std::optional<Duration> unhealthy_interval;
  /// Every check's first run after start (or after a reload adds it) is
  /// within this window, never later than its interval; 0 = all at once.
  /// Not a check default: changing it restarts no check.
  Duration startup_spread = kDefaultStartupSpread;
  /// Upper bounds of health_check_duration_seconds buckets, ascending.
  std::vector<double> duration_buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                          0.5,   1,    2.5,   5,    10};
  NativeHistogramSettings native_histograms;
  /// Whether protobuf scrapes, which carry the native buckets, carry the
  /// duration_buckets (classic buckets) too. Text formats always do: they
  /// cannot carry native ones. Not a check default: changing it restarts
  /// no check.
  bool duration_buckets_in_protobuf = true;
  /// Failure-journal entries kept per check (non-healthy results and state
  /// changes; docs/failure-journal.md). Read at start-up: the store is
  /// opened once, so a reload that changes it takes effect on restart.
  int journal_entries = 50;
  /// Days of daily history kept per check (docs/status-page.md). Read at
  /// start-up, like journal_entries.
  int history_days = 90;
  /// `redact`: what is masked in the failure journal's details and body
  /// excerpts (and the debug run's trace) before it is kept or shown; null
  /// when no pattern is configured. Takes effect on reload.
  std::shared_ptr<const Redactor> redactor;
};

/// One entry of `checks:`, with the global defaults applied.
struct CheckConfig {
  std::string name;  ///< unique, [A-Za-z0-9_.-]+
  std::string type;  ///< handler key, e.g. "http"
  Duration interval{};
  Duration timeout{};
  bool critical = true;
  std::optional<Duration> degraded_latency;
  int failure_threshold = 1;
  int success_threshold = 1;
  /// Static labels, sorted by name; names are valid Prometheus label names
  /// and not reserved (check, type, critical, phase, status, le).
  std::vector<std::pair<std::string, std::string>> labels;
  /// Names of the checks this one needs (`depends_on`), in file order. Every
  /// name is another check of the same Config, none twice, and the graph of
  /// all checks' dependencies has no cycle.
  std::vector<std::string> depends_on;
  /// While the state (after thresholds) is unhealthy, runs are this far
  /// apart instead of `interval`; nullopt = no backoff. Never shorter than
  /// `interval` when set (an inherited global value that would be is
  /// dropped).
  std::optional<Duration> unhealthy_interval;
  /// Availability objective as a fraction in (0, 1), e.g. 0.999 for 99.9%.
  std::optional<double> slo;
  std::shared_ptr<const CheckSpec> spec;
  /// The ${VAR} expansions of this entry's values: what the spec and its
  /// checks hold is expanded, so their target and result details are shown
  /// through config::AsWritten() with these (WithWrittenText()).
  std::vector<config::Expansion> expansions;
  std::string file;   ///< the file the entry is in
  config::Mark mark;  ///< where the entry starts, for messages
  /// Equal for two loads exactly when the check would behave the same: a
  /// digest of its YAML entry, the defaults it inherited, the duration
  /// buckets and the content of the secret files it read. A reload keeps a
  /// check whose fingerprint is unchanged. Reveals nothing about secrets.
  std::string fingerprint;
};

struct Config {
  std::string source;              ///< the file or directory it was read from
  std::vector<std::string> files;  ///< the files read, in order
  /// SHA-256 of the files' names and bytes, in hex: tells which config a
  /// running instance has (health_exporter_config_info).
  std::string hash;
  GlobalConfig global;
  std::vector<CheckConfig> checks;
  /// `status_page:` (config/status_page_config.h).
  StatusPageConfig status_page;
};

/// Either a config or every error found.
struct LoadResult {
  std::optional<Config> config;
  std::vector<config::ConfigError> errors;
};

/// Reads and validates a config file, or every `*.yml` and `*.yaml` file of
/// a directory in name order (hidden files skipped), merged: at most one
/// file may have `global:`, check names are unique across files and
/// `depends_on` may name checks in other files.
LoadResult LoadConfigFile(const std::string& path, const CheckTypeRegistry& types,
                          config::EnvLookup env = config::ProcessEnvironment());

/// Same, from text; `file` is used in messages.
LoadResult LoadConfigString(const std::string& yaml, const std::string& file,
                            const CheckTypeRegistry& types,
                            config::EnvLookup env = config::ProcessEnvironment());

}  // namespace hx
