#pragma once
// Tells systemd (Type=notify) what the daemon is doing: READY=1 once the config
// is loaded and the listener is up, RELOADING=1 / READY=1 around reloads,
// STOPPING=1 on the way out, and WATCHDOG=1 from the event loop so a wedged
// loop gets the service restarted. Every call is a no-op when the daemon was
// not started by systemd (no NOTIFY_SOCKET). Thread-safe (sd_notify is).

#include <optional>
#include <string>

#include "util/duration.h"

namespace hx {

class SystemdNotifier {
 public:
  SystemdNotifier();

  bool enabled() const { return enabled_; }
  void Ready(const std::string& status) const;
  void Reloading() const;
  void Stopping() const;
  void WatchdogPing() const;

  /// How often to ping: half of WatchdogSec=, or nullopt when no watchdog is
  /// configured for this process.
  std::optional<Duration> watchdog_ping_interval() const { return watchdog_ping_interval_; }

 private:
  bool enabled_ = false;
  std::optional<Duration> watchdog_ping_interval_;
};

}  // namespace hx
