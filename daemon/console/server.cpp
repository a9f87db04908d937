#include "daemon/console/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <functional>
#include <mutex>

#include "core/connection_slots.hpp"
#include "daemon/console/service.hpp"

namespace omnisync::console {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::string header(const bhttp::request<bhttp::string_body>& m, bhttp::field f) { return std::string(m[f]); }

/// A TLS server context for `cert` and `key`; throws with OpenSSL's reason when either does not load.
std::shared_ptr<asio::ssl::context> make_tls(const std::filesystem::path& cert, const std::filesystem::path& key) {
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  tls->use_certificate_chain_file(cert.string());
  tls->use_private_key_file(key.string(), asio::ssl::context::pem);
  if (SSL_CTX_check_private_key(tls->native_handle()) != 1)
    throw std::runtime_error("the key does not belong to the certificate");
  return tls;
}

/// The last address of an X-Forwarded-For list (the one the proxy itself added), trimmed; empty if none.
std::string last_forwarded(std::string_view list) {
  const auto comma = list.rfind(',');
  auto v = comma == std::string_view::npos ? list : list.substr(comma + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return std::string(v);
}

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  asio::any_io_executor ex;
  asio::strand<asio::any_io_executor> strand;
  server_options opts;
  std::shared_ptr<service> answers;
  tcp::acceptor acceptor;
  std::shared_ptr<asio::ssl::context> tls;  // under `mutex`; each TLS connection keeps the one it started with
  std::string proxy;                        // trusted_proxy, normalised (start()); empty: none
  std::atomic<bool> stopping{false};
  std::mutex mutex;  // guards tls
  /// The open connections under max_connections: at the limit the one that has waited longest for a request (its
  /// TLS handshake or a header) is shed, as the webhook listener does (core/connection_slots.hpp).
  connection_slots slots;
  using waiting_mark = std::shared_ptr<connection_slots::waiting_mark>;

  impl(asio::any_io_executor e, server_options o, std::shared_ptr<service> s)
      : ex(std::move(e)), strand(asio::make_strand(ex)), opts(std::move(o)), answers(std::move(s)), acceptor(strand),
        slots(opts.max_connections) {}

  /// One connection: requests read under deadlines, answered by the service, until the peer or a limit ends it.
  template <class Stream>
  asio::awaitable<void> serve(std::shared_ptr<Stream> s, std::string remote, bool is_tls,
                              std::shared_ptr<asio::ssl::context> /*kept alive for the stream*/, waiting_mark waiting) {
    auto& low = beast::get_lowest_layer(*s);
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      low.expires_after(opts.header_timeout);
      waiting->waiting();
      auto [hec] = co_await s->async_handshake(asio::ssl::stream_base::server, tuple_awaitable);
      if (hec) co_return;
    }
    beast::flat_buffer buffer;
    for (bool first = true;; first = false) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(opts.max_body);
      // The first request's header within header_timeout; later ones may wait up to idle_timeout (keep-alive).
      low.expires_after(first ? opts.header_timeout : std::max(opts.idle_timeout, opts.header_timeout));
      waiting->waiting();
      auto [ec, n] = co_await bhttp::async_read_header(*s, buffer, parser, tuple_awaitable);
      waiting->working();
      int refuse = 0;
      if (ec == bhttp::error::body_limit) refuse = 413;
      else if (ec == bhttp::error::header_limit) refuse = 431;
      else if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
        refuse = 400;
      else if (ec) break;
      if (!refuse && !parser.is_done()) {
        low.expires_after(opts.body_timeout);
        auto [bec, bn] = co_await bhttp::async_read(*s, buffer, parser, tuple_awaitable);
        if (bec == bhttp::error::body_limit) refuse = 413;
        else if (bec) break;
      }
      if (refuse) {
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(refuse), 11};
        res.set(bhttp::field::content_type, "text/plain");
        res.set(bhttp::field::connection, "close");
        res.body() = refuse == 413 ? "request body too large\n" : "bad request\n";
        res.prepare_payload();
        low.expires_after(opts.body_timeout);
        co_await bhttp::async_write(*s, res, tuple_awaitable);
        break;
      }
      auto msg = parser.release();
      http_request req;
      req.method = std::string(msg.method_string());
      req.target = std::string(msg.target());
      req.authorization = header(msg, bhttp::field::authorization);
      req.cookie = header(msg, bhttp::field::cookie);
      req.origin = header(msg, bhttp::field::origin);
      req.host = header(msg, bhttp::field::host);
      req.content_type = header(msg, bhttp::field::content_type);
      req.body = std::move(msg.body());
      req.remote = remote;
      req.tls = is_tls;
      if (!proxy.empty() && remote == proxy) {  // only the configured proxy may say who the client is
        if (auto fwd = last_forwarded(msg["X-Forwarded-For"]); !fwd.empty()) req.remote = std::move(fwd);
        const auto proto = msg["X-Forwarded-Proto"];
        if (proto == "https") req.tls = true;
        else if (proto == "http") req.tls = false;
      }
      low.expires_never();  // the command's own time (a slow command is not the client's fault)
      http_response answer;
      try {
        answer = co_await answers->handle(std::move(req));
      } catch (const std::exception& e) {
        spdlog::error("console: request failed: {}", e.what());
        answer = {500, "text/plain", "internal error\n", {}};
      }
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(answer.status), msg.version()};
      res.set(bhttp::field::server, "omnisyncd");
      if (!answer.content_type.empty()) res.set(bhttp::field::content_type, answer.content_type);
      for (auto& [k, v] : answer.headers) res.insert(k, v);
      const bool keep = msg.keep_alive() && !stopping;
      res.keep_alive(keep);
      res.body() = std::move(answer.body);
      res.prepare_payload();
      if (msg.method() == bhttp::verb::head) {
        const auto length = res.body().size();
        res.body().clear();
        res.content_length(length);
      }
      low.expires_after(opts.body_timeout);  // a client that does not read its answer is dropped
      auto [wec, wn] = co_await bhttp::async_write(*s, res, tuple_awaitable);
      if (wec || !keep) break;
    }
    low.expires_after(std::chrono::seconds(1));
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) co_await s->async_shutdown(tuple_awaitable);
    beast::error_code ignored;
    low.socket().shutdown(tcp::socket::shutdown_send, ignored);
    low.close();
  }

  template <class Stream>
  void spawn(std::shared_ptr<Stream> s, std::string remote, bool is_tls, std::shared_ptr<asio::ssl::context> ctx) {
    auto waiting = std::make_shared<connection_slots::waiting_mark>();
    waiting->waiting();  // until its first request arrives
    std::weak_ptr<Stream> weak = s;
    const auto id = slots.add(
        [weak] {
          if (auto st = weak.lock())
            asio::post(beast::get_lowest_layer(*st).get_executor(), [st] { beast::get_lowest_layer(*st).cancel(); });
        },
        waiting);
    auto self = shared_from_this();
    auto exec = beast::get_lowest_layer(*s).get_executor();
    asio::co_spawn(exec, serve(std::move(s), std::move(remote), is_tls, std::move(ctx), std::move(waiting)),
                   [self, id](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("console: connection failed: {}", ex.what());
        }
      }
      self->slots.remove(id);
    });
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(ex), tuple_awaitable);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted || !acceptor.is_open()) break;
        spdlog::warn("console: accept failed: {}", ec.message());
        asio::steady_timer pause(ex, std::chrono::milliseconds(50));
        co_await pause.async_wait(tuple_awaitable);
        continue;
      }
      boost::system::error_code rec;
      auto ep = sock.remote_endpoint(rec);
      std::string remote = rec ? "?" : ep.address().to_string();
      if (slots.admit() == connection_slots::admission::full) {
        // Full, and every connection is busy with a request: this one is refused (never an idle one's turn).
        boost::system::error_code wec;
        sock.non_blocking(true, wec);
        asio::write(sock, asio::buffer(connection_slots::busy_answer), wec);  // never waits
        sock.close(wec);
        continue;
      }
      std::shared_ptr<asio::ssl::context> ctx;
      {
        std::lock_guard lock(mutex);
        ctx = tls;
      }
      if (ctx) spawn(std::make_shared<beast::ssl_stream<beast::tcp_stream>>(std::move(sock), *ctx), remote, true, ctx);
      else spawn(std::make_shared<beast::tcp_stream>(std::move(sock)), remote, false, nullptr);
    }
    asio::steady_timer wait(ex);
    while (slots.active() > 0) {
      wait.expires_after(std::chrono::milliseconds(20));
      co_await wait.async_wait(tuple_awaitable);
    }
  }
};

