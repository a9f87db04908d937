// Fuzzes the daemon's config loader (daemon/config/loader.hpp) with arbitrary omnisync.yaml text, as start-up,
// --check-config and reload read it: written to a file in an empty directory of its own (relative paths resolve
// there; `mappings` is an empty folder) and loaded. It must load or refuse with diagnostics — a refusal always says why — and never crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/config/loader.hpp"

namespace {
std::filesystem::path workdir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("omnisync-fuzz-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d / "mappings");  // `mappings_dir: mappings` names an empty folder
    return d;
  }();
  return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = workdir() / "omnisync.yaml";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  omnisync::config::config_overrides overrides;
  overrides.state_dir = workdir() / "state";
  overrides.control_socket = workdir() / "control.sock";
  auto loaded = omnisync::config::load_daemon_config(file, overrides);
  if (!loaded.ok() && loaded.problems.empty()) std::abort();  // refused without a reason
  (void)loaded.problems.format();
  return 0;
}
