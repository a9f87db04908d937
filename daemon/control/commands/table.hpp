#pragma once
/// The daemon's command table: every command declared in `daemon/control/catalogue.hpp`, each with its handler
/// from this folder (one file per command group), bound to the context the application hands over.
#include <memory>

#include "daemon/control/command_table.hpp"
#include "daemon/control/commands/context.hpp"

namespace omnisync::control::commands {

/// Builds the table. Handlers keep a reference to `ctx`, which must outlive the table (the application owns
/// both); a command the catalogue declares without a handler here is a bug, reported by an exception.
std::shared_ptr<const command_table> build_command_table(const context& ctx);

}  // namespace omnisync::control::commands
