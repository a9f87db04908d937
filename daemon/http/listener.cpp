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
#include <boost/json/monotonic_resource.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "core/metrics.hpp"
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


namespace {

/// A connector's webhook route, with what every request needs looked up once when the endpoints are set.
struct route {
  std::shared_ptr<const webhook_endpoint> ep;
  std::string name;
  std::vector<std::string> types;  // accepted media types (webhook_endpoint::content_types())
  std::size_t max_body = 0;
  // The labelled metric children of the common outcome, found on first use: metrics::metric_family::with copies its key
  // and takes the family's lock on every call. Children are never removed, so the pointers stay valid.
  mutable std::atomic<metrics::metric_counter*> answered_200{nullptr};
  mutable std::atomic<metrics::metric_counter*> duplicates{nullptr};
  mutable std::atomic<metrics::metric_histogram*> duration{nullptr};
};

/// One accepted connection. All of it is used on the connection's strand (the session coroutine and the
/// timeout timer's handler).
///
/// Timeouts: starting an I/O operation only stores its deadline; one timer per connection is armed at or before
/// the deadline and re-armed when it fires early (the connection went on to a later deadline). So the usual
/// request costs no timer operation at all, where a timer per operation costs an arm and a cancel (a lock, a
/// queue entry, a cancelled handler to run) three times per request. The timer is re-armed at once only when a
/// deadline is earlier than the armed one (a body that did not come with its header, an answer the peer does
/// not read). Past its deadline, an operation in progress is ended by closing the socket.
struct connection : std::enable_shared_from_this<connection> {
  using clock = std::chrono::steady_clock;
  explicit connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}

  tcp::socket socket;
  asio::steady_timer timer;
  clock::time_point deadline = clock::time_point::max();  // of the operation in progress
  clock::time_point armed = clock::time_point::max();     // when the timer fires
  std::uint64_t generation = 0;                            // of the timer's current wait
  bool in_io = false;
  bool finished = false;
  std::string out;  // the answer being sent (its capacity is reused across requests)

  void start_io(std::chrono::milliseconds timeout) {
    in_io = true;
    deadline = clock::now() + timeout;
    if (deadline < armed) arm(deadline);
  }
  void end_io() { in_io = false; }
  void finish() {
    finished = true;
    timer.cancel();
  }
  /// Stops the connection from another thread (listener::stop): ends the operation in progress.
  void cancel() {
    boost::system::error_code ignored;
    socket.cancel(ignored);
  }

 private:
  void arm(clock::time_point when) {
    armed = when;
    const auto gen = ++generation;
    timer.expires_at(when);  // cancels the previous wait, whose handler then sees an old generation
    timer.async_wait([self = shared_from_this(), gen](boost::system::error_code) {
      if (self->finished || gen != self->generation) return;
      const auto now = clock::now();
      if (self->in_io && now >= self->deadline) {
        boost::system::error_code ignored;
        self->socket.close(ignored);
        return;
      }
      // Fired early: the deadline moved on, or the request is being processed (no I/O, no timeout: the next
      // operation brings a deadline later than this re-arm, or re-arms itself if earlier).
      self->arm(self->in_io ? self->deadline : now + std::chrono::seconds(1));
    });
  }
};

/// What a request gets: `ack` at once, or, when `event` is set, `ack` once the event is in the inbox.
struct decision {
  ack_response ack;
  std::optional<store::inbox_event> event;
  std::shared_ptr<const route> rt;  // the webhook route that answered (labels the metrics)
};

/// The event's `meta`: method, path, remote address and the headers (names lower-cased). A stack arena holds the
/// JSON tree of a usual request, so building it allocates nothing but the result.
std::string build_meta(const inbound_request& req, const std::string& connector) {
  unsigned char arena[4096];
  boost::json::monotonic_resource mr(arena, sizeof arena);
  boost::json::object meta(&mr);
  meta["method"] = req.method;
  std::string path = "/webhooks/" + connector;  // never the secret URL token
  meta["path"] = path;
  meta["remote"] = req.remote_address;
  boost::json::object hdrs(&mr);
  std::string lower;
  for (const auto& [k, v] : req.headers) {
    lower.assign(k);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    hdrs[lower] = v;
  }
  meta["headers"] = std::move(hdrs);
  return boost::json::serialize(meta);
}

