#pragma once
/// Time as omnisync stores and exchanges it: wall-clock instants in milliseconds since the Unix epoch.
#include <chrono>

namespace omnisync {

/// A wall-clock instant, milliseconds since the Unix epoch (UTC). What the store keeps and adapters report.
using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

}  // namespace omnisync
