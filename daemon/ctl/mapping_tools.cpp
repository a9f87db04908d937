// omnisyncctl remap, sample and fields: apply changed inbound mappings to what is stored, get real records to feed
// `omnisyncctl map`, and see which fields a vendor object has.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include <unistd.h>

#include "core/json_text.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/client.hpp"
#include "daemon/ctl/format.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {
namespace {

namespace json = boost::json;
namespace catalogue = control::catalogue;

/// "[######..........] read 1200  mapped 1198  failed 2  writes 37 (1161 unchanged)  5200 records/s  0.2 s".
std::string remap_line(const json::object& p) {
  const double read = number_field(p, "read"), total = number_field(p, "estimated_total"),
               rate = number_field(p, "rate");
  std::string bar;
  if (total > 0) {
    const int width = 24;
    const int filled = std::min(width, int(width * read / total));
    bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  }
  char line[320];
  std::snprintf(
      line, sizeof line, "%sread %.0f  mapped %.0f  failed %.0f  writes %.0f (%.0f unchanged)  %.0f records/s  %.1f s",
      bar.c_str(), read, number_field(p, "mapped"), number_field(p, "failed"), number_field(p, "writes_queued"),
      number_field(p, "writes_unchanged"), rate, number_field(p, "elapsed_s"));
  std::string out(line);
  if (total > read && rate > 0) out += "  ETA " + format_duration((total - read) / rate);
  return out;
}

/// What a remap covers: "hs (contacts), zd (users, tickets)".
std::string covered(const json::object& reply) {
  std::string out;
  if (const auto* cs = reply.if_contains("connectors"); cs && cs->is_array())
    for (const auto& c : cs->as_array()) {
      const auto& co = c.as_object();
      std::string objs;
      for (const auto& o : co.at("objects").as_array()) objs += (objs.empty() ? "" : ", ") + std::string(o.as_string());
      out += (out.empty() ? "" : ", ") + string_field(co, "connector") + " (" + objs + ")";
    }
  return out.empty() ? std::string("nothing (no inbound mapping reads the objects named)") : out;
}

int failed_call(const call_result& r, const char* cmd, const ctl_options& o) {
  if (r.state == call_result::status::unreachable) {
    std::cerr << "omnisyncctl: " << r.message << "\n";
    return exit_code::unavailable;
  }
  if (o.json)
    std::cout << json::serialize(json::object{{"error", json::object{{"code", r.error_code}, {"message", r.message}}}})
              << "\n";
  std::cerr << "omnisyncctl: " << cmd << ": " << r.message << (r.error_code.empty() ? "" : " (" + r.error_code + ")")
            << "\n";
  return r.state == call_result::status::daemon_error ? exit_code_of(r.error_code) : int(exit_code::daemon_error);
}

}  // namespace

subcommand remap_subcommand() {
  struct state {
    std::string connector, object;
    bool follow = false;
  };
  auto st = std::make_shared<state>();
  const auto& spec = catalogue::remap;
  return subcommand{
      std::string(spec.name), std::string(spec.help) + "; --follow shows progress and the summary",
      [st, &spec](CLI::App& app) {
        app.add_option("connector", st->connector, arg_help(spec, "connector"));
        app.add_option("object", st->object, arg_help(spec, "object"));
        app.add_flag("--follow,-f", st->follow, "Show live progress until the remap finished, then its summary");
      },
      [st](const ctl_options& o) {
        json::object args;
        if (!st->connector.empty()) args["connector"] = st->connector;
        if (!st->object.empty()) args["object"] = st->object;
        args["follow"] = st->follow;
        const bool tty = ::isatty(2);
        auto r = call(o.socket, "remap", args, o.timeout, [&](const json::object& ev) {
          if (o.json) std::cout << to_json_text(ev) << "\n" << std::flush;
          else if (tty) std::cerr << "\r\033[K" << remap_line(ev) << std::flush;
          else std::cerr << remap_line(ev) << "\n";
        });
        if (tty && st->follow && !o.json) std::cerr << "\r\033[K";
        if (r.state != call_result::status::ok || !r.result.is_object()) return failed_call(r, "remap", o);
        const auto& res = r.result.as_object();
        if (o.json) std::cout << to_json_text(res) << "\n";
        if (!st->follow) {
          if (!o.json) std::cout << "remap of " << covered(res) << " started\n";
          return int(exit_code::ok);
        }
        if (!o.json)
          std::cout << "remap of " << covered(res) << " finished: " << remap_line(res)
                    << "\nno vendor API calls: stored records only; the writes go out through the outbox as usual\n";
        if (const std::string e = string_field(res, "error"); !e.empty()) {
          std::cerr << "omnisyncctl: remap: " << e << "\n";
          return int(exit_code::daemon_error);
        }
        return int(exit_code::ok);
      },
      &spec};
}

