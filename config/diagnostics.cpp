#include "config/diagnostics.hpp"

#include <algorithm>
#include <tuple>

#include <yaml-cpp/yaml.h>

namespace omnisync::config {

location location_of(const std::string& file, const YAML::Node& node) {
  // A node the document does not hold (an empty file's root, say) is placed where the document starts.
  location loc{file, 1, 1};
  if (!node.IsDefined()) return loc;
  const YAML::Mark m = node.Mark();
  if (m.line < 0 || m.column < 0) return loc;
  loc.line = m.line + 1;
  loc.column = m.column + 1;
  return loc;
}

std::string diagnostic::format() const {
  std::string out = where.file;
  if (where.line > 0) {
    out += ':' + std::to_string(where.line);
    if (where.column > 0) out += ':' + std::to_string(where.column);
  }
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

void diagnostics::add(location where, std::string path, std::string message) {
  items_.push_back({std::move(where), std::move(path), std::move(message)});
}

void diagnostics::merge(const diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

std::string diagnostics::format() const {
  std::vector<const diagnostic*> sorted;
  for (const auto& d : items_) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const diagnostic* a, const diagnostic* b) {
    return std::tie(a->where.file, a->where.line, a->where.column) <
           std::tie(b->where.file, b->where.line, b->where.column);
  });
  std::string out;
  for (const auto* d : sorted) out += d->format() + '\n';
  return out;
}

}  // namespace omnisync::config
