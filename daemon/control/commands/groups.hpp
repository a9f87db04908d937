#pragma once
// Inside the command library: each group's registration function (one .cpp per group) and the few helpers more
// than one group uses. Not for use outside daemon/control/commands/.
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "daemon/control/command_table.hpp"
#include "daemon/control/commands/context.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::control::commands {

void add_status_commands(command_table& table, const context& ctx);        // status, version (status.cpp)
void add_reload_command(command_table& table, const context& ctx);         // reload (reload.cpp)
void add_sync_control_commands(command_table& table, const context& ctx);  // pause, resume, resync (sync_control.cpp)
void add_lint_command(command_table& table, const context& ctx);           // lint (lint.cpp)
void add_dlq_command(command_table& table, const context& ctx);            // dlq (dlq.cpp)
void add_profile_command(command_table& table, const context& ctx);        // profile (profile.cpp)
void add_writeback_commands(command_table& table, const context& ctx);     // plan, audit (writeback.cpp)
void add_test_command(command_table& table, const context& ctx);           // test (test_connection.cpp)
void add_mapping_tools_commands(command_table& table, const context& ctx); // remap, sample, fields (mapping_tools.cpp)
void add_runs_command(command_table& table, const context& ctx);           // runs (runs.cpp)
void add_report_command(command_table& table, const context& ctx);         // report (report.cpp)
void add_record_command(command_table& table, const context& ctx);         // record (record.cpp)
void add_segment_command(command_table& table, const context& ctx);        // segment (segments.cpp)
/// Wraps every declared command: a request whose scope is `write` leaves one audit entry (audit_trail.cpp).
void audit_write_commands(command_table& table, const context& ctx);
/// One run as `runs` shows it (runs.cpp); the resync summary carries the same.
boost::json::object run_json(const store::run_record& r);

/// The string argument `key`, or "" when absent (the table has already checked its type).
std::string arg_text(const boost::json::object& args, const char* key);

/// A store timestamp as `YYYY-MM-DDTHH:MM:SSZ`; "" for the zero timestamp (never happened).
std::string iso_text(store::timestamp t);

/// A `connector` argument naming no configured connector: the `unknown_connector` answer (with "did you mean"
/// and the configured names); nullopt when it names one. Filters are checked too: a typo must not look like
/// "nothing found".
std::optional<reply> unknown_connector(const context& ctx, const std::string& name);

/// In a cluster, resyncs and profiles live with the pipeline, on the holder of its lease only. On a standby
/// instance this is the answer to such a command (`what`: "resyncs", "profiles"), naming the instance to send it
/// to; nullopt elsewhere.
boost::asio::awaitable<std::optional<reply>> standby_refusal(const context& ctx, std::string what);

}  // namespace omnisync::control::commands
