#pragma once
/// The project's error vocabulary for runtime paths.
///
/// Every runtime operation that can fail for an expected reason returns `omnisync::result<T>`
/// (boost::system::result: a value or an error_code). Errors that cross module lines are classified into
/// `omnisync::errc` exactly once, where they are first seen (an adapter classifies its vendor's answers, the
/// store classifies SQLite's); retry, backoff and rate limiting are then decided from the class alone.
/// Exceptions are reserved for start-up/config failures and bugs.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <system_error>

namespace omnisync {

template <class T>
using result = boost::system::result<T, boost::system::error_code>;

enum class errc : int {
  ok = 0,
  retry = 1,          ///< Transient failure (5xx, reset, timeout, busy database): try again after backoff.
  rate_limited = 2,   ///< The remote asked us to slow down (429, budget exhausted): wait as it said, then retry.
  auth_expired = 3,   ///< Credentials expired or were revoked (401): refresh once, then fail.
  not_found = 4,      ///< The addressed thing does not exist (404, unknown id, unknown profile).
  invalid_input = 5,  ///< The request or record is malformed; retrying the same input cannot succeed.
  fail = 6,           ///< Permanent failure that is none of the above; log with context and dead-letter.
  conflict = 7,       ///< Lost a race (lease fencing token outdated, concurrent update): re-read and retry.
  cancelled = 8,      ///< The operation was cancelled because the daemon is stopping or the task was paused.
  timeout = 9,        ///< The operation exceeded its deadline (a kind of `retry` that is worth counting apart).
};

const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// True for the classes a caller may retry after backoff.
inline bool is_retryable(const boost::system::error_code& ec) noexcept {
  if (ec.category() != error_category()) return false;
  auto e = static_cast<errc>(ec.value());
  return e == errc::retry || e == errc::rate_limited || e == errc::timeout || e == errc::conflict;
}

}  // namespace omnisync

namespace boost::system {
template <>
struct is_error_code_enum<omnisync::errc> : std::true_type {};
}  // namespace boost::system
