#include "adapters/http/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>

#include "core/version.hpp"

namespace omnisync::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct target {
  bool tls = false;
  std::string host;  // without brackets for IPv6 literals
  std::string port;
  std::string path_and_query;
  std::string host_header;  // host[:port] as the Host header wants it
  std::string absolute;     // the URL itself (request target through a plain-HTTP proxy)
};

result<target> parse_target(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return errc::invalid_input;
  target t;
  auto scheme = parsed->scheme();
  if (scheme == "https") t.tls = true;
  else if (scheme != "http") return errc::fail;
  t.host = std::string(parsed->host_address());
  if (t.host.empty()) return errc::invalid_input;
  t.port = parsed->has_port() ? std::string(parsed->port()) : (t.tls ? "443" : "80");
  t.path_and_query = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) t.path_and_query += "?" + std::string(parsed->encoded_query());
  t.host_header = std::string(parsed->encoded_host_and_port());
  t.absolute = std::string(url);
  return t;
}

/// Classifies a transport error once, here.
error_code classify(const error_code& ec) {
  if (ec == beast::error::timeout || ec == asio::error::timed_out || ec == asio::error::operation_aborted)
    return errc::timeout;
  if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) return errc::invalid_input;
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
    return errc::invalid_input;
  if (ec == ssl::error::stream_truncated) return errc::retry;
  if (ec.category() == asio::error::get_ssl_category()) return errc::fail;  // verification, protocol
  return errc::retry;  // refused, reset, eof, DNS failure, partial answer
}

bool stale_connection_error(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == bhttp::error::end_of_stream || ec == ssl::error::stream_truncated;
}

struct connection {
  std::string key;
  bool tls = false;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  clock_type::time_point idle_since{};
  bool reused = false;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*secure) : *plain; }
  void close() {
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }
};

std::chrono::milliseconds left(clock_type::time_point deadline, std::chrono::milliseconds step) {
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  return std::max(std::chrono::milliseconds(1), std::min(remaining, step));
}

bool host_matches(const std::string& host, const std::vector<std::string>& suffixes) {
  for (const auto& s : suffixes) {
    if (s == "*") return true;
    std::string suffix = s.starts_with(".") ? s.substr(1) : s;
    if (host == suffix) return true;
    if (host.size() > suffix.size() && host.ends_with(suffix) && host[host.size() - suffix.size() - 1] == '.')
      return true;
  }
  return false;
}

}  // namespace

std::string_view response::get(std::string_view name) const noexcept {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() &&
        std::equal(h.name.begin(), h.name.end(), name.begin(),
                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                               std::tolower(static_cast<unsigned char>(b)); }))
      return h.value;
  }
  return {};
}

void client_options::proxy_from_environment() {
  for (const char* name : {"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"}) {
    if (const char* v = std::getenv(name); v && *v) { proxy = v; break; }
  }
  for (const char* name : {"no_proxy", "NO_PROXY"}) {
    if (const char* v = std::getenv(name); v && *v) {
      std::string all(v);
      size_t start = 0;
      while (start <= all.size()) {
        auto comma = all.find(',', start);
        std::string item = all.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) no_proxy.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      break;
    }
  }
}

/// A failed TLS handshake in words: a refused certificate says why OpenSSL refused it.
std::string tls_failure(beast::ssl_stream<beast::tcp_stream>& s, const target& t, const error_code& ec) {
  const std::string where = t.host + ":" + t.port;
  const long verify = SSL_get_verify_result(s.native_handle());
  if (verify != X509_V_OK || ec.message().find("certificate verify failed") != std::string::npos)
    return "TLS certificate verify failed for " + where + " (" + X509_verify_cert_error_string(verify) + ")";
  return "TLS handshake with " + where + " failed: " + ec.message();
}

struct client::impl : std::enable_shared_from_this<impl> {
  asio::any_io_executor ex;
  client_options opts;
  ssl::context ssl_ctx{ssl::context::tls_client};
  std::optional<target> proxy;
  std::mutex mutex;
  std::map<std::string, std::vector<std::unique_ptr<connection>>> idle;
  std::atomic<std::uint64_t> requests{0}, opened{0}, reused{0}, refreshes{0};
  std::string failure;  // last transport failure in words (guarded by mutex)

  /// Keeps `what` as the last failure and returns `ec` (one line: `return failed(ec, "...")`).
  error_code failed(error_code ec, std::string what) {
    std::lock_guard lock(mutex);
    failure = std::move(what);
    return ec;
  }
  const std::string& name() const { return opts.log_name; }

