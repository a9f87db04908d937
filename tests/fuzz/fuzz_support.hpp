#pragma once
// What the libFuzzer targets share: a connector built through the registry from a YAML block (as the config
// loader builds it; never connected: the fuzz targets call only its pure entry points), the bytes as text, and a
// fixed clock for replay windows. Used from the fuzzer's single thread.
#include <boost/asio/io_context.hpp>

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "adapters/connector.hpp"
#include "adapters/registry.hpp"
#include "config/validate.hpp"

namespace omnisync::fuzz {

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// The instant every target's clock stands at (2026-01-01T00:00:00Z); signatures are made for it.
inline constexpr std::int64_t now_ms = 1767225600000;
inline std::chrono::system_clock::time_point now() {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms));
}

/// The connector `name` of `block` (the YAML under `connectors: <name>:`); aborts when the block is refused,
/// since the fixed configuration of a target must be valid.
inline std::unique_ptr<adapters::connector> make_connector(boost::asio::io_context& io, const std::string& name,
                                                           const std::string& block) {
  const YAML::Node doc = YAML::Load("connectors:\n  " + name + ":\n" + block);
  config::diagnostics problems;
  config::validation_context ctx{"<fuzz config>", std::filesystem::current_path(), &problems};
  auto cc = adapters::read_connector(name, doc["connectors"][name], "connectors." + name, ctx);
  if (!problems.empty()) {
    std::fprintf(stderr, "fuzz target config refused:\n%s\n", problems.format().c_str());
    std::abort();
  }
  adapters::connector_context cctx;
  cctx.executor = io.get_executor();
  cctx.public_url = "https://sync.example.com";
  return adapters::make_connector(cc, cctx);
}

/// The first line of `data` (at most `max` bytes) and the rest: a target's forged header values and body.
inline std::pair<std::string, std::string> first_line(std::string_view data, std::size_t max = 256) {
  const auto nl = data.find('\n');
  if (nl == std::string_view::npos || nl > max) return {std::string(), std::string(data)};
  return {std::string(data.substr(0, nl)), std::string(data.substr(nl + 1))};
}

}  // namespace omnisync::fuzz
