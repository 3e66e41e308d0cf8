#pragma once
// Reading a running daemon's /status in end-to-end tests.

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

}  // namespace hx