  impl(asio::any_io_executor e, client_options o) : ex(std::move(e)), opts(std::move(o)) {
    if (opts.user_agent.empty()) opts.user_agent = std::string("omnisync/") + version_string;
    if (opts.log_name.empty()) opts.log_name = "http";
    ssl_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ssl_ctx.set_default_verify_paths();
    if (opts.ca_file) {
      error_code ec;
      ssl_ctx.load_verify_file(opts.ca_file->string(), ec);
      if (ec) throw std::runtime_error("cannot load CA file " + opts.ca_file->string() + ": " + ec.message());
    }
    ssl_ctx.set_verify_mode(opts.verify_tls ? ssl::verify_peer : ssl::verify_none);
    if (!opts.proxy.empty()) {
      auto p = parse_target(opts.proxy);
      if (!p || p->tls) throw std::runtime_error("proxy must be an http:// URL: " + opts.proxy);
      proxy = *p;
    }
  }

  bool use_proxy(const target& t) const { return proxy && !host_matches(t.host, opts.no_proxy); }

  std::unique_ptr<connection> take_idle(const std::string& key) {
    std::lock_guard lock(mutex);
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    auto now = clock_type::now();
    while (!it->second.empty()) {
      auto c = std::move(it->second.back());
      it->second.pop_back();
      if (now - c->idle_since <= opts.idle_keepalive) {
        c->reused = true;
        return c;
      }
      c->close();
    }
    return nullptr;
  }

  void give_back(std::unique_ptr<connection> c) {
    std::lock_guard lock(mutex);
    auto& list = idle[c->key];
    if (list.size() >= opts.max_idle_per_host) { c->close(); return; }
    c->idle_since = clock_type::now();
    list.push_back(std::move(c));
  }

  asio::awaitable<result<std::unique_ptr<connection>>> connect(const target& t, std::string key,
                                                                clock_type::time_point deadline) {
    using namespace asio::experimental::awaitable_operators;
    const bool via_proxy = use_proxy(t);
    const std::string& host = via_proxy ? proxy->host : t.host;
    const std::string& port = via_proxy ? proxy->port : t.port;
    auto budget = left(deadline, opts.connect_timeout);

    tcp::resolver resolver(ex);
    asio::steady_timer timer(ex);
    timer.expires_after(budget);
    auto raced = co_await (resolver.async_resolve(host, port, tuple_awaitable) || timer.async_wait(tuple_awaitable));
    if (raced.index() == 1)
      co_return failed(errc::timeout, "no answer resolving " + host + " within " + std::to_string(budget.count()) + " ms");
    auto [rec, endpoints] = std::get<0>(raced);
    if (rec) co_return failed(classify(rec), "cannot resolve " + host + ": " + rec.message());

    auto c = std::make_unique<connection>();
    c->key = std::move(key);
    c->tls = t.tls;
    if (t.tls) c->secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, ssl_ctx);
    else c->plain = std::make_unique<beast::tcp_stream>(ex);

    c->lowest().expires_after(budget);
    auto [cec, ep] = co_await c->lowest().async_connect(endpoints, tuple_awaitable);
    if (cec) co_return failed(classify(cec), "cannot connect to " + host + ":" + port + ": " + cec.message());

    if (via_proxy && t.tls) {
      // An HTTPS target through a proxy: open a tunnel with CONNECT, then speak TLS inside it.
      bhttp::request<bhttp::empty_body> creq{bhttp::verb::connect, t.host_header, 11};
      creq.set(bhttp::field::host, t.host_header);
      creq.set(bhttp::field::user_agent, opts.user_agent);
      c->lowest().expires_after(left(deadline, opts.connect_timeout));
      auto [wec, wn] = co_await bhttp::async_write(c->lowest(), creq, tuple_awaitable);
      if (wec) co_return classify(wec);
      bhttp::response_parser<bhttp::empty_body> cres;
      cres.skip(true);  // a 2xx answer to CONNECT has no body
      auto [hec, hn] = co_await bhttp::async_read_header(c->lowest(), c->buffer, cres, tuple_awaitable);
      if (hec) co_return classify(hec);
      if (cres.get().result_int() / 100 != 2) {
        spdlog::warn("{}: proxy {}:{} refused a tunnel to {} with status {}", name(), proxy->host, proxy->port,
                     t.host_header, cres.get().result_int());
        co_return failed(errc::fail, "proxy " + proxy->host + ":" + proxy->port + " refused a tunnel to " +
                                         t.host_header + " (status " + std::to_string(cres.get().result_int()) + ")");
      }
      c->buffer.consume(c->buffer.size());
    }

