// `segments:` in omnisync.yaml: each segment's key, `where:` expression (checked against the profile schema
// with errors located inside the expression), holdout, priority group and `sync:` destinations.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "config/value_syntax.hpp"
#include "daemon/config/sections.hpp"
#include "daemon/segments/segment_set.hpp"

namespace omnisync::config {
namespace {

std::vector<std::string> file_lines(const std::string& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
  }
  return out;
}

std::size_t indentation(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return i;
}

std::size_t rtrimmed(const std::string& s) {
  std::size_t n = s.size();
  while (n > 0 && std::isspace(static_cast<unsigned char>(s[n - 1]))) --n;
  return n;
}

/// Where the text of a `where:` scalar lies in the file (segment_def::lines): a block scalar (| or >) holds its
/// lines below the indicator, a quoted scalar starts after its quote, a plain one at its first character.
void place_text(const YAML::Node& n, const std::vector<std::string>& lines, segments::segment_def& d) {
  const auto mark = n.Mark();
  d.line = mark.line + 1;
  d.column = mark.column + 1;
  if (mark.line < 0 || static_cast<std::size_t>(mark.line) >= lines.size()) return;
  const std::string& first = lines[static_cast<std::size_t>(mark.line)];
  const char c = static_cast<std::size_t>(mark.column) < first.size() ? first[static_cast<std::size_t>(mark.column)] : '\0';
  if (c == '|' || c == '>') {
    std::size_t indent = std::string::npos;
    std::size_t held = 0;  // bytes of the text placed so far
    for (std::size_t i = static_cast<std::size_t>(mark.line) + 1; i < lines.size() && held < d.where.size(); ++i) {
      const std::string& l = lines[i];
      const std::size_t end = rtrimmed(l);
      if (end == 0) {
        if (indent != std::string::npos) d.lines.push_back({static_cast<int>(i) + 1, 1, 0}), held += 1;
        continue;
      }
      if (indent == std::string::npos) indent = indentation(l);
      if (indentation(l) < indent) break;
      const std::size_t len = end - indent;
      d.lines.push_back({static_cast<int>(i) + 1, static_cast<int>(indent) + 1, len});
      held += len + 1;
    }
    if (!d.lines.empty()) d.line = d.lines.front().line, d.column = d.lines.front().column;
    return;
  }
  if (c == '"' || c == '\'') d.column += 1;
}

bool valid_key(const std::string& k) {
  if (k.empty() || k.size() > 64) return false;
  return std::all_of(k.begin(), k.end(), [](char ch) {
    return std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '_' ||
           ch == '-';
  });
}

std::optional<int> read_percent(reader& r, const YAML::Node& n, const std::string& path) {
  std::string s = n.IsScalar() ? n.Scalar() : std::string();
  if (!s.empty() && s.back() == '%') s.pop_back();
  if (!s.empty() && s.size() <= 2 && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    const int v = std::stoi(s);
    if (v >= 0 && v <= 99) return v;
  }
  r.error(n, path, "expected a share of profiles from 0% to 99%, got \"" + (n.IsScalar() ? n.Scalar() : std::string("a block")) + "\"");
  return std::nullopt;
}

void read_sync(reader& r, const YAML::Node& n, const std::string& path, const daemon_config& cfg,
               segments::segment_def& d) {
  if (!n.IsSequence()) {
    r.error(n, path, "expected a list of destinations ({connector, list})");
    return;
  }
  static const std::vector<std::string> kinds = {"hubspot", "activecampaign", "salesforce"};
  for (std::size_t i = 0; i < n.size(); ++i) {
    const YAML::Node e = n[i];
    const std::string p = path + "[" + std::to_string(i) + "]";
    if (!r.is_map(e, p)) continue;
    r.known_keys(e, p, {"connector", "list", "resubscribe", "max_churn_per_run", "min_size", "on_missing_list"});
    segments::sync_target t;
    if (!e["connector"] || !e["list"]) {
      r.error(e, p, "a destination needs connector and list");
      continue;
    }
    if (auto c = r.string(e["connector"], p + ".connector")) t.connector = *c;
    if (auto l = r.string(e["list"], p + ".list")) t.list = *l;
    if (e["resubscribe"])
      if (auto b = r.boolean(e["resubscribe"], p + ".resubscribe")) t.resubscribe = *b;
    // The safety brake and the deleted-list policy of membership sync (daemon/sync/membership_sync.hpp).
    if (e["max_churn_per_run"])
      if (auto n = r.positive(e["max_churn_per_run"], p + ".max_churn_per_run", 100'000'000))
        t.max_churn_per_run = static_cast<std::int64_t>(*n);
    if (e["min_size"])
      if (auto n = r.positive(e["min_size"], p + ".min_size", 100'000'000)) t.min_size = static_cast<std::int64_t>(*n);
    if (e["on_missing_list"])
      if (auto v = r.one_of(e["on_missing_list"], p + ".on_missing_list", {"recreate", "report"}))
        t.recreate_missing = *v == "recreate";
    std::vector<std::string> names;
    const connector_common* found = nullptr;
    for (const auto& cc : cfg.connectors) {
      names.push_back(cc.name);
      if (cc.name == t.connector) found = &cc;
    }
    if (!found) {
      r.error(e["connector"], p + ".connector", "no connector named \"" + t.connector + "\"" + did_you_mean(t.connector, names));
    } else if (std::find(kinds.begin(), kinds.end(), found->kind) == kinds.end()) {
      r.error(e["connector"], p + ".connector",
              "segment membership can be kept in hubspot, activecampaign or salesforce connectors, not " + found->kind);
    } else if (t.resubscribe && found->kind != "activecampaign") {
      r.error(e["resubscribe"], p + ".resubscribe", "resubscribe applies to activecampaign list status only");
    }
    d.sync.push_back(std::move(t));
  }
}

}  // namespace

std::vector<segments::segment_def> read_segments(reader& r, const YAML::Node& root, const daemon_config& cfg) {
  std::vector<segments::segment_def> out;
  const YAML::Node ss = root["segments"];
  if (!ss || ss.IsNull() || !r.is_map(ss, "segments")) return out;
  const auto lines = file_lines(r.file());
  for (const auto& kv : ss) {
    const std::string key = kv.first.Scalar();
    const std::string path = "segments." + key;
    if (!valid_key(key))
      r.error(kv.first, path, "a segment key is 1 to 64 of a-z, 0-9, _ and - (it never changes: it names the lists)");
    const YAML::Node b = kv.second;
    if (!r.is_map(b, path)) continue;
    r.known_keys(b, path, {"where", "description", "holdout", "priority_group", "sync"});
    segments::segment_def d;
    d.key = key;
    d.file = r.file();
    if (!b["where"]) {
      r.error(b, path, "a segment needs where: (its condition)");
      continue;
    }
    if (auto w = r.string(b["where"], path + ".where")) d.where = *w;
    place_text(b["where"], lines, d);
    if (b["description"]) (void)r.string(b["description"], path + ".description");
    if (b["holdout"])
      if (auto h = read_percent(r, b["holdout"], path + ".holdout")) d.holdout_percent = *h;
    if (b["priority_group"])
      if (auto g = r.string(b["priority_group"], path + ".priority_group")) d.priority_group = *g;
    if (b["sync"]) read_sync(r, b["sync"], path + ".sync", cfg, d);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace omnisync::config
