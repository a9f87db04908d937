#include "daemon/sync/failpoint.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
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

std::function<boost::asio::awaitable<void>()> with_task_failpoint(std::string name,
                                                                 std::function<boost::asio::awaitable<void>()> task) {
  std::string word = name;
  for (auto& ch : word)
    if (ch == ' ') ch = '_';
  // (a plain lambda returning the coroutine: a lambda that is itself a coroutine would lose its captures)
  auto run = [](std::string name, std::string word,
                std::function<boost::asio::awaitable<void>()> task) -> boost::asio::awaitable<void> {
    if (failpoint_active("task_throw", word, "-")) throw std::runtime_error("failpoint task_throw: " + name);
    co_await task();
  };
  return [run, name = std::move(name), word = std::move(word), task = std::move(task)] {
    return run(name, word, task);
  };
}

}  // namespace omnisync::sync::detail
