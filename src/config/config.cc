#include "config/config.h"

#include <re2/re2.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <queue>
#include <tuple>
#include <unordered_map>

#include "util/file_reader.h"
#include "util/quote.h"
#include "util/sha256.h"

namespace hx {
namespace {

using config::ConfigError;
using config::MapReader;
using config::Mark;
using config::MarkOf;
using config::ParseContext;

// Below this the loop would spend its time on timers, and it is almost
// certainly a typo ("10" meant as seconds is already rejected by the syntax).
constexpr Duration kMinInterval = std::chrono::milliseconds(10);
constexpr int kMaxThreshold = 100;

// Label names the exporter itself sets, or Prometheus assigns on scrape.
constexpr std::array<std::string_view, 8> kReservedLabels = {
    "check", "type", "critical", "phase", "status", "le", "job", "instance"};

constexpr std::array<std::string_view, 11> kCheckCommonKeys = {"name",
                                                               "interval",
                                                               "timeout",
                                                               "critical",
                                                               "degraded_latency",
                                                               "failure_threshold",
                                                               "success_threshold",
                                                               "labels",
                                                               "depends_on",
                                                               "unhealthy_interval",
                                                               "slo"};

bool IsCheckNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool IsLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

// A config value in a message: the one quoting helper (util/quote.h), whole.
std::string QuoteValue(std::string_view text) { return QuoteEscaped(text, text.size()); }

/// What a node is, for "expected X, got Y" messages.
std::string Describe(const YAML::Node& node) {
  if (node.IsScalar()) {
    const std::string& text = node.Scalar();
    return QuoteValue(text.size() > 60 ? text.substr(0, 60) + "..." : text);
  }
  if (node.IsSequence()) return "a sequence";
  if (node.IsMap()) return "a mapping";
  return "null";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// Reads `redact:`, a list of RE2 patterns (not ${VAR}-expanded: "$" is an
// anchor). Each pattern is checked on its own, so that every bad one is
// reported at its place.
void ReadRedact(MapReader& reader, GlobalConfig& global) {
  std::optional<YAML::Node> node = reader.Node("redact");
  if (!node) return;
  const std::string path = reader.PathOf("redact");
  ParseContext& ctx = reader.context();
  if (!node->IsSequence()) {
    ctx.Error(node->IsNull() ? reader.node() : *node, path,
              "expected a list of regular expressions, got " + Describe(*node));
    return;
  }
  std::vector<std::shared_ptr<const re2::RE2>> patterns;
  size_t index = 0;
  for (auto it = node->begin(); it != node->end(); ++it, ++index) {
    const YAML::Node& item = *it;
    const std::string item_path = path + "[" + std::to_string(index) + "]";
    if (!item.IsScalar() || item.Scalar().empty()) {
      ctx.Error(item.IsNull() ? *node : item, item_path,
                "expected a regular expression, got " + Describe(item));
      continue;
    }
    re2::RE2::Options options;
    options.set_log_errors(false);  // the error goes into the config message instead
    auto re = std::make_shared<const re2::RE2>(item.Scalar(), options);
    if (std::string problem = RedactPatternProblem(*re); !problem.empty()) {
      ctx.Error(item, item_path, problem);
      continue;
    }
    patterns.push_back(std::move(re));
  }
  if (!patterns.empty()) global.redactor = std::make_shared<const Redactor>(std::move(patterns));
}

// Reads the `global:` mapping into `global`, keeping defaults for what is absent.
void ReadGlobal(MapReader& reader, GlobalConfig& global) {
  if (auto interval = reader.Duration("interval")) {
    if (*interval < kMinInterval) {
      reader.Error("interval", "must be at least " + FormatDuration(kMinInterval));
    } else {
      global.interval = *interval;
    }
  }
  if (auto timeout = reader.Duration("timeout")) {
    if (*timeout <= Duration::zero()) {
      reader.Error("timeout", "must be greater than 0s");
    } else {
      global.timeout = *timeout;
    }
  }
  if (auto slower = reader.Duration("unhealthy_interval")) {
    if (*slower < global.interval) {
      reader.Error("unhealthy_interval", "must not be shorter than the interval (" +
                                             FormatDuration(global.interval) + ")");
    } else {
      global.unhealthy_interval = *slower;
    }
  }
  if (auto degraded = reader.Duration("degraded_latency")) {
    if (*degraded <= Duration::zero()) {
      reader.Error("degraded_latency", "must be greater than 0s");
    } else if (*degraded >= global.timeout) {
      reader.Error("degraded_latency",
                   "must be less than the timeout (" + FormatDuration(global.timeout) + ")");
    } else {
      global.degraded_latency = *degraded;
    }
  }
  // Any duration: 0 runs every first run at once, one longer than every
  // interval spreads first runs over whole intervals (the cap is per check).
  if (auto spread = reader.Duration("startup_spread")) global.startup_spread = *spread;
  if (auto buckets = reader.Node("duration_buckets")) {
    const std::string path = reader.PathOf("duration_buckets");
    ParseContext& ctx = reader.context();
    if (!buckets->IsSequence() || buckets->size() == 0) {
      ctx.Error(buckets->IsNull() ? reader.node() : *buckets, path,
                "expected a non-empty list of ascending bucket bounds in seconds");
    } else {
      std::vector<double> bounds;
      bool ok = true;
      size_t index = 0;
      for (auto it = buckets->begin(); it != buckets->end(); ++it, ++index) {
        const YAML::Node& item = *it;
        const std::string item_path = path + "[" + std::to_string(index) + "]";
        double value = 0;
        bool parsed = false;
        if (item.IsScalar()) {
          const std::string& text = item.Scalar();
          auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
          parsed = !text.empty() && ec == std::errc() && ptr == text.data() + text.size() &&
                   std::isfinite(value);
        }
        if (!parsed) {
          ctx.Error(item.IsNull() ? *buckets : item, item_path,
                    "expected a number of seconds, got " + Describe(item));
          ok = false;
        } else if (value <= 0) {
          ctx.Error(item, item_path, "must be greater than 0");
          ok = false;
        } else if (!bounds.empty() && value <= bounds.back()) {
          ctx.Error(item, item_path, "must be greater than the previous bound");
          ok = false;
        }
        if (parsed) bounds.push_back(value);
      }
      if (ok) global.duration_buckets = std::move(bounds);
    }
  }
  if (std::optional<MapReader> native = reader.Map("native_histograms")) {
    NativeHistogramSettings settings = global.native_histograms;
    if (auto factor = native->Number("bucket_factor")) {
      if (*factor <= 1) {
        native->Error("bucket_factor", "must be greater than 1");
      } else {
        settings.bucket_factor = *factor;
      }
    }
    // The upper bound only keeps a typo from making a series megabytes long.
    if (auto max = native->Int("max_buckets", 1, 100000)) {
      settings.max_buckets = static_cast<uint32_t>(*max);
    }
    if (auto threshold = native->Number("zero_threshold")) {
      if (*threshold < 0) {
        native->Error("zero_threshold", "must not be negative");
      } else {
        settings.zero_threshold = *threshold;
      }
    }
    if (native->Finish()) global.native_histograms = settings;
  }
  if (auto keep = reader.Bool("duration_buckets_in_protobuf")) {
    global.duration_buckets_in_protobuf = *keep;
  }
  if (auto entries = reader.Int("journal_entries", 1, 10000)) {
    global.journal_entries = static_cast<int>(*entries);
  }
  if (auto days = reader.Int("history_days", 1, 3660)) {
    global.history_days = static_cast<int>(*days);
  }
  ReadRedact(reader, global);
  reader.Finish();
}

// Reads `labels:`; returns them sorted by name.
std::vector<std::pair<std::string, std::string>> ReadLabels(MapReader& check) {
  std::vector<std::pair<std::string, std::string>> labels;
  std::optional<MapReader> reader = check.Map("labels");
  if (!reader) return labels;
  std::map<std::string, std::string> sorted;
  // A bad name is reported at the name, not at its value.
  auto name_error = [&](const std::string& name, const std::string& message) {
    for (auto it = reader->node().begin(); it != reader->node().end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == name) {
        reader->context().Error(it->first, reader->PathOf(name), message);
        return;
      }
    }
  };
  for (const std::string& name : reader->Keys()) {
    std::optional<std::string> value = reader->String(name);
    if (!IsLabelName(name)) {
      name_error(name,
                 "invalid label name " + QuoteValue(name) + ": must match [a-zA-Z_][a-zA-Z0-9_]*");
    } else if (name.starts_with("__")) {
      name_error(name, "label name " + QuoteValue(name) +
                           " is reserved: names starting with \"__\" are Prometheus' own");
    } else if (std::find(kReservedLabels.begin(), kReservedLabels.end(), name) !=
               kReservedLabels.end()) {
      name_error(name, "label name " + QuoteValue(name) +
                           " is reserved: it is set by the exporter" +
                           (name == "job" || name == "instance" ? " or by Prometheus" : ""));
    } else if (value) {
      sorted.emplace(name, std::move(*value));
    }
  }
  reader->Finish();
  labels.assign(sorted.begin(), sorted.end());
  return labels;
}

// One name in a check's `depends_on`, with where it was written: names can
// only be resolved once every check has been read.
struct DependencyRef {
  std::string name;
  std::string file;
  Mark mark;
  std::string path;  // e.g. "checks[0].depends_on[1]"
};

// The `depends_on` of one entry of `checks:`.
struct CheckDependencies {
  // The entry's name; empty when it had no valid name or repeated an earlier
  // one (then the entry is not a node of the graph).
  std::string check;
  std::vector<DependencyRef> refs;
};

// Optimal string alignment distance (a swap of neighbours costs 1), for
// "did you mean" hints on check names.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// Reads `depends_on:`, a check name or a list of them, into `out`. Names are
// identifiers, so they are not ${VAR}-expanded; whether they exist is decided
// by CheckDependencyGraph once every check has been read.
void ReadDependsOn(MapReader& reader, CheckDependencies& out) {
  std::optional<YAML::Node> node = reader.Node("depends_on");
  if (!node) return;
  const std::string path = reader.PathOf("depends_on");
  ParseContext& ctx = reader.context();
  if (node->IsScalar()) {
    out.refs.push_back({node->Scalar(), ctx.file(), MarkOf(*node), path});
    return;
  }
  if (!node->IsSequence()) {
    reader.Error("depends_on", "expected a list of check names, got " + Describe(*node));
    return;
  }
  size_t index = 0;
  for (auto it = node->begin(); it != node->end(); ++it, ++index) {
    const YAML::Node& item = *it;
    const std::string item_path = path + "[" + std::to_string(index) + "]";
    if (!item.IsScalar()) {
      // A null item ("- ") has no position of its own; point at the list.
      ctx.Error(item.IsNull() ? *node : item, item_path,
                "expected a check name, got " + Describe(item));
      continue;
    }
    out.refs.push_back({item.Scalar(), ctx.file(), MarkOf(item), item_path});
  }
}

// The closest check name to `name` for a hint, or nullptr; ties go to the
// alphabetically first (names are iterated sorted).
// Where a check name was defined, for "duplicate check name" messages.
struct NameSite {
  std::string file;
  int line = 0;
};
using NameSites = std::map<std::string, NameSite>;

const std::string* ClosestName(const std::string& name, const std::string& exclude,
                               const std::map<std::string, NameSite>& names) {
  const std::string* best = nullptr;
  size_t best_distance = 3;  // as for unknown keys: more edits is a different word
  for (const auto& [candidate, site] : names) {
    if (candidate == exclude) continue;
    const size_t distance = EditDistance(name, candidate);
    if (distance < best_distance && distance < candidate.size()) {
      best = &candidate;
      best_distance = distance;
    }
  }
  return best;
}

// Checks every `depends_on` against the names of all checks: unknown names,
// a check naming itself, a name listed twice, and cycles. Each cycle is
// reported once per group of checks that depend on each other in a circle
// (a strongly connected component): the shortest cycle through the group's
// first check in file order, at that check's `depends_on` item that starts
// it. Runs in O(checks + dependencies), apart from the hints for unknown names.
void CheckDependencyGraph(const std::vector<CheckDependencies>& entries,
                          const NameSites& name_lines, ParseContext& ctx) {
  const size_t n = entries.size();
  std::unordered_map<std::string_view, size_t> node_of;
  node_of.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!entries[i].check.empty()) node_of.emplace(entries[i].check, i);
  }