server::server(asio::any_io_executor ex, server_options options, std::shared_ptr<service> answers)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(options), std::move(answers))) {}

server::~server() { stop(); }

omnisync::result<unsigned short> server::start() {
  auto& o = impl_->opts;
  if (!o.tls_cert.empty()) {
    try {
      impl_->tls = make_tls(o.tls_cert, o.tls_key);
    } catch (const std::exception& e) {
      spdlog::error("console: cannot load the TLS certificate {} and key {}: {}", o.tls_cert.string(),
                    o.tls_key.string(), e.what());
      return errc::fail;
    }
  }
  if (!o.trusted_proxy.empty()) {
    boost::system::error_code pec;
    auto a = asio::ip::make_address(o.trusted_proxy, pec);
    if (pec) {
      spdlog::error("console: trusted_proxy {} is not an IP address", o.trusted_proxy);
      return errc::fail;
    }
    impl_->proxy = a.to_string();
  }
  const auto colon = o.listen.rfind(':');
  std::string host = o.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  tcp::resolver resolver(impl_->ex);
  auto found = resolver.resolve(host, o.listen.substr(colon + 1), tcp::resolver::passive, ec);
  if (ec || found.empty()) {
    spdlog::error("console: cannot resolve {}: {}", o.listen, ec.message());
    return errc::fail;
  }
  const tcp::endpoint ep = *found.begin();
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(128, ec);
  if (ec) {
    spdlog::error("console: cannot listen on {}: {}", o.listen, ec.message());
    boost::system::error_code ignored;
    a.close(ignored);
    return errc::fail;
  }
  return a.local_endpoint().port();
}

