#pragma once
/// The control-socket client `omnisyncctl` uses: connects to the daemon's Unix socket, sends one request, reads
/// events and the reply, with an idle timeout on every wait. Blocking (a command-line tool needs no event loop).
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace omnisync::ctl {

struct call_result {
  enum class status { ok, daemon_error, unreachable, protocol_error } state = status::unreachable;
  boost::json::value result;   ///< when ok
  std::string error_code;      ///< when daemon_error (e.g. "unknown_connector")
  std::string message;         ///< for people: the daemon's message, or why it could not be reached
};

using event_handler = std::function<void(const boost::json::object& event)>;

/// Sends {"v":1,"id":1,"cmd":cmd,"args":args} and waits for the reply. `idle_timeout` bounds each silence.
call_result call(const std::string& socket_path, const std::string& cmd, const boost::json::object& args,
                 std::chrono::milliseconds idle_timeout, const event_handler& on_event = {});

}  // namespace omnisync::ctl