  // edges[i]: (dependency's entry, index of the ref in entries[i].refs).
  std::vector<std::vector<std::pair<size_t, size_t>>> edges(n);
  for (size_t i = 0; i < n; ++i) {
    const CheckDependencies& entry = entries[i];
    std::unordered_map<std::string_view, size_t> first_listed;
    for (size_t r = 0; r < entry.refs.size(); ++r) {
      const DependencyRef& ref = entry.refs[r];
      if (!entry.check.empty() && ref.name == entry.check) {
        ctx.Error(ref.file, ref.mark, ref.path, "a check cannot depend on itself");
        continue;
      }
      if (auto [first, inserted] = first_listed.emplace(ref.name, r); !inserted) {
        const std::string& first_path = entry.refs[first->second].path;
        ctx.Error(ref.file, ref.mark, ref.path,
                  "duplicate dependency " + QuoteValue(ref.name) + " (first listed at " +
                      first_path.substr(first_path.rfind('.') + 1) + ")");
        continue;
      }
      auto target = node_of.find(ref.name);
      if (target == node_of.end()) {
        std::string message = "unknown check " + QuoteValue(ref.name);
        if (const std::string* hint = ClosestName(ref.name, entry.check, name_lines)) {
          message += " (did you mean " + QuoteValue(*hint) + "?)";
        }
        ctx.Error(ref.file, ref.mark, ref.path, std::move(message));
        continue;
      }
      if (!entry.check.empty()) edges[i].emplace_back(target->second, r);
    }
  }

