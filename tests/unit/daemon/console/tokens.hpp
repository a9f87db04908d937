#pragma once
// The console's bearer tokens in these tests: one with read scope, one with write scope.
#include <string>

namespace omnisync::console::testing {

inline const std::string read_token = "read-token-0123456789abcdef";
inline const std::string write_token = "write-token-0123456789abcdef";

}  // namespace omnisync::console::testing
