#pragma once
/// Settings every vendor adapter declares alike, so each vendor's schema (adapters/<vendor>/settings.cpp) says
/// them in one line: the HTTPS deadlines (`sync.connect_timeout`, `sync.read_timeout`, `sync.request_timeout`)
/// and the retries of one call (`sync.max_attempts`, the longest Retry-After wait, the backoff). Their defaults
/// are those of `http::client_options` and `pacing::call_policy`, so the reference shows what the code does.
///
/// Declaring functions, called while a schema is built (once); thread-safe like the schema afterwards.
#include <functional>

#include "adapters/http/http_client.hpp"
#include "adapters/pacing/api_call.hpp"
#include "config/connector.hpp"
#include "config/schema.hpp"

namespace omnisync::adapters::rest {

/// `sync.connect_timeout`, `sync.read_timeout`, `sync.request_timeout` into the `http::client_options` that
/// `access` (a member pointer of the settings struct) reaches.
template <class F>
void declare_timeouts(config::schema& sync, F access) {
  using S = typename config::detail::access_traits<F>::object;
  const http::client_options d;
  sync.duration("connect_timeout", "DNS, TCP connect and TLS handshake (and a proxy's CONNECT)")
      .at_least(std::chrono::milliseconds(1))
      .fallback(d.connect_timeout)
      .into([access](S& s) -> auto& { return std::invoke(access, s).connect_timeout; });
  sync.duration("read_timeout", "longest silence while writing a request or reading its answer")
      .at_least(std::chrono::milliseconds(1))
      .fallback(d.read_timeout)
      .into([access](S& s) -> auto& { return std::invoke(access, s).read_timeout; });
  sync.duration("request_timeout", "one whole request, a token refresh and resend included")
      .at_least(std::chrono::milliseconds(1))
      .fallback(d.total_timeout)
      .into([access](S& s) -> auto& { return std::invoke(access, s).total_timeout; });
}

/// Which retry keys a vendor reads: the longest Retry-After wait's name, and whether the backoff is settable.
struct retry_keys {
  const char* max_wait = "max_retry_wait";
  bool backoff = true;
};

/// `sync.max_attempts`, `sync.<max_wait>` and (when `keys.backoff`) `sync.backoff_base`, `sync.backoff_cap` into
/// the `pacing::call_policy` that `access` reaches.
template <class F>
void declare_retries(config::schema& sync, F access, retry_keys keys = {}) {
  using S = typename config::detail::access_traits<F>::object;
  const pacing::call_policy d;
  sync.integer("max_attempts", "tries of one call (5xx, timeouts, 429), the first included")
      .range(1, 20)
      .fallback(d.max_attempts)
      .into([access](S& s) -> auto& { return std::invoke(access, s).max_attempts; });
  sync.duration(keys.max_wait, "the longest Retry-After waited; a longer one makes the call `rate_limited`")
      .fallback(d.max_wait)
      .into([access](S& s) -> auto& { return std::invoke(access, s).max_wait; });
  if (!keys.backoff) return;
  sync.duration("backoff_base", "first wait before a retry (doubled each time, with jitter)")
      .fallback(d.backoff_base)
      .into([access](S& s) -> auto& { return std::invoke(access, s).backoff_base; });
  sync.duration("backoff_cap", "longest wait between retries")
      .fallback(d.backoff_cap)
      .into([access](S& s) -> auto& { return std::invoke(access, s).backoff_cap; });
}

/// Completes bound client options with what the common keys say (`tls.ca_file`, `tls.verify`) and the proxy
/// from the environment.
void apply_connection(http::client_options& o, const config::connector_common& cfg);

}  // namespace omnisync::adapters::rest
