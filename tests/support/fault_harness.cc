#include "support/fault_harness.h"

#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

namespace hx {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

void SleepFor(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

// "1s", "500ms", "2m" -> milliseconds (only what the fleet's options use).
std::chrono::milliseconds ParseSimpleDuration(const std::string& text) {
  if (text.ends_with("ms")) return std::chrono::milliseconds(std::stoll(text));
  if (text.ends_with("s")) return std::chrono::seconds(std::stoll(text));
  if (text.ends_with("m")) return std::chrono::minutes(std::stoll(text));
  throw std::invalid_argument("unsupported duration " + text);
}

std::string TwoDigits(int i) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%02d", i);
  return buf;
}

// {le -> cumulative count} of a histogram, +Inf as 1e9.
std::map<double, double> Buckets(const MetricsText& metrics, const std::string& name) {
  std::map<double, double> buckets;
  for (const auto& s : metrics.series()) {
    if (s.name != name + "_bucket") continue;
    auto le = s.labels.find("le");
    if (le == s.labels.end()) continue;
    buckets[le->second == "+Inf" ? 1e9 : std::stod(le->second)] = s.value;
  }
  return buckets;
}

}  // namespace

// --- MetricsText --------------------------------------------------------------

MetricsText::MetricsText(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Series s;
    size_t pos = line.find_first_of("{ ");
    if (pos == std::string::npos) continue;
    s.name = line.substr(0, pos);
    if (line[pos] == '{') {
      const size_t end = line.find('}', pos);
      if (end == std::string::npos) continue;
      // name="value",name="value"
      static const std::regex kLabel(R"re(([A-Za-z_][A-Za-z0-9_]*)="([^"]*)")re");
      const std::string body = line.substr(pos + 1, end - pos - 1);
      for (std::sregex_iterator it(body.begin(), body.end(), kLabel), last; it != last; ++it) {
        s.labels[(*it)[1]] = (*it)[2];
      }
      pos = end + 1;
    }
    try {
      const std::string value = line.substr(pos + 1);
      s.value = value == "+Inf" ? INFINITY : std::stod(value);
    } catch (const std::exception&) {
      continue;
    }
    series_.push_back(std::move(s));
  }
}

MetricsText MetricsText::Scrape(const DaemonProcess& daemon) {
  return MetricsText(HttpRequest(daemon.Url("/metrics")).body);
}

double MetricsText::Get(const std::string& name, const Labels& labels, double fallback) const {
  for (const Series& s : series_) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [key, value] : labels) {
      auto it = s.labels.find(key);
      if (it == s.labels.end() || it->second != value) {
        all = false;
        break;
      }
    }
    if (all) return s.value;
  }
  return fallback;
}

Lateness ReadLateness(const MetricsText& metrics) {
  static const std::string kName = "health_exporter_scheduler_lateness_seconds";
  Lateness l;
  l.count = metrics.Get(kName + "_count", {}, 0);
  l.sum_seconds = metrics.Get(kName + "_sum", {}, 0);
  bool have_max = false;
  bool have_p99 = false;
  for (const auto& [le, cumulative] : Buckets(metrics, kName)) {
    if (!have_p99 && cumulative >= 0.99 * l.count) {
      l.p99_bound_seconds = le;
      have_p99 = true;
    }
    if (!have_max && cumulative >= l.count) {
      l.max_bound_seconds = le;
      have_max = true;
    }
  }
  return l;
}

Usage SampleUsage(const DaemonProcess& daemon, int samples) {
  Usage usage{1e18, 1e18};
  for (int i = 0; i < samples; ++i) {
    if (i > 0) SleepFor(100ms);
    MetricsText m = MetricsText::Scrape(daemon);
    usage.open_fds = std::min(usage.open_fds, m.Get("process_open_fds", {}, 1e18));
    usage.rss_bytes = std::min(usage.rss_bytes, m.Get("process_resident_memory_bytes", {}, 1e18));
  }
  return usage;
}

// --- HealthyFleet -------------------------------------------------------------

HealthyFleet::HealthyFleet(Options options)
    : options_(std::move(options)), interval_(ParseSimpleDuration(options_.interval)) {
  for (int i = 0; i < options_.http; ++i) names_.push_back("healthy-http-" + TwoDigits(i));
  for (int i = 0; i < options_.tcp; ++i) names_.push_back("healthy-tcp-" + TwoDigits(i));
  for (int i = 0; i < options_.disk; ++i) names_.push_back("healthy-disk-" + TwoDigits(i));
}

