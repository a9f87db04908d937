#pragma once
/// The HTTPS client every adapter uses to talk to a vendor's API.
///
/// Boost.Beast + OpenSSL behind a pimpl, so this header pulls in no Beast. One `client` per connector keeps a
/// keep-alive connection pool per (scheme, host, port); TLS is verified by default (system trust store plus an
/// optional extra CA file, SNI, host name check); every request has a connect timeout, a per-read idle timeout and a
/// total deadline; an `https_proxy`/`http_proxy` is used through CONNECT tunnels.
///
/// Per SEAMS.md, the client does exactly one kind of retry: a request sent with `send_authorized` that gets a 401
/// asks its token source for a fresh token once and is sent again. Everything else (backoff, Retry-After, rate
/// budgets) is decided by the sync layer from the classified error or the response status. A request whose reused
/// keep-alive connection turns out to be closed by the peer before any byte of the answer arrived is re-sent on a
/// fresh connection: the server never saw it.
///
/// Thread safety: a client is used from one strand (its connector's); `send` may be called concurrently from
/// coroutines on that strand — each request takes its own connection.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace omnisync::http {

struct header {
  std::string name;
  std::string value;
};

struct request {
  std::string method = "GET";
  std::string url;                                   ///< absolute http:// or https:// URL
  std::vector<header> headers;                       ///< Host, User-Agent and Content-Length are added
  std::string body;
  std::optional<std::chrono::milliseconds> timeout;  ///< total deadline; the client's default when empty
};

struct response {
  int status = 0;
  std::vector<header> headers;
  std::string body;
  /// First header with this name (case-insensitive), empty when absent.
  std::string_view get(std::string_view name) const noexcept;
};

struct client_options {
  std::optional<std::filesystem::path> ca_file;        ///< extra trust anchor (e.g. the simulator's CA)
  bool verify_tls = true;                              ///< never turn off outside tests
  std::chrono::milliseconds connect_timeout{10000};    ///< DNS + TCP connect + TLS handshake (+ proxy CONNECT)
  std::chrono::milliseconds read_timeout{30000};       ///< longest silence while writing or reading
  std::chrono::milliseconds total_timeout{120000};     ///< whole request, including a refresh-and-resend
  std::size_t max_response_body = 64u << 20;           ///< larger answers fail with errc::invalid_input
  std::size_t max_idle_per_host = 8;
  std::chrono::milliseconds idle_keepalive{30000};     ///< idle pooled connections older than this are closed
  std::string proxy;                                   ///< http://host:port; empty: none
  std::vector<std::string> no_proxy;                   ///< host suffixes that bypass the proxy
  std::string user_agent;                              ///< default "omnisync/<version>"
  /// Names the client in its log lines (the connector's name); "http" when empty.
  std::string log_name;

  /// Fills `proxy`/`no_proxy` from https_proxy/HTTPS_PROXY/http_proxy and no_proxy/NO_PROXY.
  void proxy_from_environment();
};

/// Returns an "Authorization" header value ("Bearer ..."); `force_refresh` after a 401.
using token_source = std::function<boost::asio::awaitable<result<std::string>>(bool force_refresh)>;

struct client_stats {
  std::uint64_t requests = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_reused = 0;
  std::uint64_t auth_refreshes = 0;
};

/// Error classes returned (omnisync::errc): `timeout` (connect/read/total deadline), `retry` (refused, reset,
/// closed mid-answer, DNS failure), `fail` (TLS verification failed, unsupported URL scheme, proxy refused the
/// tunnel), `invalid_input` (malformed URL, malformed or oversized answer). HTTP statuses are not errors: the
/// caller classifies them.
class client {
 public:
  /// Throws std::runtime_error when the CA file cannot be loaded (a start-up/config failure).
  client(boost::asio::any_io_executor ex, client_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  boost::asio::awaitable<result<response>> send(request req);
  /// As `send`, with an Authorization header from `auth`; on 401, refreshes once and sends again.
  boost::asio::awaitable<result<response>> send_authorized(request req, token_source auth);

  /// Closes every pooled idle connection (on reload or shutdown).
  void close_idle();
  /// The most recent transport failure in words, naming the host and port ("TLS certificate verify failed for
  /// 127.0.0.1:42583 (unable to get local issuer certificate)", "cannot connect to 127.0.0.1:9: Connection
  /// refused"); "" when none happened. Read right after a failed send on the same strand, it is that send's.
  std::string last_failure() const;
  client_stats stats() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace omnisync::http
