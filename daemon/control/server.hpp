#pragma once
/// The control socket: a Unix domain socket speaking newline-delimited JSON (protocol v1, SEAMS.md):
///   request  {"v":1,"id":N,"cmd":"status","args":{...}}
///   events   {"id":N,"event":{...}}                       (zero or more, e.g. progress)
///   reply    {"id":N,"ok":true,"result":...} | {"id":N,"ok":false,"error":{"code":...,"message":...}}
///
/// Security: the socket file is created with mode 0660 (owner and the configured group), and every connection's
/// peer is checked with SO_PEERCRED: root, the daemon's own user, or members of the configured group; anyone
/// else gets `permission_denied` and is disconnected.
/// Robustness: a request line longer than `max_line` is answered `line_too_long` and the connection closed
/// (memory stays bounded); malformed JSON is answered `bad_request`; a connection idle for `idle_timeout` is
/// closed; many clients are served at once, requests on one connection in order.
///
/// Lifecycle: `start()` binds (removing a stale socket file nobody listens on), `run()` accepts until `stop()`
/// and returns after every connection has finished (bounded by `stop_timeout`). Asio stays in server.cpp.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "daemon/control/command_table.hpp"
#include "core/error.hpp"

namespace omnisync::control {

struct server_options {
  std::filesystem::path socket_path;
  std::string group;                                   ///< allowed group (and socket file group); empty: none
  unsigned mode = 0660;
  std::chrono::milliseconds idle_timeout{30000};
  std::size_t max_line = 1 << 20;
  std::chrono::milliseconds stop_timeout{5000};
};

class server {
 public:
  server(boost::asio::any_io_executor ex, server_options options, std::shared_ptr<const command_table> commands);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds the socket. errc::fail (with a logged reason) when it is in use by a live daemon or cannot be created.
  omnisync::result<void> start();
  boost::asio::awaitable<void> run();
  void stop();
  /// Replaces the command table (reload); requests in flight finish with the old one.
  void set_commands(std::shared_ptr<const command_table> commands);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// The protocol version this build speaks.
inline constexpr int protocol_version = 1;

}  // namespace omnisync::control
