#include "daemon/sync/failpoint.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace omnisync::sync::detail {

bool failpoint_active(std::string_view point, std::string_view connector, std::string_view object) {
  // Read once: the variable is the process's, set by the test that started it.
  static const char* const file = std::getenv("OMNISYNC_TEST_FAILPOINTS");
  if (!file || !*file) return false;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string p, c, o;
    if (words >> p >> c >> o && p == point && c == connector && o == object) return true;
  }
  return false;
}

}  // namespace omnisync::sync::detail
