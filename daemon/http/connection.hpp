#pragma once
// Internal to omnisync_http: one accepted TCP connection and the HTTP/1.1 exchange on it (reading requests under
// timeouts and limits, writing answers). What a request gets is the router's (routes.hpp). Beast is used only in
// connection.cpp.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/connection_slots.hpp"

namespace omnisync::http {

class router;

/// The limits every connection enforces (from listener_options).
struct connection_limits {
  std::size_t max_body = 0;  ///< a webhook's body limit (http.max_body) unless its vendor names a larger one
  std::chrono::milliseconds header_timeout{0}, body_timeout{0}, idle_timeout{0};
};

/// One accepted connection: reads requests (header, then body) with keep-alive and pipelining, asks the router
/// what each gets, has a webhook's event stored before answering, and writes the answers.
///
/// Lifecycle: the listener creates it for an accepted socket and spawns `serve` on the socket's strand; `serve`
/// closes the socket when it returns. `cancel` (from any thread, posted to the strand by listener::stop) ends the
/// operation in progress. Thread safety: everything but the constructor runs on the connection's strand (the
/// serve coroutine and the timeout timer's handler).
///
/// Timeouts: starting an I/O operation only stores its deadline; one timer per connection is armed at or before
/// the deadline and re-armed when it fires early (the connection went on to a later deadline). So the usual
/// request costs no timer operation at all, where a timer per operation costs an arm and a cancel (a lock, a
/// queue entry, a cancelled handler to run) three times per request. The timer is re-armed at once only when a
/// deadline is earlier than the armed one (a body that did not come with its header, an answer the peer does
/// not read). Past its deadline, an operation in progress is ended by closing the socket.
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(boost::asio::ip::tcp::socket socket, connection_limits limits, std::shared_ptr<router> routes);

  /// Serves requests until the peer closes, a limit or timeout ends the connection, or the listener stops; then
  /// shuts the socket down. `self` keeps the connection alive; `remote` is the peer's address for the events.
  static boost::asio::awaitable<void> serve(std::shared_ptr<connection> self, std::string remote);
  /// Ends the operation in progress. Call on the connection's strand.
  void cancel();
  /// Since when the connection has been waiting for a request's header, 0 while a request is being read,
  /// processed or answered. Any thread: the listener sheds the longest waiting connection when it is full
  /// (core/connection_slots.hpp), so new requests (health checks, webhooks) are not refused behind idle or slow
  /// connections.
  std::shared_ptr<const connection_slots::waiting_mark> waiting() const noexcept { return waiting_; }
  boost::asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  using clock = std::chrono::steady_clock;

  void start_io(std::chrono::milliseconds timeout);
  void end_io() { in_io_ = false; }
  void finish();
  void arm(clock::time_point when);
  /// Sends out_: at once when the socket takes all of it, otherwise the rest under the body timeout.
  boost::asio::awaitable<bool> send();
  /// After an answer that ends the connection before the request body was read (413): stops sending, then reads
  /// and discards what the client is still sending — at most 4 MiB, for at most 2 s — so that the client, which
  /// writes its whole request before it reads, gets the answer instead of a connection reset.
  boost::asio::awaitable<void> linger();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  connection_limits limits_;
  std::shared_ptr<router> routes_;
  clock::time_point deadline_ = clock::time_point::max();  // of the operation in progress
  clock::time_point armed_ = clock::time_point::max();     // when the timer fires
  std::uint64_t generation_ = 0;                            // of the timer's current wait
  bool in_io_ = false;
  bool finished_ = false;
  std::shared_ptr<connection_slots::waiting_mark> waiting_ = std::make_shared<connection_slots::waiting_mark>();
  std::string out_;  // the answer being sent (its capacity is reused across requests)
};

}  // namespace omnisync::http