/// An HTTP/1.1 answer into `out` (replacing what it held). `head_only`: HEAD, the Content-Length of the body
/// without the body.
void render(std::string& out, int status, std::string_view content_type, std::string_view body, bool keep,
            bool head_only) {
  out.clear();
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
  out.append(bhttp::obsolete_reason(static_cast<bhttp::status>(status)));
  out.append("\r\nServer: omnisyncd");
  if (!content_type.empty()) out.append("\r\nContent-Type: ").append(content_type);
  out.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  if (!keep) out.append("\r\nConnection: close");
  out.append("\r\n\r\n");
  if (!head_only) out.append(body);
}

}  // namespace

struct listener::impl : std::enable_shared_from_this<impl> {
  using endpoint_map = std::unordered_map<std::string, std::shared_ptr<const route>>;

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
  std::unordered_map<std::uint64_t, std::weak_ptr<connection>> conns;
  std::function<void(const std::string&)> stored_hook;  // set before start(); read-only afterwards

  metrics::metric_family<metrics::metric_counter>& requests;
  metrics::metric_family<metrics::metric_counter>& duplicates;
  metrics::metric_family<metrics::metric_histogram>& durations;
  metrics::metric_gauge& open_connections;

  impl(asio::any_io_executor e, listener_options o, store::store& s, metrics::registry& m)
      : ex(std::move(e)), strand(asio::make_strand(ex)), opts(std::move(o)), st(s), acceptor(strand),
        requests(m.counter("omnisync_webhook_requests_total", "Webhook requests answered, by connector and status",
                           {"connector", "status"})),
        duplicates(m.counter("omnisync_webhook_duplicates_total",
                             "Webhook events already in the inbox (answered, stored once)", {"connector"})),
        durations(m.histogram("omnisync_webhook_request_duration_seconds",
                              "Time from a webhook's last byte to its answer (includes the durable inbox write)",
                              metrics::registry::duration_buckets(), {"connector"})),
        open_connections(m.gauge("omnisync_http_open_connections", "Open connections to the HTTP listener").get()),
        metrics_registry(m) {}

  metrics::registry& metrics_registry;

  std::shared_ptr<const endpoint_map> current_endpoints() {
    std::lock_guard lock(mutex);
    return endpoints;
  }

  template <class Child, class Family>
  static Child& cached(std::atomic<Child*>& slot, Family& family, const std::vector<std::string>& labels) {
    if (auto* c = slot.load(std::memory_order_acquire)) return *c;
    auto& c = family.with(labels);
    slot.store(&c, std::memory_order_release);
    return c;
  }

  /// Decides a webhook request (verification runs here, on the raw bytes); a verified event comes back to be
  /// stored before it is answered.
  decision decide_webhook(inbound_request& req, std::shared_ptr<const route> rt) {
    decision d;
    d.rt = rt;
    const auto& ep = *rt->ep;
    if (req.method == "GET" || req.method == "HEAD") {
      if (auto v = ep.validation(req)) {
        d.ack = std::move(*v);
        return d;
      }
      d.ack = plain(405, "method not allowed\n");
      return d;
    }
    if (req.method != "POST") {
      d.ack = plain(405, "method not allowed\n");
      return d;
    }
    if (!rt->types.empty()) {
      auto mt = media_type(req.header("Content-Type"));
      if (std::find(rt->types.begin(), rt->types.end(), mt) == rt->types.end()) {
        d.ack = plain(415, "unsupported content type\n");
        return d;
      }
    }
    auto verified = ep.verify(req);
    if (!verified) {
      auto e = verified.error();
      if (e == omnisync::make_error_code(errc::auth_expired)) {
        spdlog::warn("http: webhook for {} from {} rejected: signature or token did not verify", rt->name,
                     req.remote_address);
        d.ack = plain(401, "signature verification failed\n");
      } else if (e == omnisync::make_error_code(errc::invalid_input)) {
        spdlog::warn("http: webhook for {} from {} rejected: malformed or outside the replay window", rt->name,
                     req.remote_address);
        d.ack = plain(400, "bad request\n");
      } else {
        spdlog::error("http: webhook for {} could not be verified: {}", rt->name, e.message());
        d.ack = plain(500, "internal error\n");
      }
      return d;
    }
    auto received = std::chrono::time_point_cast<std::chrono::milliseconds>(req.received_at);
    auto meta = build_meta(req, rt->name);
    d.event.emplace(rt->name, std::move(verified->dedupe_key), store::timestamp(received.time_since_epoch()),
                    std::move(meta), std::move(req.body));
    d.ack = std::move(verified->ack);
    return d;
  }