asio::awaitable<void> server::run() {
  auto self = impl_;
  co_await asio::co_spawn(self->strand, self->accept_loop(), asio::use_awaitable);
}

unsigned server::connections() const noexcept { return impl_->slots.active(); }

std::uint64_t server::shed() const noexcept { return impl_->slots.shed(); }

std::uint64_t server::refused() const noexcept { return impl_->slots.refused(); }

omnisync::result<void> server::reload_tls(const std::filesystem::path& cert, const std::filesystem::path& key,
                                          std::string* why) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->tls) {
      if (why) *why = "the console was started without TLS: serving HTTPS needs a restart";
      return errc::invalid_input;
    }
  }
  std::shared_ptr<asio::ssl::context> next;
  try {
    next = make_tls(cert, key);
  } catch (const std::exception& e) {
    const std::string text = "cannot load the TLS certificate " + cert.string() + " and key " + key.string() + ": " +
                             e.what() + "; the console keeps the certificate it had";
    spdlog::error("console: {}", text);
    if (why) *why = text;
    return errc::invalid_input;
  }
  std::lock_guard lock(impl_->mutex);
  impl_->tls = std::move(next);
  spdlog::info("console: TLS certificate {} and key {} loaded again; new connections use them", cert.string(),
               key.string());
  return {};
}

void server::stop() {
  auto self = impl_;
  if (self->stopping.exchange(true)) return;
  asio::post(self->strand, [self] {
    boost::system::error_code ignored;
    self->acceptor.close(ignored);
  });
  self->slots.close_all();
}

}  // namespace omnisync::console
