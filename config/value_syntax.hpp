#pragma once
/// The value syntax users write in omnisync.yaml, parsed and formatted in one place: durations ("1h30m"),
/// booleans (true/yes/on), sizes ("64KiB"), http(s) URLs, `${ENV}` references, and the "did you mean"
/// suggestion for a misspelled key or value. Pure functions; thread-safe.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omnisync::config {

/// Sequences of <digits><unit> with units ms, s, m, h, d ("250ms", "1h30m"), or a bare "0".
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
/// The shortest text `parse_duration` reads back: "0", "250ms", "1m30s", "6h".
std::string format_duration(std::chrono::milliseconds d);
/// true/yes/on, false/no/off.
std::optional<bool> parse_boolean(std::string_view text);
/// 512, 64KiB, 1MiB, 1GiB (powers of 1024) or 1kB, 1MB, 1GB (powers of 1000); B is optional.
std::optional<std::uint64_t> parse_size(std::string_view text);
/// http:// or https:// with a host, an optional port and path.
bool is_http_url(std::string_view text);

/// The candidate closest to `word` (edit distance at most 2, and less than the word's length), or "".
std::string closest(std::string_view word, const std::vector<std::string>& candidates);
/// ` (did you mean "X"?)` for the closest candidate, or "" when none is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// Replaces every `${NAME}` with the environment's value. nullopt when a variable is unset; `missing` then
/// names it. `found` (when given) is set when the text held any reference.
std::optional<std::string> expand_env(std::string_view text, std::string* missing = nullptr, bool* found = nullptr);

/// A key's dotted path: "http" + "port" is "http.port"; an empty part is left out.
std::string key_path(const std::string& prefix, const std::string& key);
/// A number as a user wrote it: whole numbers without a fraction ("20"), others shortest ("0.1", "1e+20").
std::string format_number(double v);

/// "a, b, c".
std::string join_list(const std::vector<std::string>& items, std::string_view separator = ", ");

}  // namespace omnisync::config
