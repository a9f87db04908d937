#include "daemon/http/listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "core/metrics.hpp"
#include "daemon/http/connection.hpp"
#include "daemon/http/routes.hpp"

namespace omnisync::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct parsed_listen {
  std::string host;
  unsigned short port = 0;
};

std::optional<parsed_listen> parse_listen(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  parsed_listen p;
  p.host = s.substr(0, colon);
  if (p.host.size() >= 2 && p.host.front() == '[' && p.host.back() == ']') p.host = p.host.substr(1, p.host.size() - 2);
  try {
    int port = std::stoi(s.substr(colon + 1));
    if (port < 0 || port > 65535) return std::nullopt;
    p.port = static_cast<unsigned short>(port);
  } catch (...) {
    return std::nullopt;
  }
  return p;
}

}  // namespace

struct listener::impl : std::enable_shared_from_this<impl> {
  asio::any_io_executor ex;
  asio::strand<asio::any_io_executor> strand;  // the acceptor and its loop live here
  listener_options opts;
  tcp::acceptor acceptor;
  std::shared_ptr<router> routes;
  std::mutex mutex;  // guards conns and next_conn
  std::atomic<unsigned> active{0};
  std::uint64_t next_conn = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<connection>> conns;
  metrics::metric_gauge& open_connections;

  impl(asio::any_io_executor e, listener_options o, store::store& s, metrics::registry& m)
      : ex(std::move(e)), strand(asio::make_strand(ex)), opts(std::move(o)), acceptor(strand),
        routes(std::make_shared<router>(s, m)),
        open_connections(m.gauge("omnisync_http_open_connections", "Open connections to the HTTP listener").get()),
        shed(m.counter("omnisync_http_connections_shed_total",
                       "Idle or slow connections closed to make room for new ones at the connection limit")
                 .get()),
        refused(m.counter("omnisync_http_connections_refused_total",
                          "New connections answered 503 at the connection limit (every connection busy)")
                    .get()) {}

  metrics::metric_counter& shed;
  metrics::metric_counter& refused;

  /// At the connection limit: closes the connection that has waited longest for a request header (idle
  /// keep-alive, or a client sending its header slowly), so that a new request is served instead. False when
  /// every connection is busy with a request. Connections are closed on their own strands; the limit is exceeded
  /// by those being closed for a moment.
  bool shed_one() {
    std::shared_ptr<connection> oldest;
    std::int64_t since = 0;
    {
      std::lock_guard lock(mutex);
      for (auto& [id, w] : conns) {
        auto c = w.lock();
        if (!c) continue;
        const auto t = c->waiting_since();
        if (t != 0 && (since == 0 || t < since) && !shedding.count(id)) {
          since = t;
          oldest = std::move(c);
          shed_id = id;
        }
      }
      if (!oldest) return false;
      shedding.insert(shed_id);
    }
    asio::post(oldest->executor(), [oldest] { oldest->cancel(); });
    shed.inc();
    return true;
  }
  std::uint64_t shed_id = 0;                // guarded by mutex
  std::unordered_set<std::uint64_t> shedding;  // guarded by mutex: closed, not yet gone

  connection_limits limits() const {
    return connection_limits{opts.max_body, opts.header_timeout, opts.body_timeout, opts.idle_timeout};
  }

  asio::awaitable<void> accept_loop();
};

listener::listener(asio::any_io_executor ex, listener_options options, store::store& store, metrics::registry& metrics)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(options), store, metrics)) {}

listener::~listener() { stop(); }

void listener::on_stored(std::function<void(const std::string&)> fn) { impl_->routes->on_stored(std::move(fn)); }

void listener::set_endpoints(std::vector<std::shared_ptr<const webhook_endpoint>> endpoints) {
  impl_->routes->set_endpoints(std::move(endpoints));
}