  /// `req.body` is moved into the event when there is one.
  decision decide(inbound_request& req, std::shared_ptr<const route> rt) {
    if (rt) return decide_webhook(req, std::move(rt));
    decision d;
    const auto& path = req.path;
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (path == "/healthz" && get)
      d.ack = plain(200, "ok\n");
    else if (path == "/readyz" && get)
      d.ack = ready ? plain(200, "ready\n") : plain(503, "not ready\n");
    else if (path == "/metrics" && req.method == "GET")
      d.ack = ack_response{200, "text/plain; version=0.0.4; charset=utf-8", metrics_registry.render()};
    else if (path.starts_with("/webhooks/"))
      d.ack = plain(404, "no such webhook endpoint\n");
    else
      d.ack = plain(404, "not found\n");
    return d;
  }

  asio::awaitable<void> accept_loop();

  /// Sends c->out: at once when the socket takes all of it (the usual small answer: no asynchronous operation,
  /// no timer), otherwise the rest under the body timeout.
  asio::awaitable<bool> send(std::shared_ptr<connection> c) {
    boost::system::error_code ec;
    const std::size_t n = asio::write(c->socket, asio::buffer(c->out), ec);
    if (!ec) co_return true;
    if (ec != asio::error::would_block && ec != asio::error::try_again) co_return false;
    c->start_io(opts.body_timeout);
    auto [wec, wn] = co_await asio::async_write(c->socket, asio::buffer(c->out.data() + n, c->out.size() - n),
                                                tuple_awaitable);
    c->end_io();
    co_return !wec;
  }

