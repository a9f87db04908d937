#include "adapters/connector.hpp"

namespace omnisync::adapters {}  // namespace omnisync::adapters
