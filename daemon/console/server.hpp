#pragma once
/// The console's listener: HTTP/1.1 (HTTPS when a certificate and key are configured) on its own address,
/// separate from the webhook listener, answering through a `service` (service.hpp).
///
/// Protection against slow or many clients: a TLS handshake and each request header must arrive within
/// `header_timeout`, a body within `body_timeout` (at most `max_body` bytes: 413 beyond), an answer must be taken
/// within `body_timeout`, a keep-alive connection idle for `idle_timeout` is closed. At `max_connections` open
/// connections the one that has waited longest for a request (idle keep-alive, a slow header or handshake) is
/// closed to make room for the new one; only when every connection is busy with a request is the new one answered
/// 503 and closed. Each connection runs on its own strand, so a slow client holds only its own connection, never
/// the daemon's other work.
///
/// Behind a reverse proxy (`trusted_proxy`: the proxy's address), a request whose peer is that address has its
/// client address taken from the last `X-Forwarded-For` entry (the one the proxy added) and its scheme from
/// `X-Forwarded-Proto` (so cookies get `Secure` and the same-origin check expects `https://`); from any other
/// peer those headers are ignored, so a client cannot claim another address or scheme.
///
/// Lifecycle: construct, `start()` binds (port 0 picks one) and loads the TLS files, `run()` accepts until `stop()`
/// and returns once every connection finished. `reload_tls()` reads the certificate and key again (on `reload`):
/// new connections use the new pair, open ones keep theirs; a pair that does not load leaves the old one in use.
/// Beast stays in server.cpp. Thread safety: `stop()` and `reload_tls()` from any thread.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/error.hpp"

namespace omnisync::console {

class service;

struct server_options {
  std::string listen = "127.0.0.1:8089";  ///< host:port
  std::filesystem::path tls_cert, tls_key;  ///< PEM files; both empty: plain HTTP
  unsigned max_connections = 64;
  std::size_t max_body = 64 * 1024;
  std::chrono::milliseconds header_timeout{10000}, body_timeout{10000}, idle_timeout{30000};
  std::string trusted_proxy;  ///< an IP address: X-Forwarded-For/-Proto honoured from that peer only; empty: never
};

class server {
 public:
  server(boost::asio::any_io_executor ex, server_options options, std::shared_ptr<service> answers);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Loads the TLS files and binds; the bound port, or errc::fail with a logged reason.
  omnisync::result<unsigned short> start();
  boost::asio::awaitable<void> run();
  void stop();
  /// Loads `cert` and `key` (PEM) and serves new connections with them. A console started without TLS stays
  /// plain (that change needs a restart). On failure the old pair stays in use and `why` says what failed.
  omnisync::result<void> reload_tls(const std::filesystem::path& cert, const std::filesystem::path& key,
                                    std::string* why = nullptr);
  /// Connections open now (any thread).
  unsigned connections() const noexcept;
  /// Connections closed to make room at the limit, and new ones refused (503) because every one was busy.
  std::uint64_t shed() const noexcept;
  std::uint64_t refused() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace omnisync::console
