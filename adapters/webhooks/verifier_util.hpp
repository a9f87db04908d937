#pragma once
// Internal helpers shared by the vendor verifiers in this folder.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/webhooks/webhook_verifiers.hpp"

namespace omnisync::adapters::detail {

inline std::chrono::system_clock::time_point now(const wall_clock& clock) {
  return clock ? clock() : std::chrono::system_clock::now();
}

/// Value of a top-level string or number member of a JSON object text, without building a DOM of the rest.
std::optional<std::string> json_member(std::string_view json, std::string_view name);

}  // namespace omnisync::adapters::detail
