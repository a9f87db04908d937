#pragma once
/// What the vendors' webhook verifiers share (each lives in its vendor's folder, e.g. adapters/hubspot/webhook.hpp):
/// the clock a replay window is checked against, and one top-level member of a JSON body read for a dedupe key.
/// Pure functions, thread-safe.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace omnisync::adapters {

/// The wall clock a verifier checks timestamps against; empty: std::chrono::system_clock (tests fix it).
using wall_clock = std::function<std::chrono::system_clock::time_point()>;

inline std::chrono::system_clock::time_point webhook_now(const wall_clock& clock) {
  return clock ? clock() : std::chrono::system_clock::now();
}

/// The value of a top-level string or integer member of a JSON object text (an integer as its decimal text);
/// nullopt when the text is not a JSON object or the member is absent or of another type.
std::optional<std::string> json_member(std::string_view json, std::string_view name);

}  // namespace omnisync::adapters
