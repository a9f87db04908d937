#pragma once
/// The loader's reader of the daemon-wide sections (daemon, http, store, identity, survivorship, kpis,
/// propagation): typed reads of one YAML node each, every problem added to the diagnostics with its location and
/// dotted path, never thrown. The value syntax is config/value_syntax.hpp's, shared with the connector schemas.
/// Used while one config file is loaded, by one thread.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"

namespace YAML {
class Node;
}

namespace omnisync::config {

class reader {
 public:
  reader(std::string file, diagnostics& d) : file_(std::move(file)), diags_(d) {}

  const std::string& file() const noexcept { return file_; }
  diagnostics& problems() noexcept { return diags_; }
  void error(const YAML::Node& n, const std::string& path, const std::string& message);
  /// false (and a problem) unless `n` is a mapping.
  bool is_map(const YAML::Node& n, const std::string& path);
  /// Reports keys of `n` not in `allowed`, with a suggestion.
  void known_keys(const YAML::Node& n, const std::string& path, const std::set<std::string>& allowed);

  std::optional<std::string> string(const YAML::Node& n, const std::string& path);
  std::optional<bool> boolean(const YAML::Node& n, const std::string& path);
  std::optional<std::chrono::milliseconds> duration(const YAML::Node& n, const std::string& path);
  /// A whole number from 1 to `max`.
  std::optional<unsigned long long> positive(const YAML::Node& n, const std::string& path, unsigned long long max);
  /// A size from 1 to `max` bytes (config/value_syntax.hpp's syntax).
  std::optional<unsigned long long> size(const YAML::Node& n, const std::string& path, unsigned long long max);
  std::optional<std::string> url(const YAML::Node& n, const std::string& path);
  std::optional<std::string> one_of(const YAML::Node& n, const std::string& path, const std::vector<std::string>& allowed);
  /// A non-empty path; relative ones resolve against `base`.
  std::optional<std::filesystem::path> path_value(const YAML::Node& n, const std::string& path,
                                                  const std::filesystem::path& base);

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

 private:
  std::string file_;
  diagnostics& diags_;
};

}  // namespace omnisync::config
