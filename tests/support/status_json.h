#pragma once
// Reading a running daemon's /status and /metrics in end-to-end tests.

#include <nlohmann/json.hpp>

#include <string>

#include "support/daemon_process.h"

namespace hx {

/// GET /status, parsed.
inline nlohmann::json StatusOf(const DaemonProcess& d) {
  return nlohmann::json::parse(HttpRequest(d.Url("/status")).body);
}

/// The entry of check `name` in a parsed /status, or nullptr.
inline const nlohmann::json* FindCheck(const nlohmann::json& status, const std::string& name) {
  for (const auto& c : status["checks"]) {
    if (c["name"] == name) return &c;
  }
  return nullptr;
}

/// Runs of check `name` in /status, or -1 when it is not there.
inline int RunsOf(const DaemonProcess& d, const std::string& name) {
  const nlohmann::json status = StatusOf(d);
  const nlohmann::json* check = FindCheck(status, name);
  return check == nullptr ? -1 : (*check)["runs"].get<int>();
}

/// The value of one series (name and labels as written) in /metrics text,
/// or -1 when absent.
inline double MetricValue(const std::string& metrics, const std::string& series) {
  const std::string prefix = series + " ";
  size_t at = 0;
  while ((at = metrics.find(prefix, at)) != std::string::npos) {
    if (at == 0 || metrics[at - 1] == '\n') return std::stod(metrics.substr(at + prefix.size()));
    at += prefix.size();
  }
  return -1;
}

/// The value of one series in a fresh GET /metrics, or -1 when absent.
inline double Metric(const DaemonProcess& d, const std::string& series) {
  return MetricValue(HttpRequest(d.Url("/metrics")).body, series);
}

}  // namespace hx