std::string HealthyFleet::Yaml() const {
  std::string yaml;
  for (const std::string& name : names_) {
    yaml += "  - name: " + name + "\n    interval: " + options_.interval +
            "\n    timeout: " + options_.timeout + "\n";
    if (name.starts_with("healthy-http-")) {
      yaml += "    http: {url: '" + http_.Url("/status/200") + "'}\n";
    } else if (name.starts_with("healthy-tcp-")) {
      yaml += "    tcp: {address: '" + tcp_.address() + "', expect: '^220'}\n";
    } else {
      // Limits far above any real usage: the fleet must stay healthy.
      yaml += "    disk: {path: /, degraded_above: 99.9%, unhealthy_above: 100%}\n";
    }
  }
  return yaml;
}

HealthyFleet::Sample HealthyFleet::Take(const DaemonProcess& daemon) const {
  Sample s;
  s.at = std::chrono::steady_clock::now();
  MetricsText m = MetricsText::Scrape(daemon);
  for (const std::string& name : names_) {
    double runs = 0;
    for (const char* health : {"healthy", "degraded", "unhealthy"}) {
      const double n = m.Get("health_check_runs_total", {{"check", name}, {"status", health}}, 0);
      runs += n;
      if (std::string(health) == "unhealthy") s.unhealthy[name] = n;
      if (std::string(health) == "degraded") s.degraded[name] = n;
    }
    s.runs[name] = runs;
    s.skipped[name] = m.Get("health_check_skipped_runs_total", {{"check", name}}, 0);
  }
  json status = json::parse(HttpRequest(daemon.Url("/status")).body, nullptr, false);
  if (!status.is_discarded()) {
    for (const json& c : status["checks"]) {
      for (const json& h : c["history"]) {
        if (h["health"] == "healthy") continue;
        s.bad_history[c["name"].get<std::string>()] += h.dump() + " ";
      }
    }
  }
  return s;
}

namespace {
std::string BadHistory(const HealthyFleet::Sample& sample, const std::string& name) {
  auto it = sample.bad_history.find(name);
  return it == sample.bad_history.end() ? std::string() : it->second;
}
}  // namespace

double HealthyFleet::ExpectKeptSchedule(const Sample& before, const Sample& after,
                                        double tolerance) const {
  const double elapsed = std::chrono::duration<double>(after.at - before.at).count();
  const double expected = elapsed / std::chrono::duration<double>(interval_).count();
  double worst = 0;
  int off_schedule = 0;
  for (const std::string& name : names_) {
    const double ran = after.runs.at(name) - before.runs.at(name);
    worst = std::max(worst, std::abs(ran - expected));
    if (std::abs(ran - expected) > tolerance) ++off_schedule;
    EXPECT_NEAR(ran, expected, tolerance) << name << " over " << elapsed << " s";
    EXPECT_EQ(after.skipped.at(name), 0) << name << " skipped runs";
    EXPECT_EQ(after.unhealthy.at(name), 0)
        << name << " had unhealthy results: " << BadHistory(after, name);
    EXPECT_EQ(after.degraded.at(name), 0)
        << name << " had degraded results: " << BadHistory(after, name);
  }
  std::cout << "FLEET| " << names_.size() << " healthy checks, " << elapsed << " s, expected "
            << expected << " runs each, largest deviation " << worst << " runs, " << off_schedule
            << " off schedule\n";
  return worst;
}

// --- Faults -------------------------------------------------------------------

json CheckJson(const DaemonProcess& daemon, const std::string& name) {
  HttpReply reply = HttpRequest(daemon.Url("/status"));
  if (reply.status != 200) return nullptr;
  json status = json::parse(reply.body, nullptr, false);
  if (status.is_discarded()) return nullptr;
  for (const json& c : status["checks"]) {
    if (c["name"] == name) return c;
  }
  return nullptr;
}

