#include "daemon/http/listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "core/connection_slots.hpp"
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
  connection_slots slots;  // the open connections, the connection limit, shedding
  metrics::metric_gauge& open_connections;

  impl(asio::any_io_executor e, listener_options o, store::store& s, metrics::registry& m)
      : ex(std::move(e)), strand(asio::make_strand(ex)), opts(std::move(o)), acceptor(strand),
        routes(std::make_shared<router>(s, m)), slots(opts.max_connections),
        open_connections(m.gauge("omnisync_http_open_connections", "Open connections to the HTTP listener").get()),
        shed(m.counter("omnisync_http_connections_shed_total",
                       "Idle or slow connections closed to make room for new ones at the connection limit")
                 .get()),
        refused(m.counter("omnisync_http_connections_refused_total",
                          "New connections answered 503 at the connection limit (every connection busy)")
                    .get()) {}

  metrics::metric_counter& shed;
  metrics::metric_counter& refused;

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
    // At the limit the connection that has waited longest for a request makes room (an idle keep-alive, a slow
    // header); only when every connection is busy with a request is this one refused.
    const auto admitted = self->slots.admit();
    if (admitted == connection_slots::admission::shed) self->shed.inc();
    if (admitted == connection_slots::admission::full) {
      boost::system::error_code wec;
      sock.non_blocking(true, wec);
      asio::write(sock, asio::buffer(connection_slots::busy_answer), wec);  // never waits
      sock.close(wec);
      self->refused.inc();
      continue;
    }
    auto conn = std::make_shared<connection>(std::move(sock), self->limits(), self->routes);
    std::weak_ptr<connection> weak = conn;
    const auto id = self->slots.add(
        [weak] {
          if (auto c = weak.lock()) asio::post(c->executor(), [c] { c->cancel(); });
        },
        conn->waiting());
    self->open_connections.add(1);
    asio::co_spawn(conn->executor(), connection::serve(conn, std::move(remote)), [self, id](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("http: connection handler failed: {}", ex.what());
        }
      }
      self->slots.remove(id);
      self->open_connections.add(-1);
    });
  }
  // Wait for the connections to finish (stop() has closed them; a handler mid-store-write completes first).
  asio::steady_timer wait(self->ex);
  while (self->slots.active() > 0) {
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
  self->slots.close_all();
}

void listener::set_ready(bool ready) { impl_->routes->set_ready(ready); }

void listener::set_readiness_check(std::function<std::string()> check) {
  impl_->routes->set_readiness_check(std::move(check));
}

}  // namespace omnisync::http
