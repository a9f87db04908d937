#include "daemon/sync/connection_check.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <variant>

#include "adapters/connector.hpp"
#include "core/health.hpp"

namespace omnisync::sync {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using std::chrono::milliseconds;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct endpoint_url {
  bool tls = false;
  std::string host, port;
};

std::optional<endpoint_url> parse_endpoint(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return std::nullopt;
  endpoint_url e;
  if (parsed->scheme() == "https") e.tls = true;
  else if (parsed->scheme() != "http") return std::nullopt;
  e.host = std::string(parsed->host_address());
  if (e.host.empty()) return std::nullopt;
  e.port = parsed->has_port() ? std::string(parsed->port()) : (e.tls ? "443" : "80");
  return e;
}

std::string ms_text(std::chrono::steady_clock::time_point since) {
  return std::to_string(
             std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - since).count()) + " ms";
}

/// Resolve, connect and (for https) a verified TLS handshake, each a step; false when one failed.
asio::awaitable<bool> network_steps(const config::connector_common& cfg, const check_options& opts,
                                    std::vector<check_step>& steps) {
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  auto ep = parse_endpoint(cfg.base_url);
  if (!ep) {
    steps.push_back({"resolve", false, false, "base_url is not an http(s) URL: " + cfg.base_url});
    co_return false;
  }
  const std::string where = ep->host + ":" + ep->port;
  // resolve
  tcp::resolver resolver(ex);
  asio::steady_timer timer(ex, opts.timeout);
  auto started = std::chrono::steady_clock::now();
  auto raced = co_await (resolver.async_resolve(ep->host, ep->port, tuple_awaitable) || timer.async_wait(tuple_awaitable));
  if (raced.index() == 1) {
    steps.push_back({"resolve", false, false, "no answer resolving " + ep->host + " within " +
                                                  std::to_string(opts.timeout.count()) + " ms"});
    co_return false;
  }
  auto [rec, endpoints] = std::get<0>(raced);
  if (rec) {
    steps.push_back({"resolve", false, false, "cannot resolve " + ep->host + ": " + rec.message()});
    co_return false;
  }
  std::string addresses;
  for (const auto& e : endpoints)
    addresses += (addresses.empty() ? "" : ", ") + e.endpoint().address().to_string();
  steps.push_back({"resolve", true, false, ep->host + " is " + addresses});
  // connect
  tcp::socket sock(ex);
  timer.expires_after(opts.timeout);
  started = std::chrono::steady_clock::now();
  auto connected = co_await (asio::async_connect(sock, endpoints, tuple_awaitable) || timer.async_wait(tuple_awaitable));
  if (connected.index() == 1) {
    steps.push_back({"connect", false, false, "no connection to " + where + " within " +
                                                  std::to_string(opts.timeout.count()) + " ms"});
    co_return false;
  }
  if (auto [cec, _] = std::get<0>(connected); cec) {
    steps.push_back({"connect", false, false, "cannot connect to " + where + ": " + cec.message()});
    co_return false;
  }
  steps.push_back({"connect", true, false, "connected to " + where + " in " + ms_text(started)});
  // tls
  if (!ep->tls) {
    steps.push_back({"tls", true, true, "plain HTTP: no TLS to verify"});
    co_return true;
  }
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx.set_default_verify_paths();
  if (cfg.ca_file) {
    boost::system::error_code ec;
    ctx.load_verify_file(cfg.ca_file->string(), ec);
    if (ec) {
      steps.push_back({"tls", false, false, "cannot load tls.ca_file " + cfg.ca_file->string() + ": " + ec.message()});
      co_return false;
    }
  }
  ctx.set_verify_mode(cfg.tls_verify ? ssl::verify_peer : ssl::verify_none);
  ssl::stream<tcp::socket> stream(std::move(sock), ctx);
  SSL_set_tlsext_host_name(stream.native_handle(), ep->host.c_str());
  if (cfg.tls_verify) stream.set_verify_callback(ssl::host_name_verification(ep->host));
  timer.expires_after(opts.timeout);
  auto shaken = co_await (stream.async_handshake(ssl::stream_base::client, tuple_awaitable) ||
                          timer.async_wait(tuple_awaitable));
  if (shaken.index() == 1) {
    steps.push_back({"tls", false, false, "no TLS handshake with " + where + " within " +
                                              std::to_string(opts.timeout.count()) + " ms"});
    co_return false;
  }
  if (auto [sec] = std::get<0>(shaken); sec) {
    const long verify = SSL_get_verify_result(stream.native_handle());
    if (verify != X509_V_OK)
      steps.push_back({"tls", false, false,
                       "TLS certificate verify failed for " + where + " (" + X509_verify_cert_error_string(verify) +
                           (cfg.ca_file ? ")" : "; is tls.ca_file set?)")});
    else
      steps.push_back({"tls", false, false, "TLS handshake with " + where + " failed: " + sec.message()});
    co_return false;
  }
  std::string subject;
  if (X509* cert = SSL_get1_peer_certificate(stream.native_handle())) {
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    subject = buf;
    X509_free(cert);
  }
  steps.push_back({"tls", true, false,
                   cfg.tls_verify ? "certificate verified for " + ep->host + (subject.empty() ? "" : " (" + subject + ")")
                                  : "handshake done; tls.verify is off, the certificate was NOT verified"});
  boost::system::error_code ignored;
  stream.lowest_layer().close(ignored);
  co_return true;
}

