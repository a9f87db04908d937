#include "daemon/http/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <cctype>

#include "daemon/http/routes.hpp"

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

constexpr std::size_t header_limit = 16 * 1024;

/// Whether a parse error is the request's fault (malformed or ambiguous framing: answered 400) rather than the
/// connection's (closed, timed out).
bool malformed(const boost::system::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::need_more && ec != bhttp::error::partial_message && ec != bhttp::error::end_of_stream;
}

/// A header folded over several lines (obs-fold: a line that starts with a space or tab). RFC 9112 lets a server
/// unfold it or refuse it; it is refused because a proxy in front may have read the message differently (request
/// smuggling). `head` is the whole header, its final blank line included.
bool has_obs_fold(std::string_view head) {
  for (std::size_t i = head.find("\r\n"); i != std::string_view::npos && i + 4 < head.size();
       i = head.find("\r\n", i + 2))
    if (head[i + 2] == ' ' || head[i + 2] == '\t') return true;
  return false;
}

}  // namespace

connection::connection(tcp::socket socket, connection_limits limits, std::shared_ptr<router> routes)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), limits_(limits), routes_(std::move(routes)) {}

void connection::start_io(std::chrono::milliseconds timeout) {
  in_io_ = true;
  deadline_ = clock::now() + timeout;
  if (deadline_ < armed_) arm(deadline_);
}

void connection::finish() {
  finished_ = true;
  timer_.cancel();
}

void connection::cancel() {
  boost::system::error_code ignored;
  socket_.cancel(ignored);
}

void connection::arm(clock::time_point when) {
  armed_ = when;
  const auto gen = ++generation_;
  timer_.expires_at(when);  // cancels the previous wait, whose handler then sees an old generation
  timer_.async_wait([self = shared_from_this(), gen](boost::system::error_code) {
    if (self->finished_ || gen != self->generation_) return;
    const auto now = clock::now();
    if (self->in_io_ && now >= self->deadline_) {
      boost::system::error_code ignored;
      self->socket_.close(ignored);
      return;
    }
    // Fired early: the deadline moved on, or the request is being processed (no I/O, no timeout: the next
    // operation brings a deadline later than this re-arm, or re-arms itself if earlier).
    self->arm(self->in_io_ ? self->deadline_ : now + std::chrono::seconds(1));
  });
}

asio::awaitable<bool> connection::send() {
  boost::system::error_code ec;
  const std::size_t n = asio::write(socket_, asio::buffer(out_), ec);
  if (!ec) co_return true;
  if (ec != asio::error::would_block && ec != asio::error::try_again) co_return false;
  start_io(limits_.body_timeout);
  auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(out_.data() + n, out_.size() - n),
                                              tuple_awaitable);
  end_io();
  co_return !wec;
}

asio::awaitable<void> connection::linger() {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 16 * 1024> scratch;
  std::size_t discarded = 0;
  start_io(std::chrono::milliseconds(2000));  // the deadline closes the socket: the read below then ends
  while (discarded < (4u << 20)) {
    auto [rec, n] = co_await socket_.async_read_some(asio::buffer(scratch), tuple_awaitable);
    if (rec) break;
    discarded += n;
  }
  end_io();
}