  // Tarjan's strongly connected components, iterative: 10,000 checks in a
  // chain would overflow the stack of a recursive version.
  constexpr size_t kUnvisited = static_cast<size_t>(-1);
  std::vector<size_t> order(n, kUnvisited);
  std::vector<size_t> low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<size_t> stack;
  std::vector<size_t> component(n, kUnvisited);
  std::vector<std::vector<size_t>> components;
  size_t counter = 0;
  for (size_t root = 0; root < n; ++root) {
    if (order[root] != kUnvisited) continue;
    std::vector<std::pair<size_t, size_t>> frames = {{root, 0}};  // (node, next edge)
    order[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack[root] = true;
    while (!frames.empty()) {
      auto& [v, next] = frames.back();
      if (next < edges[v].size()) {
        const size_t w = edges[v][next++].first;
        if (order[w] == kUnvisited) {
          order[w] = low[w] = counter++;
          stack.push_back(w);
          on_stack[w] = true;
          frames.emplace_back(w, 0);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], order[w]);
        }
        continue;
      }
      const size_t done = v;
      frames.pop_back();
      if (!frames.empty()) low[frames.back().first] = std::min(low[frames.back().first], low[done]);
      if (low[done] != order[done]) continue;
      std::vector<size_t> members;
      size_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component[w] = components.size();
        members.push_back(w);
      } while (w != done);
      components.push_back(std::move(members));
    }
  }

  for (const std::vector<size_t>& members : components) {
    if (members.size() < 2) continue;  // self-dependencies were reported above
    const size_t first = *std::min_element(members.begin(), members.end());
    const size_t group = component[first];
    // Breadth-first from `first` inside the group, following each check's
    // depends_on in file order, until an edge leads back to `first`.
    std::vector<size_t> parent(n, kUnvisited);
    std::queue<size_t> queue;
    queue.push(first);
    size_t last = kUnvisited;
    while (!queue.empty() && last == kUnvisited) {
      const size_t v = queue.front();
      queue.pop();
      for (const auto& [w, ref] : edges[v]) {
        if (component[w] != group) continue;
        if (w == first) {
          last = v;
          break;
        }
        if (parent[w] == kUnvisited) {
          parent[w] = v;
          queue.push(w);
        }
      }
    }
    std::vector<size_t> path = {first};  // first, then back to the start
    for (size_t v = last; v != first; v = parent[v]) path.push_back(v);
    std::reverse(path.begin() + 1, path.end());
    std::string message = "dependency cycle:";
    for (size_t v : path) message += " " + entries[v].check + " ->";
    message += " " + entries[first].check;
    // Reported at the item of `first` that leads into the cycle.
    const size_t next = path.size() > 1 ? path[1] : first;
    for (const auto& [w, ref] : edges[first]) {
      if (w == next) {
        const DependencyRef& at = entries[first].refs[ref];
        ctx.Error(at.file, at.mark, at.path, std::move(message));
        break;
      }
    }
  }
}

