#pragma once
/// The daemon's end of the control socket (SEAMS "Control socket protocol"): a Unix stream socket that reads
/// one JSON request per line `{"v":1,"id":N,"cmd":...,"args":{...}}` and answers
/// `{"id":N,"ok":true,"result":...}` or `{"id":N,"ok":false,"error":{"code":...,"message":...}}`.
///
/// Access: SO_PEERCRED must show uid 0, the daemon's own uid, or a member of the configured group; anyone else
/// gets `permission_denied` and is disconnected. Lines longer than `max_line` get `line_too_long` and the
/// connection closes (memory stays bounded); idle connections close after `idle_timeout`.
/// Lifecycle: `start()` binds (refusing a socket another process still listens on), `stop()` closes the
/// acceptor and waits for the connections, which run as tasks of an owned task_group.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace omnisync::app {

struct command_reply {
  bool ok = true;
  boost::json::value result;
  std::string code;     ///< error code when !ok: unknown_command, unknown_connector, config_invalid, ...
  std::string message;

  static command_reply success(boost::json::value v) { return {true, std::move(v), {}, {}}; }
  static command_reply failure(std::string code, std::string message) {
    return {false, nullptr, std::move(code), std::move(message)};
  }
};

using command_fn = std::function<boost::asio::awaitable<command_reply>(boost::json::object args)>;

class control_listener {
 public:
  struct settings {
    std::filesystem::path socket;
    std::string group;                       ///< may connect besides root and the daemon's user; empty: none
    std::chrono::milliseconds idle_timeout{30000};
    std::size_t max_line = 1 << 20;
  };

  control_listener(boost::asio::any_io_executor ex, settings s, std::map<std::string, command_fn> commands);
  ~control_listener();

  /// Binds and starts accepting; an operator-readable sentence on failure.
  std::optional<std::string> start();
  /// Stops accepting, closes connections, waits for running commands up to `timeout`.
  boost::asio::awaitable<void> stop(std::chrono::milliseconds timeout);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace omnisync::app
