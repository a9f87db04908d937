#pragma once
/// Opaque cursors of Zendesk's cursor-based incremental exports (api-notes §3.2). Zendesk's cursors are
/// base64 of `<updated_at seconds>.0||<id>|`; the simulator uses the same layout so clients see realistic
/// values, and decodes them to resume after the (updated_at, id) position. Pure, thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omnisync::sim::zendesk {

/// A position in an export ordered by (updated_at, id): the next page starts strictly after it.
struct export_position {
  std::int64_t updated_at_s = 0;
  std::int64_t id = 0;
  friend bool operator==(const export_position&, const export_position&) = default;
};

std::string encode_cursor(export_position position);
/// nullopt for anything that is not a cursor this simulator produced (answered with 400 by the service).
std::optional<export_position> decode_cursor(std::string_view cursor);

/// Zendesk's start_time rule: it must be at least 60 s before `now_s` (otherwise 400 "Too recent start_time").
/// Returns the error message, or nullopt when valid.
std::optional<std::string> check_start_time(std::int64_t start_time_s, std::int64_t now_s);

}  // namespace omnisync::sim::zendesk
