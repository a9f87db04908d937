// profile list / profile search: the profiles that match attribute, stage and KPI filters, a page at a time.
#include "daemon/control/commands/profile_list.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "config/value_syntax.hpp"
#include "daemon/config/daemon_config.hpp"
#include "daemon/control/commands/groups.hpp"
#include "daemon/profile/profile_filter.hpp"
#include "daemon/sync/engine.hpp"
#include "mapping/canonical.hpp"

namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

std::vector<std::string> arg_list(const json::object& args, const char* key) {
  std::vector<std::string> out;
  if (const auto* v = args.if_contains(key); v && v->is_array())
    for (const auto& x : v->get_array())
      if (x.is_string()) out.emplace_back(x.get_string());
  return out;
}

/// Whether a filter's attribute names something a profile can hold: a canonical attribute (of the running
/// config), a KPI, or `_profile_id`; a typo must not look like "no profile matches". An empty string: known.
std::string unknown_attribute(const config::daemon_config* cfg, const std::string& name) {
  static const std::vector<std::string> extra{"_profile_id", "deleted_in", "lifecycle_stage", "nps_category",
                                              "last_interaction_at"};
  const auto canonical = cfg && !cfg->canonical.empty() ? cfg->canonical : mapping::default_canonical_attributes();
  const auto& kpis = profile::numeric_kpi_names();
  if (mapping::find_attribute(canonical, name) || std::find(kpis.begin(), kpis.end(), name) != kpis.end() ||
      std::find(extra.begin(), extra.end(), name) != extra.end())
    return {};
  // a nested part of an object attribute (address.city) is fine when its top is declared
  if (const auto dot = name.find('.'); dot != std::string::npos)
    if (const auto* d = mapping::find_attribute(canonical, name.substr(0, dot)); d && d->type == "object") return {};
  std::vector<std::string> names(extra);
  for (const auto& a : canonical) names.push_back(a.name);
  names.insert(names.end(), kpis.begin(), kpis.end());
  return "--where: unknown attribute \"" + name + "\"" + config::did_you_mean(name, names);
}

/// Only the requested attributes (dotted paths) of a canonical record, keyed by their path; `_profile_id` always.
json::object project(const json::object& rec, const std::vector<std::string>& fields) {
  json::object out;
  out["_profile_id"] = rec.contains("_profile_id") ? rec.at("_profile_id") : json::value(nullptr);
  for (const auto& f : fields) {
    const auto* v = profile::value_at(rec, f);
    out[f] = v ? *v : json::value(nullptr);
  }
  return out;
}

}  // namespace

reply profile_list(const context& ctx, const json::object& args, const std::string& action) {
  profile::profile_filter filter;
  std::string error;
  for (const auto& w : arg_list(args, "where")) {
    auto c = profile::parse_where(w, error);
    if (!c) return reply::failure("usage", error);
    filter.where.push_back(std::move(*c));
  }
  for (const auto& k : arg_list(args, "kpi")) {
    auto c = profile::parse_kpi(k, error);
    if (!c) return reply::failure("usage", error);
    filter.kpis.push_back(std::move(*c));
  }
  const auto cfg = ctx.config ? ctx.config() : nullptr;
  for (const auto& w : filter.where)
    if (auto why = unknown_attribute(cfg.get(), w.attribute); !why.empty()) return reply::failure("usage", why);
  const auto fields = arg_list(args, "fields");
  for (const auto& f : fields)
    if (auto why = unknown_attribute(cfg.get(), f); !why.empty())
      return reply::failure("usage", "--fields" + why.substr(why.find(':')));
  filter.stage = arg_text(args, "stage");
  if (!filter.stage.empty()) {
    const auto stages = ctx.engine->profile_stages();
    if (std::find(stages.begin(), stages.end(), filter.stage) == stages.end()) {
      std::string known;
      for (const auto& s : stages) known += (known.empty() ? "" : ", ") + s;
      return reply::failure("usage", "--stage: unknown lifecycle stage \"" + filter.stage + "\"" +
                                         config::did_you_mean(filter.stage, stages) + " (stages: " + known + ")");
    }
  }
  if (action == "search") {
    filter.text = arg_text(args, "query");
    if (filter.text.empty()) return reply::failure("usage", "profile search needs the text to look for");
  } else if (!arg_text(args, "query").empty()) {
    return reply::failure("usage", "profile list takes no query (profile search TEXT looks for text)");
  }
  std::int64_t limit = 50;
  if (const auto* v = args.if_contains("limit"); v && v->is_int64()) limit = v->get_int64();
  if (limit < 1 || limit > 1000) return reply::failure("usage", "--limit must be 1 to 1000");
  const std::string after = arg_text(args, "after");
  if (!after.empty() && !profile::profile_id::parse(after))
    return reply::failure("usage", "--after: \"" + after + "\" is no cursor (the next_after of a previous page, p...)");

  auto page = ctx.engine->profile_list(filter, after, static_cast<std::size_t>(limit));
  json::array items;
  for (const auto& text : page.items) {
    auto rec = json::parse(text).as_object();
    items.push_back(fields.empty() ? json::value(std::move(rec)) : json::value(project(rec, fields)));
  }
  json::object out{{"items", std::move(items)},
                   {"next_after", page.next_after.empty() ? json::value(nullptr) : json::value(page.next_after)},
                   {"scanned", page.scanned},
                   {"total", page.total}};
  return reply::success(std::move(out));
}

}  // namespace omnisync::control::commands