asio::awaitable<void> connection::serve(std::shared_ptr<connection> self, std::string remote) {
  connection& c = *self;
  router& routes = *c.routes_;
  beast::flat_buffer buffer;
  bool first = true;
  boost::system::error_code nb;
  c.socket_.non_blocking(true, nb);  // answers are first written without waiting (see send())
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(header_limit);
    c.start_io(first ? c.limits_.header_timeout : std::min(c.limits_.idle_timeout, c.limits_.header_timeout * 6));
    first = false;
    c.waiting_->waiting();
    // The header is read whole (up to its blank line) before Beast parses it, so that its raw bytes can be checked
    // for what the parser would silently accept (obs-fold). That, framing Beast refuses (Content-Length with
    // Transfer-Encoding, differing Content-Lengths) and any other malformed header get 400, then the connection
    // is closed: nothing after an ambiguous request is read as another one.
    std::size_t header_bytes = 0;
    boost::system::error_code hec;
    for (std::size_t scanned = 0;;) {
      const std::string_view seen(static_cast<const char*>(buffer.data().data()), buffer.size());
      if (auto end = seen.find("\r\n\r\n", scanned); end != std::string_view::npos) {
        header_bytes = end + 4;
        break;
      }
      scanned = seen.size() < 3 ? 0 : seen.size() - 3;
      if (seen.size() >= header_limit) {
        hec = bhttp::error::header_limit;
        break;
      }
      auto [rec, rn] = co_await c.socket_.async_read_some(buffer.prepare(std::min<std::size_t>(
                                                              8192, header_limit + 4 - seen.size())),
                                                          tuple_awaitable);
      if (rec) {
        hec = rec;
        break;
      }
      buffer.commit(rn);
    }
    c.waiting_->working();
    c.end_io();
    if (hec) {
      if (hec == bhttp::error::header_limit) {
        render(c.out_, 431, {}, {}, false, false);
        co_await c.send();
      }
      break;
    }
    {
      const std::string_view raw(static_cast<const char*>(buffer.data().data()), header_bytes);
      const bool folded = has_obs_fold(raw);
      beast::error_code pec;
      if (!folded) {
        const auto used = parser.put(asio::buffer(raw.data(), raw.size()), pec);
        buffer.consume(used);
        if (!pec && !parser.is_header_done()) pec = bhttp::error::need_more;
      }
      if (folded || pec) {
        render(c.out_, 400, "text/plain", "bad request\n", false, false);
        co_await c.send();
        break;
      }
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
      rt = routes.find(label);
    }
    // Only webhooks take a body: elsewhere any body is too large. A route takes the configured http.max_body
    // unless its vendor documents larger bodies.
    const std::size_t limit = !webhook_path ? 0 : rt && rt->max_body ? rt->max_body : c.limits_.max_body;
    auto declared = parser.content_length();
    bool too_large = declared && *declared > limit;
    if (!too_large) {
      parser.body_limit(limit);
      if (iequals(head[bhttp::field::expect], "100-continue")) {
        c.out_.assign("HTTP/1.1 100 Continue\r\n\r\n");
        if (!co_await c.send()) break;
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
        if (malformed(pec)) {
          render(c.out_, 400, "text/plain", "bad request\n", false, false);
          co_await c.send();
        }
        break;
      } else if (!parser.is_done()) {
        c.start_io(c.limits_.body_timeout);
        auto [bec, bn] = co_await bhttp::async_read(c.socket_, buffer, parser, tuple_awaitable);
        c.end_io();
        if (bec == bhttp::error::body_limit) {
          too_large = true;
        } else if (bec) {
          if (malformed(bec)) {
            render(c.out_, 400, "text/plain", "bad request\n", false, false);
            co_await c.send();
          }
          break;
        }
      }
    }
    if (too_large) {
      render(c.out_, 413, "text/plain", "request body too large\n", false, false);
      const bool answered = co_await c.send();
      routes.count_too_large(label);
      if (answered) co_await c.linger();
      break;
    }

    auto started = std::chrono::steady_clock::now();
    auto msg = parser.release();
    adapters::inbound_request req;
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
    const bool keep = msg.keep_alive() && !routes.stopping();
    const bool head_only = msg.method() == bhttp::verb::head;

    auto d = routes.decide(req, rt);
    if (d.event) d = co_await routes.deliver(std::move(d));
    render(c.out_, d.ack.status, d.ack.content_type, d.ack.body, keep, head_only);
    routes.count(d, started);
    // As send(), without a coroutine call for the usual answer that the socket takes at once.
    boost::system::error_code wec;
    const std::size_t sent = asio::write(c.socket_, asio::buffer(c.out_), wec);
    if (wec) {
      if (wec != asio::error::would_block && wec != asio::error::try_again) break;
      c.out_.erase(0, sent);
      if (!co_await c.send()) break;
    }
    if (!keep) break;
  }
  c.finish();
  beast::error_code ignored;
  c.socket_.shutdown(tcp::socket::shutdown_send, ignored);
  c.socket_.close(ignored);
}

}  // namespace omnisync::http
