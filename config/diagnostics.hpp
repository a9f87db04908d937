#pragma once
/// Error reporting for everything users write: the daemon config and the mapping files.
///
/// A `diagnostics` collects every problem found in one pass (never stop at the first), each with its
/// location and the dotted key path, and formats them the way compilers do:
///   omnisync.yaml:14:7: connectors.salesforce.poll_interval: expected a duration like "30s", got "soon"
/// Lines and columns are 1-based (yaml-cpp marks are 0-based: use `location_of(node)`).
#include <cstddef>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace omnisync::config {

struct location {
  std::string file;   ///< as the user named it (shown verbatim)
  int line = 0;       ///< 1-based; 0 when unknown (the file as a whole)
  int column = 0;     ///< 1-based; 0 when unknown
};

/// Location of a yaml-cpp node (1-based); 1:1 (the document's start) for a node the document does not hold.
location location_of(const std::string& file, const YAML::Node& node);

struct diagnostic {
  location where;
  std::string path;     ///< dotted key path, e.g. connectors.salesforce.poll_interval, fields.phone.transform[0]
  std::string message;  ///< what was expected and what was found
  /// "file:line:col: path: message" (line/col omitted when unknown, path omitted when empty).
  std::string format() const;
};

class diagnostics {
 public:
  void add(location where, std::string path, std::string message);
  bool empty() const noexcept { return items_.empty(); }
  std::size_t size() const noexcept { return items_.size(); }
  const std::vector<diagnostic>& items() const noexcept { return items_; }
  /// Appends another collection (e.g. one mapping file's problems to the whole check's).
  void merge(const diagnostics& other);
  /// All diagnostics, sorted by file, line and column, one per line.
  std::string format() const;

 private:
  std::vector<diagnostic> items_;
};

}  // namespace omnisync::config
