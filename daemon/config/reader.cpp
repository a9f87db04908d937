#include "daemon/config/reader.hpp"

#include <yaml-cpp/yaml.h>

#include "config/value_syntax.hpp"

namespace omnisync::config {
namespace {

std::string text_of(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  return "nothing";
}

}  // namespace

void reader::error(const YAML::Node& n, const std::string& path, const std::string& message) {
  diags_.add(location_of(file_, n), path, message);
}

bool reader::is_map(const YAML::Node& n, const std::string& path) {
  if (n.IsMap()) return true;
  error(n, path, "expected a mapping");
  return false;
}

void reader::known_keys(const YAML::Node& n, const std::string& path, const std::set<std::string>& allowed) {
  const std::vector<std::string> candidates(allowed.begin(), allowed.end());
  for (const auto& kv : n) {
    const auto key = kv.first.Scalar();
    if (!allowed.count(key)) error(kv.first, join(path, key), "unknown key \"" + key + "\"" + did_you_mean(key, candidates));
  }
}

std::optional<std::string> reader::string(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) {
    error(n, path, "expected a string");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<bool> reader::boolean(const YAML::Node& n, const std::string& path) {
  if (n.IsScalar())
    if (auto v = parse_boolean(n.Scalar())) return v;
  error(n, path, "expected true or false, got \"" + text_of(n) + "\"");
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> reader::duration(const YAML::Node& n, const std::string& path) {
  if (n.IsScalar())
    if (auto v = parse_duration(n.Scalar())) return v;
  error(n, path, "expected a duration like \"30s\" (units ms, s, m, h, d), got \"" + text_of(n) + "\"");
  return std::nullopt;
}

std::optional<unsigned long long> reader::positive(const YAML::Node& n, const std::string& path, unsigned long long max) {
  const std::string s = n.IsScalar() ? n.Scalar() : std::string();
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 19) {
    const auto v = std::stoull(s);
    if (v >= 1 && v <= max) return v;
  }
  error(n, path, "expected a whole number from 1 to " + std::to_string(max) + ", got \"" + text_of(n) + "\"");
  return std::nullopt;
}

std::optional<unsigned long long> reader::size(const YAML::Node& n, const std::string& path, unsigned long long max) {
  if (n.IsScalar())
    if (auto v = parse_size(n.Scalar()); v && *v >= 1 && *v <= max) return v;
  error(n, path, "expected a size like \"64KiB\" or \"1MiB\" (at most " + std::to_string(max) + " bytes), got \"" +
                     text_of(n) + "\"");
  return std::nullopt;
}

std::optional<std::string> reader::url(const YAML::Node& n, const std::string& path) {
  auto v = string(n, path);
  if (v && is_http_url(*v)) return v;
  if (v) error(n, path, "expected an http(s) URL with a host, got \"" + *v + "\"");
  return std::nullopt;
}

std::optional<std::string> reader::one_of(const YAML::Node& n, const std::string& path,
                                          const std::vector<std::string>& allowed) {
  const std::string s = n.IsScalar() ? n.Scalar() : std::string();
  for (const auto& a : allowed)
    if (a == s) return s;
  error(n, path, "expected one of " + join_list(allowed) + ", got \"" + text_of(n) + "\"" + did_you_mean(s, allowed));
  return std::nullopt;
}

std::optional<std::filesystem::path> reader::path_value(const YAML::Node& n, const std::string& path,
                                                        const std::filesystem::path& base) {
  auto s = string(n, path);
  if (!s) return std::nullopt;
  if (s->empty()) {
    error(n, path, "expected a path, got an empty string");
    return std::nullopt;
  }
  std::filesystem::path p(*s);
  return p.is_absolute() ? p : base / p;
}

}  // namespace omnisync::config