  asio::awaitable<void> session(std::shared_ptr<connection> c, std::string remote) {
    beast::flat_buffer buffer;
    bool first = true;
    boost::system::error_code nb;
    c->socket.non_blocking(true, nb);  // answers are first written without waiting (see send())
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(16 * 1024);
      c->start_io(first ? opts.header_timeout : std::min(opts.idle_timeout, opts.header_timeout * 6));
      first = false;
      auto [hec, hn] = co_await bhttp::async_read_header(c->socket, buffer, parser, tuple_awaitable);
      c->end_io();
      if (hec) {
        if (hec == bhttp::error::header_limit) {
          render(c->out, 431, {}, {}, false, false);
          co_await send(c);
        }
        break;
      }
      auto& head = parser.get();
      std::string target(head.target());
      std::string path = target.substr(0, target.find('?'));
      // The route is looked up once per request (limit, verification, metrics).
      std::shared_ptr<const route> rt;
      const bool webhook_path = path.starts_with("/webhooks/");
      std::string label;  // the connector named by the path, for metrics
      if (webhook_path) {
        label = path.substr(10, path.find('/', 10) - 10);
        auto eps = current_endpoints();
        if (auto it = eps->find(label); it != eps->end()) rt = it->second;
      }
      // Only webhooks take a body: elsewhere any body is too large.
      const std::size_t limit = !webhook_path ? 0 : rt ? rt->max_body : opts.max_body;
      auto declared = parser.content_length();
      bool too_large = declared && *declared > limit;
      if (!too_large) {
        parser.body_limit(limit);
        if (iequals(head[bhttp::field::expect], "100-continue")) {
          c->out.assign("HTTP/1.1 100 Continue\r\n\r\n");
          if (!co_await send(c)) break;
        }
        // The body usually came in with the header: parse it from the buffer, without another read operation.
        parser.eager(true);
        beast::error_code pec;
        while (!parser.is_done() && buffer.size() > 0 && !pec) {
          const auto used = parser.put(buffer.data(), pec);
          buffer.consume(used);
          if (pec == bhttp::error::need_more) pec = {};
          if (used == 0) break;
        }
        if (pec == bhttp::error::body_limit) {
          too_large = true;
        } else if (pec) {
          break;
        } else if (!parser.is_done()) {
          c->start_io(opts.body_timeout);
          auto [bec, bn] = co_await bhttp::async_read(c->socket, buffer, parser, tuple_awaitable);
          c->end_io();
          if (bec == bhttp::error::body_limit)
            too_large = true;
          else if (bec)
            break;
        }
      }
      if (too_large) {
        render(c->out, 413, "text/plain", "request body too large\n", false, false);
        co_await send(c);
        requests.with({label, "413"}).inc();
        break;
      }

      auto started = std::chrono::steady_clock::now();
      auto msg = parser.release();
      inbound_request req;
      req.method = std::string(msg.method_string());
      req.target = std::move(target);
      req.path = std::move(path);
      if (rt) {
        const auto slash = req.path.find('/', 10);
        if (slash != std::string::npos) req.token = req.path.substr(slash + 1);
      }
      req.headers.reserve(16);
      for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      req.body = std::move(msg.body());
      req.remote_address = remote;
      req.received_at = std::chrono::system_clock::now();
      const bool keep = msg.keep_alive() && !stopping;
      const bool head_only = msg.method() == bhttp::verb::head;

      auto d = decide(req, rt);
      if (d.event) {
        auto op = st.inbox_append(std::move(*d.event));
        auto stored = co_await std::move(op);
        if (!stored) {
          spdlog::error("http: webhook for {} not stored ({}); answering 503 so the sender delivers again",
                        rt->name, stored.error().message());
          d.ack = plain(503, "temporarily unavailable\n");
        } else if (*stored == store::append_outcome::duplicate) {
          cached(rt->duplicates, duplicates, {rt->name}).inc();
        } else if (stored_hook) {
          stored_hook(rt->name);
        }
      }
      render(c->out, d.ack.status, d.ack.content_type, d.ack.body, keep, head_only);
      if (rt) {
        auto& counter = d.ack.status == 200 ? cached(rt->answered_200, requests, {rt->name, "200"})
                                            : requests.with({rt->name, std::to_string(d.ack.status)});
        counter.inc();
        cached(rt->duration, durations, {rt->name})
            .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
      // As send(), without a coroutine call for the usual answer that the socket takes at once.
      boost::system::error_code wec;
      const std::size_t sent = asio::write(c->socket, asio::buffer(c->out), wec);
      if (wec) {
        if (wec != asio::error::would_block && wec != asio::error::try_again) break;
        c->out.erase(0, sent);
        if (!co_await send(c)) break;
      }
      if (!keep) break;
    }
    c->finish();
    beast::error_code ignored;
    c->socket.shutdown(tcp::socket::shutdown_send, ignored);
    c->socket.close(ignored);
  }
};

listener::listener(asio::any_io_executor ex, listener_options options, store::store& store, metrics::registry& metrics)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(options), store, metrics)) {}

listener::~listener() { stop(); }

void listener::on_stored(std::function<void(const std::string&)> fn) { impl_->stored_hook = std::move(fn); }

void listener::set_endpoints(std::vector<std::shared_ptr<const webhook_endpoint>> endpoints) {
  auto map = std::make_shared<impl::endpoint_map>();
  for (auto& e : endpoints) {
    auto r = std::make_shared<route>();
    r->name = e->connector();
    r->types = e->content_types();
    r->max_body = e->max_body();
    r->ep = std::move(e);
    (*map)[r->name] = std::move(r);
  }
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
    // No Nagle: an answer written while earlier bytes are unacknowledged (after a `100 Continue`, or the rest of
    // an answer the socket took in two writes) would otherwise wait for the peer's delayed ACK, up to 40 ms.
    sock.set_option(tcp::no_delay(true), rec);
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
    auto conn = std::make_shared<connection>(std::move(sock));
    std::uint64_t id;
    {
      std::lock_guard lock(self->mutex);
      id = ++self->next_conn;
      self->conns[id] = conn;
    }
    ++self->active;
    self->open_connections.add(1);
    asio::co_spawn(conn->socket.get_executor(), self->session(conn, remote), [self, id](std::exception_ptr e) {
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
  std::vector<std::shared_ptr<connection>> open;
  {
    std::lock_guard lock(self->mutex);
    for (auto& [id, w] : self->conns)
      if (auto s = w.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) asio::post(s->socket.get_executor(), [s] { s->cancel(); });
}

void listener::set_ready(bool ready) { impl_->ready = ready && !impl_->stopping; }

}  // namespace omnisync::http