    if (t.tls) {
      if (!SSL_set_tlsext_host_name(c->secure->native_handle(), t.host.c_str())) co_return errc::fail;
      if (opts.verify_tls) c->secure->set_verify_callback(ssl::host_name_verification(t.host));
      c->lowest().expires_after(left(deadline, opts.connect_timeout));
      auto [sec] = co_await c->secure->async_handshake(ssl::stream_base::client, tuple_awaitable);
      if (sec) {
        std::string what = tls_failure(*c->secure, t, sec);
        spdlog::warn("{}: {}", name(), what);
        co_return failed(classify(sec), std::move(what));
      }
    }
    ++opened;
    co_return std::move(c);
  }

  /// One request/answer exchange on an open connection. `stale` is set when the peer had closed a reused
  /// connection before answering anything: the request can then be sent again on a fresh one.
  template <class Stream>
  asio::awaitable<result<response>> exchange(Stream& stream, connection& c, const target& t, const request& req,
                                             clock_type::time_point deadline, bool& stale, bool& keep) {
    bhttp::request<bhttp::string_body> hreq;
    hreq.version(11);
    auto verb = bhttp::string_to_verb(req.method);
    if (verb == bhttp::verb::unknown) hreq.method_string(req.method);
    else hreq.method(verb);
    hreq.target(use_proxy(t) && !t.tls ? t.absolute : t.path_and_query);
    hreq.set(bhttp::field::host, t.host_header);
    hreq.set(bhttp::field::user_agent, opts.user_agent);
    for (const auto& h : req.headers) hreq.insert(h.name, h.value);
    hreq.body() = req.body;
    hreq.keep_alive(true);
    hreq.prepare_payload();

    c.lowest().expires_after(left(deadline, opts.read_timeout));
    auto [wec, wn] = co_await bhttp::async_write(stream, hreq, tuple_awaitable);
    if (wec) {
      stale = c.reused && stale_connection_error(wec);
      co_return classify(wec);
    }

    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(opts.max_response_body);
    parser.header_limit(64 * 1024);
    if (req.method == "HEAD") parser.skip(true);  // an answer to HEAD has no body, whatever its Content-Length says
    while (!parser.is_done()) {
      if (clock_type::now() >= deadline) co_return errc::timeout;
      c.lowest().expires_after(left(deadline, opts.read_timeout));
      auto [rec, rn] = co_await bhttp::async_read_some(stream, c.buffer, parser, tuple_awaitable);
      if (rec) {
        stale = c.reused && !parser.got_some() && stale_connection_error(rec);
        co_return classify(rec);
      }
    }
    auto& msg = parser.get();
    response out;
    out.status = static_cast<int>(msg.result_int());
    for (const auto& f : msg) out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    out.body = std::move(msg.body());
    keep = msg.keep_alive();
    co_return out;
  }

  asio::awaitable<result<response>> send(request req) {
    auto self = shared_from_this();  // keep the pool alive while this request runs
    ++requests;
    auto deadline = clock_type::now() + req.timeout.value_or(opts.total_timeout);
    auto t = parse_target(req.url);
    if (!t) co_return t.error();
    std::string key = (t->tls ? "https://" : "http://") + t->host + ":" + t->port;

    for (int attempt = 0; attempt < 2; ++attempt) {
      auto c = attempt == 0 ? take_idle(key) : nullptr;
      if (c) ++reused;
      else {
        auto fresh = co_await connect(*t, key, deadline);
        if (!fresh) co_return fresh.error();
        c = std::move(*fresh);
      }
      bool stale = false, keep = false;
      // (No co_await inside ?: — GCC 12 miscompiles it.)
      result<response> r = errc::fail;
      if (c->tls) r = co_await exchange(*c->secure, *c, *t, req, deadline, stale, keep);
      else r = co_await exchange(*c->plain, *c, *t, req, deadline, stale, keep);
      if (r) {
        if (keep) give_back(std::move(c));
        else c->close();
        co_return r;
      }
      c->close();
      if (!stale)
        co_return failed(r.error(), "no complete answer from " + t->host + ":" + t->port + " (" + r.error().message() + ")");
      // The reused connection had been closed by the server; it never saw this request. Try a fresh one.
    }
    co_return errc::retry;
  }
};

client::client(asio::any_io_executor ex, client_options options)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(options))) {}

client::~client() { close_idle(); }

std::string client::last_failure() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->failure;
}

asio::awaitable<result<response>> client::send(request req) {
  auto self = impl_;
  auto r = co_await self->send(std::move(req));
  co_return r;
}

asio::awaitable<result<response>> client::send_authorized(request req, token_source auth) {
  auto self = impl_;
  auto token = co_await auth(false);
  if (!token) co_return token.error();
  auto with_token = [&req](const std::string& value) {
    request copy = req;
    copy.headers.push_back({"Authorization", value});
    return copy;
  };
  auto first = co_await self->send(with_token(*token));
  if (!first || first->status != 401) co_return first;
  ++self->refreshes;
  auto fresh = co_await auth(true);
  if (!fresh) co_return fresh.error();
  auto second = co_await self->send(with_token(*fresh));
  co_return second;
}

void client::close_idle() {
  std::lock_guard lock(impl_->mutex);
  for (auto& [key, list] : impl_->idle)
    for (auto& c : list) c->close();
  impl_->idle.clear();
}

client_stats client::stats() const {
  return {impl_->requests.load(), impl_->opened.load(), impl_->reused.load(), impl_->refreshes.load()};
}

}  // namespace omnisync::http