// Feeds a node's structure, tags and scalars to `digest`, unambiguously
// (lengths before text). Cheaper than hashing YAML::Dump(), which was a
// third of the load time of a large config.
void HashNode(const YAML::Node& node, Sha256& digest) {
  auto piece = [&](char kind, std::string_view text) {
    const std::string head = kind + std::to_string(text.size()) + ":";
    digest.Update(head);
    digest.Update(text);
  };
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      piece('t', node.Tag());
      piece('s', node.Scalar());
      return;
    case YAML::NodeType::Sequence:
      piece('[', "");
      for (auto it = node.begin(); it != node.end(); ++it) HashNode(*it, digest);
      piece(']', "");
      return;
    case YAML::NodeType::Map:
      piece('{', "");
      for (auto it = node.begin(); it != node.end(); ++it) {
        HashNode(it->first, digest);
        HashNode(it->second, digest);
      }
      piece('}', "");
      return;
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      piece('~', "");
      return;
  }
}

// See CheckConfig::fingerprint. The entry's YAML as written (${VAR}
// references, not their values: the environment does not change under a
// running process) plus what it inherited and the secret files' digests.
std::string Fingerprint(const YAML::Node& node, const CheckConfig& check,
                        const GlobalConfig& global, const std::string& external_inputs) {
  Sha256 digest;
  HashNode(node, digest);
  auto add = [&](std::string_view piece) {
    digest.Update(std::string_view("\0", 1));
    digest.Update(piece);
  };
  auto add_duration = [&](std::optional<Duration> d) {
    add(d ? std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(*d).count()) : "-");
  };
  add_duration(check.interval);
  add_duration(check.timeout);
  add_duration(check.degraded_latency);
  add_duration(check.unhealthy_interval);
  for (double bound : global.duration_buckets) add(std::to_string(bound));
  // A histogram cannot change its native bucketing and keep its counts.
  char native[128];
  std::snprintf(native, sizeof native, "%a %u %a", global.native_histograms.bucket_factor,
                global.native_histograms.max_buckets, global.native_histograms.zero_threshold);
  add(native);
  add(external_inputs);
  return digest.FinishHex();
}