bool WaitForAllRuns(const DaemonProcess& daemon, int runs, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    HttpReply reply = HttpRequest(daemon.Url("/status"));
    json status = json::parse(reply.body, nullptr, false);
    if (reply.status == 200 && !status.is_discarded()) {
      bool all = true;
      for (const json& c : status["checks"]) all = all && c["runs"].get<int>() >= runs;
      if (all) return true;
    }
    SleepFor(50ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

bool WaitForMoreRuns(const DaemonProcess& daemon, const std::string& name, int runs,
                     std::chrono::milliseconds timeout) {
  json c = CheckJson(daemon, name);
  const int target = (c.is_null() ? 0 : c["runs"].get<int>()) + runs;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    c = CheckJson(daemon, name);
    if (!c.is_null() && c["runs"].get<int>() >= target) return true;
    SleepFor(50ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

FaultMeasurement ExpectFault(const DaemonProcess& daemon, const FaultExpectation& e,
                             std::chrono::milliseconds margin) {
  const std::regex detail_re(e.detail_regex);
  FaultMeasurement m;
  json check;
  const auto deadline = std::chrono::steady_clock::now() + e.wait;
  while (!m.matched && std::chrono::steady_clock::now() < deadline) {
    check = CheckJson(daemon, e.check);
    const json& history = check.is_null() ? json::array() : check["history"];
    if (history.size() >= static_cast<size_t>(e.results)) {
      m.matched = true;
      m.max_duration_ms = 0;
      for (size_t i = history.size() - e.results; i < history.size(); ++i) {
        const json& h = history[i];
        const std::string detail = h["detail"].get<std::string>();
        const std::string reason = h["reason"].is_string() ? h["reason"].get<std::string>() : "";
        if (h["health"] != e.health || !std::regex_match(detail, detail_re) ||
            (!e.reason.empty() && reason != e.reason)) {
          m.matched = false;
          break;
        }
        m.max_duration_ms = std::max(m.max_duration_ms, h["duration_ms"].get<double>());
        m.detail = detail;
      }
    }
    if (!m.matched) SleepFor(100ms);
  }
  EXPECT_TRUE(m.matched) << e.check << ": no " << e.results << " results of health " << e.health
                         << " with detail matching /" << e.detail_regex << "/"
                         << (e.reason.empty() ? "" : " and reason " + e.reason) << " within "
                         << e.wait.count() << " ms; last status: "
                         << (check.is_null() ? std::string("none") : check.dump());
  if (!m.matched) return m;
  m.state = check["state"].get<std::string>();
  EXPECT_EQ(m.state, e.health) << e.check;
  m.margin_ms = m.max_duration_ms - static_cast<double>(e.timeout.count());
  EXPECT_LE(m.max_duration_ms, static_cast<double>((e.timeout + margin).count()))
      << e.check << ": an attempt ran past its timeout + " << margin.count() << " ms";
  std::cout << "FAULT| " << e.check << " | " << m.state << " | " << m.detail << " | "
            << m.max_duration_ms << " ms | timeout " << e.timeout.count() << " ms | margin "
            << m.margin_ms << " ms" << (e.reason.empty() ? "" : " | reason " + e.reason) << "\n";
  return m;
}

void ExpectUsageBackToBaseline(const DaemonProcess& daemon, const Usage& baseline, double fd_slack,
                               double rss_slack_bytes, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  Usage now = SampleUsage(daemon);
  while (now.open_fds > baseline.open_fds + fd_slack &&
         std::chrono::steady_clock::now() < deadline) {
    SleepFor(200ms);
    now = SampleUsage(daemon);
  }
  std::cout << "USAGE| open fds " << baseline.open_fds << " -> " << now.open_fds << ", RSS "
            << baseline.rss_bytes / 1048576 << " MiB -> " << now.rss_bytes / 1048576 << " MiB\n";
  EXPECT_LE(now.open_fds, baseline.open_fds + fd_slack) << "fds did not return to baseline";
  EXPECT_LE(now.rss_bytes, baseline.rss_bytes + rss_slack_bytes) << "RSS grew";
}

void ExpectLatenessBounded(const DaemonProcess& daemon, double bound_seconds) {
  Lateness l = ReadLateness(MetricsText::Scrape(daemon));
  std::cout << "LATENESS| " << l.count << " attempts, mean "
            << (l.count > 0 ? 1000 * l.sum_seconds / l.count : 0)
            << " ms, p99 <= " << 1000 * l.p99_bound_seconds
            << " ms, max <= " << 1000 * l.max_bound_seconds << " ms\n";
  EXPECT_GT(l.count, 0);
  EXPECT_LE(l.max_bound_seconds, bound_seconds) << "an attempt started later than the bound";
}

}  // namespace hx
