#pragma once
/// The open connections of one listening socket under a connection limit, shared by the webhook listener
/// (daemon/http) and the web console (daemon/console): at the limit a new connection is let in by closing the
/// connection that has waited longest for a request — an idle keep-alive, a header or TLS handshake sent slowly —
/// and refused (503, `busy_answer`) only when every connection is busy with a request. So a flood of idle
/// connections never keeps out a health check or a signed webhook.
///
/// Each accepted connection: `admit()` first; when admitted, `add()` (its close function and its waiting time),
/// served, then `remove()` when it ends. A connection tells when it waits for a request through its own clock
/// ticks (`waiting_mark`). `close_all()` at stop.
///
/// Thread safety: every member may be called from any thread; `close` functions run outside the lock and must
/// post to their connection's own strand.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace omnisync {

class connection_slots {
 public:
  /// Since when a connection has waited for a request (steady clock ticks, never 0 while waiting), 0 while it
  /// reads, answers or sends one.
  class waiting_mark {
   public:
    void waiting() noexcept;
    void working() noexcept { since_.store(0, std::memory_order_relaxed); }
    std::int64_t since() const noexcept { return since_.load(std::memory_order_relaxed); }

   private:
    std::atomic<std::int64_t> since_{0};
  };

  /// What a new connection found.
  enum class admission {
    room,  ///< below the limit
    shed,  ///< at the limit: the longest-waiting connection is being closed to make room
    full,  ///< at the limit and every connection busy with a request: answer `busy_answer` and close
  };

  /// The answer to a connection refused when full: written once without waiting (a client that reads nothing
  /// loses it), then the socket is closed.
  static constexpr std::string_view busy_answer =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n";

  explicit connection_slots(unsigned max_connections) : max_(max_connections) {}

  /// Whether a new connection may be served (room, or room made by shedding). Counted in shed() / refused().
  admission admit();
  /// Registers a served connection; its id for remove(). `close` ends its I/O (posted to its strand).
  std::uint64_t add(std::function<void()> close, std::shared_ptr<const waiting_mark> mark);
  /// The connection `id` has ended.
  void remove(std::uint64_t id);
  /// Closes every open connection (the listener stops).
  void close_all();

  unsigned active() const noexcept { return active_.load(); }
  std::uint64_t shed() const noexcept { return shed_.load(); }
  std::uint64_t refused() const noexcept { return refused_.load(); }

 private:
  struct open_connection {
    std::function<void()> close;
    std::shared_ptr<const waiting_mark> mark;
  };

  const unsigned max_;
  std::atomic<unsigned> active_{0};
  std::atomic<std::uint64_t> shed_{0}, refused_{0};
  std::mutex mutex_;
  std::uint64_t next_id_ = 0;                                   // under mutex_
  std::unordered_map<std::uint64_t, open_connection> conns_;    // under mutex_
  std::unordered_set<std::uint64_t> shedding_;                  // under mutex_: closed to make room, not yet gone
};

}  // namespace omnisync
