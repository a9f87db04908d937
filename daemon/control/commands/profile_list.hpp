#pragma once
// Inside the command library: `profile list` and `profile search` (profile_list.cpp), called by profile.cpp.
#include <boost/json/object.hpp>

#include <string>

#include "daemon/control/commands/context.hpp"
#include "daemon/control/command_table.hpp"

namespace omnisync::control::commands {

/// action "list" or "search": args where, stage, kpi, fields, after, limit (and query: the text, for search).
/// The engine must be running and its profiles loaded (the caller checks).
reply profile_list(const context& ctx, const boost::json::object& args, const std::string& action);

}  // namespace omnisync::control::commands
