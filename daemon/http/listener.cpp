#include "daemon/http/listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "daemon/http/metrics.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view mt = content_type.substr(0, semi);
  while (!mt.empty() && mt.back() == ' ') mt.remove_suffix(1);
  while (!mt.empty() && mt.front() == ' ') mt.remove_prefix(1);
  std::string out(mt);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

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

ack_response plain(int status, std::string body) { return {status, "text/plain; charset=utf-8", std::move(body)}; }

}  // namespace

std::string_view inbound_request::header(std::string_view name) const noexcept {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Length is not secret (signatures have a fixed length); the content comparison never exits early.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

struct listener::impl : std::enable_shared_from_this<impl> {
  using endpoint_map = std::unordered_map<std::string, std::shared_ptr<const webhook_endpoint>>;

  asio::any_io_executor ex;
  asio::strand<asio::any_io_executor> strand;  // the acceptor and its loop live here
  listener_options opts;
  store::store& st;
  tcp::acceptor acceptor;
  std::mutex mutex;
  std::shared_ptr<const endpoint_map> endpoints = std::make_shared<endpoint_map>();
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::atomic<unsigned> active{0};
  std::uint64_t next_conn = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<beast::tcp_stream>> conns;

  metric_family<metric_counter>& requests;
  metric_family<metric_counter>& duplicates;
  metric_family<metric_histogram>& durations;
  metric_gauge& open_connections;

  impl(asio::any_io_executor e, listener_options o, store::store& s, registry& m)
      : ex(std::move(e)), strand(asio::make_strand(ex)), opts(std::move(o)), st(s), acceptor(strand),
        requests(m.counter("omnisync_webhook_requests_total", "Webhook requests answered, by connector and status",
                           {"connector", "status"})),
        duplicates(m.counter("omnisync_webhook_duplicates_total",
                             "Webhook events already in the inbox (answered, stored once)", {"connector"})),
        durations(m.histogram("omnisync_webhook_request_duration_seconds",
                              "Time from a webhook's last byte to its answer (includes the durable inbox write)",
                              registry::duration_buckets(), {"connector"})),
        open_connections(m.gauge("omnisync_http_open_connections", "Open connections to the HTTP listener").get()),
        metrics_registry(m) {}

  registry& metrics_registry;

  std::shared_ptr<const endpoint_map> current_endpoints() {
    std::lock_guard lock(mutex);
    return endpoints;
  }

  asio::awaitable<ack_response> handle_webhook(inbound_request req, std::shared_ptr<const webhook_endpoint> ep) {
    auto connector = ep->connector();
    if (req.method == "GET" || req.method == "HEAD") {
      if (auto v = ep->validation(req)) co_return *v;
      co_return plain(405, "method not allowed\n");
    }
    if (req.method != "POST") co_return plain(405, "method not allowed\n");
    auto types = ep->content_types();
    if (!types.empty()) {
      auto mt = media_type(req.header("Content-Type"));
      if (std::find(types.begin(), types.end(), mt) == types.end())
        co_return plain(415, "unsupported content type\n");
    }
    auto verified = ep->verify(req);
    if (!verified) {
      auto e = verified.error();
      if (e == omnisync::make_error_code(errc::auth_expired)) {
        spdlog::warn("http: webhook for {} from {} rejected: signature or token did not verify", connector,
                     req.remote_address);
        co_return plain(401, "signature verification failed\n");
      }
      if (e == omnisync::make_error_code(errc::invalid_input)) {
        spdlog::warn("http: webhook for {} from {} rejected: malformed or outside the replay window", connector,
                     req.remote_address);
        co_return plain(400, "bad request\n");
      }
      spdlog::error("http: webhook for {} could not be verified: {}", connector, e.message());
      co_return plain(500, "internal error\n");
    }
    boost::json::object meta;
    meta["method"] = req.method;
    meta["path"] = "/webhooks/" + connector;  // never the secret URL token
    meta["remote"] = req.remote_address;
    boost::json::object hdrs;
    for (const auto& [k, v] : req.headers) {
      std::string lower = k;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      hdrs[lower] = v;
    }
    meta["headers"] = std::move(hdrs);
    auto received = std::chrono::time_point_cast<std::chrono::milliseconds>(req.received_at);
    auto stored = co_await st.inbox_append(store::inbox_event(connector, verified->dedupe_key,
                                                              store::timestamp(received.time_since_epoch()),
                                                              boost::json::serialize(meta), std::move(req.body)));
    if (!stored) {
      spdlog::error("http: webhook for {} not stored ({}); answering 503 so the sender delivers again", connector,
                    stored.error().message());
      co_return plain(503, "temporarily unavailable\n");
    }
    if (*stored == store::append_outcome::duplicate) duplicates.with({connector}).inc();
    co_return verified->ack;
  }

  asio::awaitable<ack_response> handle(inbound_request req, std::string& connector_label) {
    const auto& path = req.path;
    if (path == "/healthz" && (req.method == "GET" || req.method == "HEAD")) co_return plain(200, "ok\n");
    if (path == "/readyz" && (req.method == "GET" || req.method == "HEAD"))
      co_return ready ? plain(200, "ready\n") : plain(503, "not ready\n");
    if (path == "/metrics" && req.method == "GET")
      co_return ack_response{200, "text/plain; version=0.0.4; charset=utf-8", metrics_registry.render()};
    if (path.starts_with("/webhooks/")) {
      std::string rest = path.substr(10);
      auto slash = rest.find('/');
      std::string name = rest.substr(0, slash);
      auto eps = current_endpoints();
      auto it = eps->find(name);
      if (it == eps->end()) co_return plain(404, "no such webhook endpoint\n");
      connector_label = name;
      auto ep = it->second;
      req.token = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
      auto r = co_await handle_webhook(std::move(req), std::move(ep));
      co_return r;
    }
    co_return plain(404, "not found\n");
  }

  std::size_t body_limit_for(const std::string& path) {
    if (!path.starts_with("/webhooks/")) return 0;  // no other route takes a body
    std::string rest = path.substr(10);
    auto eps = current_endpoints();
    auto it = eps->find(rest.substr(0, rest.find('/')));
    return it == eps->end() ? opts.max_body : it->second->max_body();
  }

  asio::awaitable<void> accept_loop();

  template <class Body>
  static asio::awaitable<bool> write_response(beast::tcp_stream& stream, bhttp::response<Body>& res,
                                              std::chrono::milliseconds timeout) {
    stream.expires_after(timeout);
    auto [ec, n] = co_await bhttp::async_write(stream, res, tuple_awaitable);
    co_return !ec;
  }

  asio::awaitable<void> session(std::shared_ptr<beast::tcp_stream> stream, std::string remote) {
    beast::flat_buffer buffer;
    bool first = true;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(16 * 1024);
      stream->expires_after(first ? opts.header_timeout : std::min(opts.idle_timeout, opts.header_timeout * 6));
      first = false;
      auto [hec, hn] = co_await bhttp::async_read_header(*stream, buffer, parser, tuple_awaitable);
      if (hec) {
        if (hec == bhttp::error::header_limit) {
          bhttp::response<bhttp::string_body> res{bhttp::status::request_header_fields_too_large, 11};
          res.keep_alive(false);
          res.prepare_payload();
          co_await write_response(*stream, res, opts.body_timeout);
        }
        break;
      }
      auto& head = parser.get();
      std::string target(head.target());
      std::string path = target.substr(0, target.find('?'));
      std::size_t limit = body_limit_for(path);
      auto declared = parser.content_length();
      bool too_large = declared && *declared > limit;
      if (!too_large) {
        parser.body_limit(limit);
        if (iequals(head[bhttp::field::expect], "100-continue")) {
          bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
          if (!co_await write_response(*stream, cont, opts.body_timeout)) break;
        }
        stream->expires_after(opts.body_timeout);
        auto [bec, bn] = co_await bhttp::async_read(*stream, buffer, parser, tuple_awaitable);
        if (bec == bhttp::error::body_limit) too_large = true;
        else if (bec) break;
      }
      if (too_large) {
        bhttp::response<bhttp::string_body> res{bhttp::status::payload_too_large, 11};
        res.set(bhttp::field::content_type, "text/plain");
        res.body() = "request body too large\n";
        res.keep_alive(false);
        res.prepare_payload();
        co_await write_response(*stream, res, opts.body_timeout);
        std::string label;
        if (path.starts_with("/webhooks/")) label = path.substr(10, path.find('/', 10) - 10);
        requests.with({label, "413"}).inc();
        break;
      }

      auto started = std::chrono::steady_clock::now();
      auto msg = parser.release();
      inbound_request req;
      req.method = std::string(msg.method_string());
      req.target = std::move(target);
      req.path = path;
      for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      req.body = std::move(msg.body());
      req.remote_address = remote;
      req.received_at = std::chrono::system_clock::now();
      bool keep = msg.keep_alive() && !stopping;
      bool head_only = msg.method() == bhttp::verb::head;

      std::string connector_label;
      ack_response ack = co_await handle(std::move(req), connector_label);

      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(ack.status), 11};
      res.set(bhttp::field::server, "omnisyncd");
      res.set(bhttp::field::content_type, ack.content_type);
      res.body() = std::move(ack.body);
      res.keep_alive(keep);
      res.prepare_payload();
      if (head_only) res.body().clear();  // Content-Length stays that of the GET answer
      if (!connector_label.empty()) {
        requests.with({connector_label, std::to_string(ack.status)}).inc();
        durations.with({connector_label})
            .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
      if (!co_await write_response(*stream, res, opts.body_timeout)) break;
      if (!keep) break;
    }
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream->socket().close(ignored);
  }
};

