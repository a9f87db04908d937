// Subcommands that live in other libraries. Each is one line here.
#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {

std::vector<subcommand> extension_subcommands() { return {}; }

}  // namespace omnisync::ctl
