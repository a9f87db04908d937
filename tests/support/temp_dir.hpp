#pragma once
/// A temporary directory removed (recursively) when the object dies. Paths stay short because Unix socket
/// paths are limited to 108 bytes: the directory is created under $TMPDIR or /tmp as `os-XXXXXX`.
#include <filesystem>
#include <string>

namespace omnisync::test {

class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  /// Writes `content` to `name` inside the directory and returns the full path.
  std::filesystem::path write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

/// Reads a whole file; empty string when it does not exist.
std::string read_file(const std::filesystem::path& p);

}  // namespace omnisync::test