listener::listener(asio::any_io_executor ex, listener_options options, store::store& store, registry& metrics)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(options), store, metrics)) {}

listener::~listener() { stop(); }

void listener::set_endpoints(std::vector<std::shared_ptr<const webhook_endpoint>> endpoints) {
  auto map = std::make_shared<impl::endpoint_map>();
  for (auto& e : endpoints) (*map)[e->connector()] = std::move(e);
  std::lock_guard lock(impl_->mutex);
  impl_->endpoints = std::move(map);
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
      if (self->stopping || ec == asio::error::operation_aborted || !self->acceptor.is_open()) break;
      spdlog::warn("http: accept failed: {}", ec.message());
      asio::steady_timer pause(self->ex, std::chrono::milliseconds(50));  // e.g. out of file descriptors
      co_await pause.async_wait(tuple_awaitable);
      continue;
    }
    boost::system::error_code rec;
    auto remote_ep = sock.remote_endpoint(rec);
    std::string remote = rec ? std::string("unknown") : remote_ep.address().to_string();
    if (self->active.load() >= self->opts.max_connections) {
      static constexpr std::string_view busy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n";
      boost::system::error_code wec;
      sock.non_blocking(true, wec);
      asio::write(sock, asio::buffer(busy), wec);
      sock.close(wec);
      continue;
    }
    auto stream = std::make_shared<beast::tcp_stream>(std::move(sock));
    std::uint64_t id;
    {
      std::lock_guard lock(self->mutex);
      id = ++self->next_conn;
      self->conns[id] = stream;
    }
    ++self->active;
    self->open_connections.add(1);
    asio::co_spawn(stream->get_executor(), self->session(stream, remote), [self, id](std::exception_ptr e) {
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
  if (self->stopping.exchange(true)) return;
  self->ready = false;
  asio::post(self->acceptor.get_executor(), [self] {
    boost::system::error_code ignored;
    self->acceptor.close(ignored);
  });
  std::vector<std::shared_ptr<beast::tcp_stream>> open;
  {
    std::lock_guard lock(self->mutex);
    for (auto& [id, w] : self->conns)
      if (auto s = w.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) asio::post(s->get_executor(), [s] { s->cancel(); });
}

void listener::set_ready(bool ready) { impl_->ready = ready && !impl_->stopping; }

}  // namespace omnisync::http
