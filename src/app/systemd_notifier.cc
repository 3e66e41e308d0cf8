#include "app/systemd_notifier.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>

namespace hx {

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  uint64_t usec = 0;
  // unset_environment = 0: plugins started by exec checks get a minimal
  // environment of their own, so nothing leaks through these variables.
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ping_interval_ = std::chrono::microseconds(usec / 2);
  }
}

void SystemdNotifier::Ready(const std::string& status) const {
  if (!enabled_) return;
  sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
}

void SystemdNotifier::Reloading() const {
  if (enabled_) sd_notify(0, "RELOADING=1");
}

void SystemdNotifier::Stopping() const {
  if (enabled_) sd_notify(0, "STOPPING=1");
}

void SystemdNotifier::WatchdogPing() const {
  if (enabled_) sd_notify(0, "WATCHDOG=1");
}

}  // namespace hx