// Reads one entry of `checks:`. Returns nullopt when it had errors.
// `name_lines` maps each check name seen so far to the line it was defined on.
// Its `depends_on` goes to `dependencies` even when the entry has errors, so
// that other checks naming it are judged against its real dependencies.
std::optional<CheckConfig> ReadCheck(const YAML::Node& node, size_t index,
                                     const GlobalConfig& global, const CheckTypeRegistry& types,
                                     NameSites& name_lines, CheckDependencies& dependencies,
                                     ParseContext& ctx) {
  const std::string path = "checks[" + std::to_string(index) + "]";
  MapReader reader(node, path, ctx);
  if (!reader.valid()) return std::nullopt;
  const size_t errors_before = ctx.errors().size();
  const size_t expansions_before = ctx.expansions().size();
  ctx.TakeExternalInputs();  // only this entry's secret files count

  CheckConfig check;
  check.file = ctx.file();
  check.mark = MarkOf(node);
  if (reader.Require("name")) {
    // Not expanded: a name is an identifier in metrics, not a place for secrets.
    if (auto name = reader.String("name", /*expand_env=*/false)) {
      if (name->empty() || !std::all_of(name->begin(), name->end(), IsCheckNameChar)) {
        reader.Error("name", "invalid check name " + QuoteValue(*name) +
                                 ": use letters, digits, \"_\", \".\" and \"-\"");
      } else if (name->find_first_not_of('.') == std::string::npos) {
        // "." and ".." would be path segments in /heartbeat/<name>.
        reader.Error("name", "invalid check name " + QuoteValue(*name) +
                                 ": it needs at least one letter, digit, \"_\" or \"-\"");
      } else if (auto [first, inserted] = name_lines.emplace(
                     *name, NameSite{ctx.file(), MarkOf(*reader.Node("name")).line});
                 !inserted) {
        const NameSite& site = first->second;
        reader.Error("name", "duplicate check name " + QuoteValue(*name) + " (first defined at " +
                                 (site.file == ctx.file() ? "line " : site.file + ":") +
                                 std::to_string(site.line) + ")");
      } else {
        check.name = *name;
        dependencies.check = *name;
      }
    }
  }

  check.interval = global.interval;
  if (auto interval = reader.Duration("interval")) {
    if (*interval < kMinInterval) {
      reader.Error("interval", "must be at least " + FormatDuration(kMinInterval));
    } else {
      check.interval = *interval;
    }
  }

  // An explicit timeout longer than the interval is a mistake; the global
  // default is merely clamped, so a short-interval check need not repeat it.
  check.timeout = std::min(global.timeout, check.interval);
  if (auto timeout = reader.Duration("timeout")) {
    if (*timeout <= Duration::zero()) {
      reader.Error("timeout", "must be greater than 0s");
    } else if (*timeout > check.interval) {
      reader.Error("timeout",
                   "must not be longer than the interval (" + FormatDuration(check.interval) + ")");
    } else {
      check.timeout = *timeout;
    }
  }

  // An inherited slower rate that would be faster than this check's own
  // interval makes no sense for it and is dropped, like an inherited timeout
  // is clamped; an explicit one is a mistake.
  if (global.unhealthy_interval && *global.unhealthy_interval >= check.interval) {
    check.unhealthy_interval = global.unhealthy_interval;
  }
  if (auto slower = reader.Duration("unhealthy_interval")) {
    if (*slower < check.interval) {
      reader.Error("unhealthy_interval", "must not be shorter than the interval (" +
                                             FormatDuration(check.interval) + ")");
    } else {
      check.unhealthy_interval = *slower;
    }
  }

  if (auto critical = reader.Bool("critical")) check.critical = *critical;

  // An inherited degraded_latency the check's own timeout can never reach
  // would silently never fire; it does not apply to that check.
  if (global.degraded_latency && *global.degraded_latency < check.timeout) {
    check.degraded_latency = global.degraded_latency;
  }
  if (auto degraded = reader.Duration("degraded_latency")) {
    if (*degraded <= Duration::zero()) {
      reader.Error("degraded_latency", "must be greater than 0s");
    } else if (*degraded >= check.timeout) {
      reader.Error("degraded_latency",
                   "must be less than the timeout (" + FormatDuration(check.timeout) + ")");
    } else {
      check.degraded_latency = *degraded;
    }
  }

  if (auto n = reader.Int("failure_threshold", 1, kMaxThreshold)) {
    check.failure_threshold = static_cast<int>(*n);
  }
  if (auto n = reader.Int("success_threshold", 1, kMaxThreshold)) {
    check.success_threshold = static_cast<int>(*n);
  }
  check.labels = ReadLabels(reader);

  if (auto slo = reader.Percent("slo")) {
    // 100% would leave no error budget to burn, 0% no objective at all.
    if (*slo <= 0 || *slo >= 1) {
      reader.Error("slo", "must be greater than 0% and less than 100%");
    } else {
      check.slo = *slo;
    }
  }

  ReadDependsOn(reader, dependencies);
  for (const DependencyRef& ref : dependencies.refs) check.depends_on.push_back(ref.name);

  // The handler key: any remaining key that names a registered type.
  std::vector<std::string> handlers;
  for (const std::string& key : reader.Keys()) {
    if (std::find(kCheckCommonKeys.begin(), kCheckCommonKeys.end(), key) !=
        kCheckCommonKeys.end()) {
      continue;
    }
    if (types.Find(key) != nullptr) handlers.push_back(key);
  }
  // Every type name counts as known, so that a misspelt type ("htp") gets a hint.
  for (const std::string& type : types.Names()) reader.Accept(type);
  if (handlers.empty()) {
    reader.Error("missing check type: expected exactly one of " + JoinNames(types.Names()));
  } else if (handlers.size() > 1) {
    reader.Error("more than one check type (" + JoinNames(handlers) + "): expected exactly one");
  } else {
    check.type = handlers.front();
    // Counted before the handler's reader exists: its constructor may report
    // errors (repeated keys), after which the parser returns nothing.
    const size_t before_handler = ctx.errors().size();
    if (std::optional<MapReader> handler = reader.Map(check.type)) {
      ctx.set_check_timeout(check.timeout);
      try {
        check.spec = types.Find(check.type)->parse(*handler);
      } catch (const std::exception& e) {
        // A parser bug must not take the daemon down with a bad config.
        handler->Error(std::string("internal error in the ") + check.type + " parser: " + e.what());
      }
      ctx.set_check_timeout(std::nullopt);
      if (!check.spec && ctx.errors().size() == before_handler) {
        handler->Error("the " + check.type + " check type rejected this configuration");
      }
    }
  }
  reader.Finish();

  if (ctx.errors().size() != errors_before) return std::nullopt;
  check.fingerprint = Fingerprint(node, check, global, ctx.TakeExternalInputs());
  check.expansions.assign(ctx.expansions().begin() + expansions_before, ctx.expansions().end());
  return check;
}

