#pragma once
/// systemd service notifications (sd_notify): READY, STATUS, RELOADING, STOPPING and the watchdog keep-alive.
///
/// Every call is a no-op when NOTIFY_SOCKET is not set (run by hand, in tests without a notify socket).
/// Thread safety: stateless apart from reading the environment; callable from any thread.
#include <chrono>
#include <optional>
#include <string>

namespace omnisync::app {

class systemd_notifier {
 public:
  /// Start-up finished: the control socket accepts connections.
  void ready(const std::string& status);
  /// Free-form status line shown by `systemctl status`.
  void status(const std::string& text);
  /// A reload begins: RELOADING=1 with MONOTONIC_USEC (systemd 253+ checks it; older versions ignore it).
  void reloading();
  /// The reload ended (applied or rejected): READY=1 again with a status line.
  void reloaded(const std::string& status);
  void stopping();
  void watchdog();
  /// The interval at which `watchdog()` must be called (half of WatchdogSec), when the watchdog is on.
  std::optional<std::chrono::microseconds> watchdog_interval() const;

 private:
  void send(const std::string& message);
};

}  // namespace omnisync::app
