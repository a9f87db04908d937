#pragma once
/// Structured fields of a log line: which connector, object, record, run and error code it is about.
///
/// A call site that knows them logs through `log_with(level, fields, fmt, args...)` instead of `spdlog::warn(...)`;
/// the message text stays what it was (text and journald output are unchanged), and the daemon's JSON log output
/// (daemon/app/logging.cpp) adds each non-empty field as a key of the line's object. The fields travel to the sink
/// in a thread-local pointer that is set only for the duration of that one synchronous spdlog call (sinks run on
/// the calling thread; no scope spans a `co_await`), so coroutines hopping threads cannot see each other's fields.
///
/// Thread safety: every function may be called from any thread. `log_fields` holds views: the strings must
/// outlive the call (they always do when built from locals at the call site). Empty strings and a zero run are
/// left out of the line.
#include <spdlog/spdlog.h>

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace omnisync {

struct log_fields {
  std::string_view connector;  ///< the connector's configured name ("crm")
  std::string_view object;     ///< the vendor object ("contacts", "Contact")
  std::string_view record;     ///< a record id, upsert key or webhook dedupe key
  std::int64_t run = 0;        ///< the run (poll cycle, resync, ...) the line belongs to; 0: none
  std::string_view error;      ///< a short error code: the vendor's ("VALIDATION_ERROR") or errc's ("rate_limited")
};

namespace detail {
inline thread_local const log_fields* current_log_fields = nullptr;
}

/// The fields of the log call running on this thread, or nullptr (read by the sink).
inline const log_fields* current_log_fields() noexcept { return detail::current_log_fields; }

/// Logs through `log` with `fields` attached.
template <class... Args>
void log_with(spdlog::logger& log, spdlog::level::level_enum level, const log_fields& fields,
              spdlog::format_string_t<Args...> fmt, Args&&... args) {
  if (!log.should_log(level)) return;
  struct restore {
    const log_fields* previous;
    ~restore() { detail::current_log_fields = previous; }
  } r{detail::current_log_fields};
  detail::current_log_fields = &fields;
  log.log(level, fmt, std::forward<Args>(args)...);
}

/// Logs through the default logger with `fields` attached.
template <class... Args>
void log_with(spdlog::level::level_enum level, const log_fields& fields, spdlog::format_string_t<Args...> fmt,
              Args&&... args) {
  log_with(*spdlog::default_logger_raw(), level, fields, fmt, std::forward<Args>(args)...);
}

/// A short code for an error: errc's own name ("rate_limited", "invalid_input") for the project's errors,
/// "<category>:<value>" for others, empty for success.
std::string error_code_name(const boost::system::error_code& ec);

/// The code a vendor's error text begins with, as the adapters write them ("VALIDATION_ERROR: Property ..." ->
/// "VALIDATION_ERROR", "INVALID_FIELD: ..." -> "INVALID_FIELD"): the text before the first ": " when it is one
/// word of letters, digits, '_', '.' or '-' (at most 64 characters); else empty.
std::string_view vendor_error_code(std::string_view text) noexcept;

}  // namespace omnisync