// `status_page:`, from at most one file of a config, read once every check
// is known (its entries name checks in any file).
template <typename Documents>
void ReadStatusPageOnce(const Documents& documents, std::vector<std::optional<MapReader>>& tops,
                        const NameSites& name_lines, ParseContext& ctx, Config& config) {
  const bool checks_complete = ctx.ok();
  std::vector<std::string> names;
  for (const auto& [name, site] : name_lines) names.push_back(name);
  auto closest = [&](const std::string& name) -> std::optional<std::string> {
    const std::string* hint = ClosestName(name, "", name_lines);
    return hint ? std::optional<std::string>(*hint) : std::nullopt;
  };
  std::optional<NameSite> site;
  for (size_t d = 0; d < documents.size(); ++d) {
    if (!tops[d]) continue;
    ctx.set_file(documents[d].file);
    std::optional<YAML::Node> node = tops[d]->Node("status_page");
    if (!node || node->IsNull()) continue;
    if (site) {
      tops[d]->Error("status_page", "already set in " + site->file + ":" +
                                        std::to_string(site->line) +
                                        "; only one file of a config directory may set it");
      continue;
    }
    site = NameSite{documents[d].file, MarkOf(*node).line};
    config.status_page =
        config::ReadStatusPage(*node, config.checks, names, closest, checks_complete, ctx);
  }
}

// One file of a config.
struct Source {
  std::string file;
  std::string text;
};

