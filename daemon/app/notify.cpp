#include "daemon/app/notify.hpp"

#include <systemd/sd-daemon.h>

#include <time.h>

namespace omnisync::app {

void systemd_notifier::send(const std::string& message) { ::sd_notify(0, message.c_str()); }

void systemd_notifier::ready(const std::string& status) { send("READY=1\nSTATUS=" + status); }

void systemd_notifier::status(const std::string& text) { send("STATUS=" + text); }

void systemd_notifier::reloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading configuration");
}

void systemd_notifier::reloaded(const std::string& status) { send("READY=1\nSTATUS=" + status); }

void systemd_notifier::stopping() { send("STOPPING=1\nSTATUS=stopping"); }

void systemd_notifier::watchdog() { send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> systemd_notifier::watchdog_interval() const {
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

}  // namespace omnisync::app
