#pragma once
/// The values the mapping engine works on: a small JSON-like tree, reused between records so that the hot path
/// does not allocate once its buffers have grown (strings are assigned into existing capacity).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace omnisync::mapping {

/// One JSON value, or `missing` (the path was absent: distinct from an explicit null).
/// Plain data; not thread-safe to share while being written.
struct value {
  enum class kind : std::uint8_t { missing, null, boolean, integer, number, string, array, object };
  kind k = kind::missing;
  bool b = false;
  std::int64_t i = 0;
  double d = 0;
  std::string s;
  std::vector<value> items;       ///< array items, or object member values
  std::vector<std::string> keys;  ///< object member names (parallel to `items`)

  bool is_missing() const noexcept { return k == kind::missing; }
  bool is_null_or_missing() const noexcept { return k == kind::missing || k == kind::null; }
  void set_missing() noexcept { k = kind::missing; }
  void set_null() noexcept { k = kind::null; }
  void set_bool(bool v) noexcept { k = kind::boolean; b = v; }
  void set_int(std::int64_t v) noexcept { k = kind::integer; i = v; }
  void set_number(double v) noexcept { k = kind::number; d = v; }
  void set_string(std::string_view v) { k = kind::string; s.assign(v.data(), v.size()); }
  /// Member of an object by name (nullptr when this is not an object or has no such member).
  const value* member(std::string_view name) const noexcept;
};

/// "string", "number", ... for messages.
std::string_view kind_name(value::kind k) noexcept;

/// Appends `v` as JSON (missing is written as null). Integral doubles below 2^53 are written without a fraction,
/// so 73.0 is written 73 (what jq and JavaScript write).
void append_json(std::string& out, const value& v);
/// Appends a JSON string literal with escapes.
void append_json_string(std::string& out, std::string_view s);
/// A short, single-line rendering of a value for error messages (long strings cut at 80 bytes).
std::string preview(const value& v);

}  // namespace omnisync::mapping