// Reads the files of one config into `config`. A single file must have
// `checks:`; the files of a directory (`directory` true) are drop-ins that
// may leave it out, as long as the merged config has a check.
void ReadSources(const std::vector<Source>& sources, bool directory, const CheckTypeRegistry& types,
                 ParseContext& ctx, Config& config) {
  struct Document {
    std::string file;
    YAML::Node root;
  };
  std::vector<Document> documents;
  for (const Source& source : sources) {
    ctx.set_file(source.file);
    try {
      const config::DocumentScan scan = config::ScanDocuments(source.text);
      if (scan.stuck_at) {
        ctx.Error(*scan.stuck_at, "", "invalid YAML: unexpected character");
        continue;
      }
      // LoadAll only once the scan showed that it ends.
      std::vector<YAML::Node> nodes = YAML::LoadAll(source.text);
      if (nodes.size() > 1) {
        ctx.Error(nodes[1], "", "expected one YAML document, found " + std::to_string(nodes.size()));
        continue;
      }
      YAML::Node root = nodes.empty() ? YAML::Node() : nodes.front();
      if (!root.IsDefined() || root.IsNull()) {
        // An empty drop-in (everything commented out) is harmless.
        if (!directory) {
          ctx.Error(Mark{1, 1}, "", "the config is empty: expected a mapping with a \"checks\" list");
        }
        continue;
      }
      documents.push_back({source.file, root});  // a Node is a handle: copying is cheap
    } catch (const YAML::Exception& e) {
      // Syntax errors: yaml-cpp's marks are 0-based, null when it has none.
      const Mark at = e.mark.is_null() ? Mark{} : Mark{e.mark.line + 1, e.mark.column + 1};
      ctx.Error(at, "", e.msg);
    }
  }

  // Every file's top level stays open until its unknown keys are reported.
  std::vector<std::optional<MapReader>> tops;
  for (const Document& document : documents) {
    ctx.set_file(document.file);
    MapReader top(document.root, "", ctx);
    tops.push_back(top.valid() ? std::optional<MapReader>(top) : std::nullopt);
  }

  // `global:` first: it gives the defaults of checks in every file.
  std::optional<NameSite> global_site;
  for (size_t d = 0; d < documents.size(); ++d) {
    if (!tops[d]) continue;
    ctx.set_file(documents[d].file);
    std::optional<YAML::Node> global = tops[d]->Node("global");
    if (!global) continue;
    if (global_site) {
      tops[d]->Error("global", "already set in " + global_site->file + ":" +
                                   std::to_string(global_site->line) +
                                   "; only one file of a config directory may set it");
      continue;
    }
    global_site = NameSite{documents[d].file, MarkOf(*global).line};
    // An empty `global:` (every default commented out) is harmless.
    if (!global->IsNull()) {
      MapReader reader(*global, "global", ctx);
      if (reader.valid()) ReadGlobal(reader, config.global);
    }
  }

  NameSites name_lines;
  std::vector<CheckDependencies> dependencies;
  for (size_t d = 0; d < documents.size(); ++d) {
    if (!tops[d]) continue;
    MapReader& top = *tops[d];
    ctx.set_file(documents[d].file);
    std::optional<YAML::Node> checks_node = top.Node("checks");
    if (!checks_node) {
      if (!directory) top.Require("checks");
      continue;
    }
    const YAML::Node& checks = *checks_node;
    if (directory && checks.IsNull()) continue;
    if (!checks.IsSequence()) {
      top.Error("checks", "expected a list of checks, got " + Describe(checks));
      continue;
    }
    if (checks.size() == 0 && !directory) {
      top.Error("checks", "at least one check is required");
      continue;
    }
    size_t index = 0;
    for (auto it = checks.begin(); it != checks.end(); ++it, ++index) {
      const YAML::Node& entry = *it;
      if (entry.IsNull()) {
        // A bare "-": yaml-cpp marks it at the next token, often the next
        // entry, so point at the list and let the path say which item.
        ctx.Error(checks, "checks[" + std::to_string(index) + "]", "expected a mapping, got null");
        continue;
      }
      dependencies.emplace_back();
      std::optional<CheckConfig> check =
          ReadCheck(entry, index, config.global, types, name_lines, dependencies.back(), ctx);
      if (check) config.checks.push_back(std::move(*check));
    }
  }
  ReadStatusPageOnce(documents, tops, name_lines, ctx, config);
  for (size_t d = 0; d < documents.size(); ++d) {
    if (!tops[d]) continue;
    ctx.set_file(documents[d].file);
    tops[d]->Finish();
  }
  CheckDependencyGraph(dependencies, name_lines, ctx);
}