omnisync::result<unsigned short> listener::start() {
  auto p = parse_listen(impl_->opts.listen);
  if (!p) {
    spdlog::error("http: cannot listen on '{}': expected host:port", impl_->opts.listen);
    return errc::invalid_input;
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(p->host, ec);
  if (ec) {
    spdlog::error("http: cannot listen on '{}': {} is not an IP address", impl_->opts.listen, p->host);
    return errc::invalid_input;
  }
  tcp::endpoint ep(addr, p->port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    spdlog::error("http: cannot listen on {}: {}", impl_->opts.listen, ec.message());
    boost::system::error_code ignored;
    a.close(ignored);
    return errc::fail;
  }
  return a.local_endpoint().port();
}

asio::awaitable<void> listener::run() {
  // The accept loop runs on the acceptor's strand, so stop() can close the acceptor safely from any thread.
  auto self = impl_;
  co_await asio::co_spawn(self->strand, self->accept_loop(), asio::use_awaitable);
}

asio::awaitable<void> listener::impl::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    auto [ec, sock] = co_await self->acceptor.async_accept(asio::make_strand(self->ex), tuple_awaitable);
    if (ec) {
      if (self->routes->stopping() || ec == asio::error::operation_aborted || !self->acceptor.is_open()) break;
      spdlog::warn("http: accept failed: {}", ec.message());
      asio::steady_timer pause(self->ex, std::chrono::milliseconds(50));  // e.g. out of file descriptors
      co_await pause.async_wait(tuple_awaitable);
      continue;
    }
    boost::system::error_code rec;
    // No Nagle: an answer written while earlier bytes are unacknowledged (after a `100 Continue`, or the rest of
    // an answer the socket took in two writes) would otherwise wait for the peer's delayed ACK, up to 40 ms.
    sock.set_option(tcp::no_delay(true), rec);
    auto remote_ep = sock.remote_endpoint(rec);
    std::string remote = rec ? std::string("unknown") : remote_ep.address().to_string();
    if (self->active.load() >= self->opts.max_connections && !self->shed_one()) {
      // Full, and every connection is busy with a request: this one is refused (never an idle one's turn).
      static constexpr std::string_view busy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n";
      boost::system::error_code wec;
      sock.non_blocking(true, wec);
      asio::write(sock, asio::buffer(busy), wec);
      sock.close(wec);
      self->refused.inc();
      continue;
    }
    auto conn = std::make_shared<connection>(std::move(sock), self->limits(), self->routes);
    std::uint64_t id;
    {
      std::lock_guard lock(self->mutex);
      id = ++self->next_conn;
      self->conns[id] = conn;
    }
    ++self->active;
    self->open_connections.add(1);
    asio::co_spawn(conn->executor(), connection::serve(conn, std::move(remote)), [self, id](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("http: connection handler failed: {}", ex.what());
        }
      }
      {
        std::lock_guard lock(self->mutex);
        self->conns.erase(id);
        self->shedding.erase(id);
      }
      self->open_connections.add(-1);
      --self->active;
    });
  }
  // Wait for the connections to finish (stop() has closed them; a handler mid-store-write completes first).
  asio::steady_timer wait(self->ex);
  while (self->active.load() > 0) {
    wait.expires_after(std::chrono::milliseconds(20));
    co_await wait.async_wait(tuple_awaitable);
  }
}

void listener::stop() {
  auto self = impl_;
  if (!self->routes->stop()) return;
  asio::post(self->acceptor.get_executor(), [self] {
    boost::system::error_code ignored;
    self->acceptor.close(ignored);
  });
  std::vector<std::shared_ptr<connection>> open;
  {
    std::lock_guard lock(self->mutex);
    for (auto& [id, w] : self->conns)
      if (auto s = w.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) asio::post(s->executor(), [s] { s->cancel(); });
}

void listener::set_ready(bool ready) { impl_->routes->set_ready(ready); }

void listener::set_readiness_check(std::function<std::string()> check) {
  impl_->routes->set_readiness_check(std::move(check));
}

}  // namespace omnisync::http
