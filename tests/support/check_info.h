#pragma once
// A CheckInfo for tests of the layers above the scheduler (status board,
// metrics, pages): an http check of team "core", 10s interval, 2s timeout.

#include <string>

#include "status/status_board.h"

namespace hx {

inline CheckInfo TestCheckInfo(std::string name, bool critical = true) {
  CheckInfo info;
  info.name = std::move(name);
  info.type = "http";
  info.target = "GET http://127.0.0.1:1/";
  info.critical = critical;
  info.labels = {{"team", "core"}};
  info.interval = std::chrono::seconds(10);
  info.timeout = std::chrono::seconds(2);
  return info;
}

}  // namespace hx