LoadResult Load(const std::vector<Source>& sources, bool directory, const std::string& source,
                const CheckTypeRegistry& types, config::EnvLookup env) {
  ParseContext ctx(source, std::move(env));
  Config config;
  config.source = source;
  Sha256 hash;
  for (const Source& file : sources) {
    config.files.push_back(file.file);
    // Names relative to the directory: moving it keeps the hash.
    const std::string name =
        directory ? file.file.substr(file.file.find_last_of('/') + 1) : std::string();
    hash.Update(name);
    hash.Update(std::string_view("\0", 1));
    hash.Update(file.text);
    hash.Update(std::string_view("\0", 1));
  }
  config.hash = hash.FinishHex();
  try {
    ReadSources(sources, directory, types, ctx, config);
    if (directory && ctx.ok() && config.checks.empty()) {
      ctx.Error(source, Mark{}, "",
                sources.empty() ? "no *.yml or *.yaml files in the config directory"
                                : "no checks in any of the " + std::to_string(sources.size()) +
                                      (sources.size() == 1 ? " file" : " files"));
    }
  } catch (const std::exception& e) {
    ctx.Error(Mark{}, "", std::string("internal error while reading the config: ") + e.what());
  }

  LoadResult result;
  result.errors = ctx.errors();
  // Errors are found section by section (unknown keys last); users read them
  // file by file, top to bottom.
  std::unordered_map<std::string_view, size_t> file_order;
  for (size_t i = 0; i < config.files.size(); ++i) file_order.emplace(config.files[i], i + 1);
  auto order_of = [&](const ConfigError& e) {
    auto it = file_order.find(e.file);
    return it == file_order.end() ? size_t{0} : it->second;
  };
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [&](const ConfigError& a, const ConfigError& b) {
                     return std::tuple(order_of(a), a.mark.line, a.mark.column) <
                            std::tuple(order_of(b), b.mark.line, b.mark.column);
                   });
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

bool IsConfigFileName(const std::string& name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return name[0] != '.' && (ends_with(".yml") || ends_with(".yaml"));
}

}  // namespace

LoadResult LoadConfigString(const std::string& yaml, const std::string& file,
                            const CheckTypeRegistry& types, config::EnvLookup env) {
  return Load({Source{file, yaml}}, /*directory=*/false, file, types, std::move(env));
}

LoadResult LoadConfigFile(const std::string& path, const CheckTypeRegistry& types,
                          config::EnvLookup env) {
  auto fail = [](const std::string& file, const std::string& message) {
    LoadResult result;
    result.errors.push_back({file, Mark{}, "", message});
    return result;
  };
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return fail(path, std::string("cannot read config file: ") + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    std::string error;
    std::optional<std::string> text = ReadBoundedFile(path, kMaxConfigFileBytes, &error);
    if (!text) return fail(path, "cannot read config file: " + error);
    return Load({Source{path, std::move(*text)}}, /*directory=*/false, path, types, std::move(env));
  }

  const std::string dir = path.back() == '/' ? path : path + "/";
  std::vector<std::string> names;
  // A drop-in symlink whose target is gone would drop its checks without a
  // word (and with them, e.g., heartbeat state): an error, like an
  // unreadable file.
  LoadResult dangling;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    if (!IsConfigFileName(name)) continue;
    // Follows symlinks, as ..d/ drop-ins use. A symlink whose target is gone
    // is an error of its own; anything else named *.yml (a FIFO, a directory)
    // is read below and refused with a clear error rather than skipped.
    std::error_code type_ec;
    if (entry.is_symlink(type_ec) && stat((dir + name).c_str(), &st) != 0 && errno == ENOENT) {
      std::error_code link_ec;
      const std::string target = std::filesystem::read_symlink(entry.path(), link_ec).string();
      dangling.errors.push_back(
          {dir + name, Mark{}, "", "dangling symlink to " + QuoteValue(target)});
      continue;
    }
    names.push_back(name);
  }
  if (ec) return fail(path, "cannot read config directory: " + ec.message());
  if (!dangling.errors.empty()) {
    std::sort(dangling.errors.begin(), dangling.errors.end(),
              [](const ConfigError& a, const ConfigError& b) { return a.file < b.file; });
    return dangling;
  }
  std::sort(names.begin(), names.end());
  std::vector<Source> sources;
  // The limit holds for the files together, so that many files cannot add
  // up to what one may not be.
  size_t budget = kMaxConfigFileBytes;
  for (const std::string& name : names) {
    std::string error;
    std::optional<std::string> text = ReadBoundedFile(dir + name, kMaxConfigFileBytes, &error);
    if (!text) return fail(dir + name, "cannot read config file: " + error);
    if (text->size() > budget) {
      return fail(dir + name,
                  "cannot read config file: the files of the config directory are larger than " +
                      FormatByteLimit(kMaxConfigFileBytes) + " together");
    }
    budget -= text->size();
    sources.push_back({dir + name, std::move(*text)});
  }
  return Load(sources, /*directory=*/true, path, types, std::move(env));
}

}  // namespace hx
