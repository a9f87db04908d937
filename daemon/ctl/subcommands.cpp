#include "daemon/ctl/subcommands.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <iostream>

#include "daemon/ctl/client.hpp"
#include "daemon/ctl/format.hpp"

namespace omnisync::ctl {

int run_daemon_command(const ctl_options& o, const std::string& cmd, const std::string& args_json,
                       const std::function<std::string(const std::string&)>& human) {
  boost::json::object args;
  if (!args_json.empty()) args = boost::json::parse(args_json).as_object();
  auto r = call(o.socket, cmd, args, o.timeout, [&](const boost::json::object& ev) {
    if (o.json) std::cout << boost::json::serialize(ev) << "\n" << std::flush;
    else std::cerr << format_generic(ev) << std::flush;
  });
  switch (r.state) {
    case call_result::status::ok: {
      if (o.json) std::cout << boost::json::serialize(r.result) << "\n";
      else if (human) std::cout << human(boost::json::serialize(r.result));
      else std::cout << format_generic(r.result);
      return exit_code::ok;
    }
    case call_result::status::daemon_error:
      if (o.json) {
        boost::json::object e{{"code", r.error_code}, {"message", r.message}};
        std::cout << boost::json::serialize(boost::json::object{{"error", e}}) << "\n";
      }
      std::cerr << "omnisyncctl: " << cmd << ": " << r.message << " (" << r.error_code << ")\n";
      return exit_code::daemon_error;
    case call_result::status::protocol_error:
      std::cerr << "omnisyncctl: " << cmd << ": " << r.message << "\n";
      return exit_code::daemon_error;
    case call_result::status::unreachable:
      std::cerr << "omnisyncctl: " << r.message << "\n";
      return exit_code::unavailable;
  }
  return exit_code::daemon_error;
}

std::vector<subcommand> daemon_subcommands() {
  std::vector<subcommand> out;
  out.push_back({"status", "Show the daemon's state, connectors and store counts", [](CLI::App&) {},
                 [](const ctl_options& o) {
                   return run_daemon_command(o, "status", "", [](const std::string& j) {
                     return format_status(boost::json::parse(j));
                   });
                 }});
  out.push_back({"reload", "Reload the configuration and mappings (rejected with all errors if invalid)",
                 [](CLI::App&) {},
                 [](const ctl_options& o) {
                   return run_daemon_command(o, "reload", "", [](const std::string&) {
                     return std::string("reloaded\n");
                   });
                 }});
  for (std::string verb : {"pause", "resume"}) {
    auto connector = std::make_shared<std::string>();
    out.push_back({verb,
                   verb == "pause" ? "Pause one connector, or all when none is named (takes effect at once)"
                                   : "Resume one connector, or all when none is named",
                   [connector](CLI::App& app) { app.add_option("connector", *connector, "Connector name"); },
                   [verb, connector](const ctl_options& o) {
                     boost::json::object args;
                     if (!connector->empty()) args["connector"] = *connector;
                     return run_daemon_command(o, verb, boost::json::serialize(args),
                                               [verb, connector](const std::string&) {
                                                 return (verb == "pause" ? std::string("paused ") : std::string("resumed ")) +
                                                        (connector->empty() ? std::string("all connectors") : *connector) + "\n";
                                               });
                   }});
  }
  out.push_back({"version", "Show the daemon's version and protocol", [](CLI::App&) {},
                 [](const ctl_options& o) { return run_daemon_command(o, "version", ""); }});
  return out;
}

}  // namespace omnisync::ctl
