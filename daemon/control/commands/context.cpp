#include "daemon/control/commands/context.hpp"

namespace omnisync::control::commands {

std::string daemon_state::phase() const {
  std::lock_guard lock(mutex_);
  return phase_;
}

void daemon_state::set_phase(std::string phase) {
  std::lock_guard lock(mutex_);
  phase_ = std::move(phase);
}

bool daemon_state::begin_reload() {
  std::lock_guard lock(mutex_);
  if (phase_ == "stopping") return false;
  phase_ = "reloading";
  return true;
}

void daemon_state::end_reload(reload_record r) {
  std::lock_guard lock(mutex_);
  last_reload_ = std::move(r);
  if (phase_ == "reloading") phase_ = "running";
}

std::optional<reload_record> daemon_state::last_reload() const {
  std::lock_guard lock(mutex_);
  return last_reload_;
}

unsigned short daemon_state::http_port() const {
  std::lock_guard lock(mutex_);
  return http_port_;
}

void daemon_state::set_http_port(unsigned short port) {
  std::lock_guard lock(mutex_);
  http_port_ = port;
}

unsigned short daemon_state::console_port() const {
  std::lock_guard lock(mutex_);
  return console_port_;
}

void daemon_state::set_console_port(unsigned short port) {
  std::lock_guard lock(mutex_);
  console_port_ = port;
}

}  // namespace omnisync::control::commands