subcommand sample_subcommand() {
  struct state {
    std::string connector, object, id, after;
    std::int64_t limit = 10;
  };
  auto st = std::make_shared<state>();
  const auto& spec = catalogue::sample;
  return subcommand{
      std::string(spec.name), std::string(spec.help) + "; prints one JSON line per record, ready for `omnisyncctl map`",
      [st, &spec](CLI::App& app) {
        app.add_option("connector", st->connector, arg_help(spec, "connector"))->required();
        app.add_option("object", st->object, arg_help(spec, "object"))->required();
        auto* id = app.add_option("--id", st->id, arg_help(spec, "id"));
        auto* limit = app.add_option("--limit,-n", st->limit, arg_help(spec, "limit"))->capture_default_str();
        auto* after = app.add_option("--after", st->after, arg_help(spec, "after"));
        id->excludes(limit)->excludes(after);
      },
      [st](const ctl_options& o) {
        json::object args{{"connector", st->connector}, {"object", st->object}};
        if (!st->id.empty())
          args["id"] = st->id;
        else
          args["limit"] = st->limit;
        if (!st->after.empty()) args["after"] = st->after;
        auto r = call(o.socket, "sample", args, o.timeout);
        if (r.state != call_result::status::ok || !r.result.is_object()) return failed_call(r, "sample", o);
        const auto& res = r.result.as_object();
        if (o.json) {
          std::cout << to_json_text(res) << "\n";
          return int(exit_code::ok);
        }
        // The stored payloads exactly as a mapping reads them: one compact JSON document per line.
        for (const auto& it : res.at("items").as_array())
          std::cout << json::serialize(it.as_object().at("payload")) << "\n";
        if (const std::string next = string_field(res, "next_after"); !next.empty())
          std::cerr << "omnisyncctl: sample: more records follow; --after " << next << " shows the next ones\n";
        return int(exit_code::ok);
      },
      &spec};
}

subcommand fields_subcommand() {
  struct state {
    std::string connector, object;
  };
  auto st = std::make_shared<state>();
  const auto& spec = catalogue::fields;
  return subcommand{std::string(spec.name), std::string(spec.help),
                    [st, &spec](CLI::App& app) {
                      app.add_option("connector", st->connector, arg_help(spec, "connector"))->required();
                      app.add_option("object", st->object, arg_help(spec, "object"))->required();
                    },
                    [st](const ctl_options& o) {
                      json::object args{{"connector", st->connector}, {"object", st->object}};
                      auto r = call(o.socket, "fields", args, o.timeout);
                      if (r.state != call_result::status::ok || !r.result.is_object())
                        return failed_call(r, "fields", o);
                      const auto& res = r.result.as_object();
                      if (o.json) {
                        std::cout << to_json_text(res) << "\n";
                        return int(exit_code::ok);
                      }
                      // NAME  TYPE  WRITABLE  NOTES, columns as wide as their longest entry.
                      std::vector<std::array<std::string, 4>> rows{{"FIELD", "TYPE", "WRITABLE", "NOTES"}};
                      for (const auto& f : res.at("fields").as_array()) {
                        const auto& fo = f.as_object();
                        auto flag = [&](const char* k) { return fo.at(k).is_bool() && fo.at(k).as_bool(); };
                        std::string notes;
                        auto note = [&](const std::string& n) { notes += (notes.empty() ? "" : ", ") + n; };
                        if (flag("calculated")) note("calculated");
                        if (flag("external_id"))
                          note("upsert key");
                        else if (flag("unique"))
                          note("unique");
                        if (number_field(fo, "length") > 0)
                          note("max " + std::to_string(fo.at("length").as_int64()) + " chars");
                        rows.push_back({string_field(fo, "name"), string_field(fo, "type"),
                                        flag("writable") ? "yes" : "read-only", notes});
                      }
                      std::array<std::size_t, 4> width{};
                      for (const auto& row : rows)
                        for (std::size_t i = 0; i < 4; ++i) width[i] = std::max(width[i], row[i].size());
                      for (const auto& row : rows) {
                        std::string line;
                        for (std::size_t i = 0; i < 4; ++i)
                          line += row[i] + (i + 1 < 4 ? std::string(width[i] - row[i].size() + 2, ' ') : std::string());
                        while (!line.empty() && line.back() == ' ') line.pop_back();
                        std::cout << line << "\n";
                      }
                      std::cout << rows.size() - 1 << " field(s) of " << string_field(res, "connector") << " ("
                                << string_field(res, "kind") << ") " << string_field(res, "object") << "\n";
                      return int(exit_code::ok);
                    },
                    &spec};
}

}  // namespace omnisync::ctl