/// Why a read failed, in the vendor's words when the connector's health explains it.
std::string read_failure(const adapters::connector& c, const boost::system::error_code& ec) {
  const auto h = c.usage().health;
  if (h.state != health_state::ok && h.state != health_state::unknown) return health_text(h);
  return ec.message();
}

}  // namespace

bool check_report::ok() const {
  for (const auto& s : steps)
    if (!s.ok && !s.skipped) return false;
  return true;
}

asio::awaitable<check_report> check_connection(config::connector_common cfg, check_options opts) {
  using namespace asio::experimental::awaitable_operators;
  check_report r;
  r.connector = cfg.name;
  r.kind = cfg.kind;
  auto ex = co_await asio::this_coro::executor;
  bool reachable = true;
  if (cfg.base_url.empty())
    r.steps.push_back({"resolve", true, true, "no base_url configured: the adapter's default is checked by reading"});
  else
    reachable = co_await network_steps(cfg, opts, r.steps);
  std::unique_ptr<adapters::connector> adapter;
  try {
    adapters::connector_context ctx{ex, opts.public_url, nullptr};
    adapter = adapters::make_connector(cfg, ctx);
  } catch (const std::exception& e) {
    r.steps.push_back({"configure", false, false, e.what()});
    co_return r;
  }
  auto objects = adapter->objects();
  if (!reachable) {
    r.steps.push_back({"authenticate", false, true, "not tried: the vendor cannot be reached"});
    for (const auto& o : objects) r.steps.push_back({"read " + o, false, true, "not tried"});
  } else {
    bool authenticated = false, refused = false;
    for (const auto& o : objects) {
      if (refused) {
        r.steps.push_back({"read " + o, false, true, "not tried: the credentials were refused"});
        continue;
      }
      asio::steady_timer timer(ex, opts.timeout);
      adapters::page_request req(o, std::nullopt, adapters::poll_mode::full);
      const auto started = std::chrono::steady_clock::now();
      auto raced = co_await (adapter->poll(std::move(req)) || timer.async_wait(tuple_awaitable));
      if (raced.index() == 1) {
        if (!authenticated) r.steps.push_back({"authenticate", false, false, read_failure(*adapter, errc::timeout)});
        authenticated = true;
        r.steps.push_back({"read " + o, false, false,
                           "no page within " + std::to_string(opts.timeout.count()) + " ms (" +
                               read_failure(*adapter, errc::timeout) + ")"});
        continue;
      }
      auto& pg = std::get<0>(raced);
      if (!authenticated) {
        authenticated = true;
        const auto h = adapter->usage().health;
        if (!pg && (pg.error() == errc::auth_expired || h.state == health_state::unauthorized)) {
          refused = true;
          r.steps.push_back({"authenticate", false, false, health_text(h)});
          r.steps.push_back({"read " + o, false, true, "not tried: the credentials were refused"});
          continue;
        }
        if (!pg && h.state == health_state::unreachable) {
          r.steps.push_back({"authenticate", false, false, health_text(h)});
        } else {
          r.steps.push_back({"authenticate", true, false, "credentials accepted"});
        }
      }
      if (!pg) {
        r.steps.push_back({"read " + o, false, false, read_failure(*adapter, pg.error())});
        continue;
      }
      std::string detail = std::to_string(pg->records.size()) + " record(s) in the first page";
      if (!pg->records.empty()) detail += " (first id " + pg->records.front().id + ")";
      if (pg->total) detail += ", " + std::to_string(*pg->total) + " in all";
      detail += ", " + ms_text(started);
      r.steps.push_back({"read " + o, true, false, std::move(detail)});
    }
  }
  // Webhooks: what the vendor must be told, and whether the daemon can tell it the right URL.
  if (auto wh = adapter->webhook(); !wh) {
    r.steps.push_back({"webhooks", true, true, "no webhook configured: changes arrive by polling only"});
  } else if (opts.public_url.empty()) {
    r.steps.push_back({"webhooks", false, false,
                       "webhooks are configured but http.public_url is not set: the vendor cannot be told where to "
                       "deliver (and signed URLs cannot be checked)"});
  } else {
    std::string base = opts.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    r.steps.push_back({"webhooks", true, false, "the vendor delivers to " + base + "/webhooks/" + cfg.name});
  }
  co_return r;
}

boost::json::object to_json(const check_report& r) {
  boost::json::array steps;
  for (const auto& s : r.steps)
    steps.push_back(boost::json::object{{"step", s.name}, {"ok", s.ok}, {"skipped", s.skipped}, {"detail", s.detail}});
  return boost::json::object{{"connector", r.connector}, {"kind", r.kind}, {"ok", r.ok()}, {"steps", std::move(steps)}};
}

std::string format_report(const check_report& r) {
  std::string out = r.connector + " (" + r.kind + "): " + (r.ok() ? "ok" : "FAILED") + "\n";
  for (const auto& s : r.steps) {
    const char* mark = s.skipped ? "skip" : s.ok ? "pass" : "FAIL";
    out += "  " + std::string(mark) + "  " + s.name + ": " + s.detail + "\n";
  }
  return out;
}

}  // namespace omnisync::sync
