#include "daemon/app/config_load.hpp"

#include "mapping/mapping.hpp"

#include <boost/asio/io_context.hpp>

#include "adapters/connector.hpp"
#include "daemon/profile/book.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace omnisync::app {
namespace {

using config::diagnostics;
namespace fs = std::filesystem;

/// Walks one document, collecting diagnostics; never throws on content.
class reader {
 public:
  reader(std::string file, diagnostics& d) : file_(std::move(file)), diags_(d) {}

  void error(const YAML::Node& n, const std::string& path, const std::string& msg) {
    diags_.add(config::location_of(file_, n), path, msg);
  }

  bool is_map(const YAML::Node& n, const std::string& path) {
    if (n.IsMap()) return true;
    error(n, path, "expected a mapping");
    return false;
  }

  /// Reports keys of `n` not in `allowed`.
  void known_keys(const YAML::Node& n, const std::string& path, const std::set<std::string>& allowed) {
    for (const auto& kv : n) {
      auto key = kv.first.Scalar();
      if (!allowed.count(key)) {
        std::string msg = "unknown key \"" + key + "\"";
        if (auto s = suggestion(key, allowed); !s.empty()) msg += " (did you mean \"" + s + "\"?)";
        error(kv.first, join(path, key), msg);
      }
    }
  }

  std::optional<std::string> string(const YAML::Node& n, const std::string& path) {
    if (!n.IsScalar()) {
      error(n, path, "expected a string");
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<bool> boolean(const YAML::Node& n, const std::string& path) {
    if (n.IsScalar()) {
      auto s = n.Scalar();
      if (s == "true" || s == "yes" || s == "on") return true;
      if (s == "false" || s == "no" || s == "off") return false;
    }
    error(n, path, "expected true or false, got \"" + text_of(n) + "\"");
    return std::nullopt;
  }

  std::optional<std::chrono::milliseconds> duration(const YAML::Node& n, const std::string& path) {
    static const std::regex part(R"((\d+)(ms|s|m|h))");
    std::string s = n.IsScalar() ? n.Scalar() : std::string();
    std::chrono::milliseconds total{0};
    bool ok = !s.empty();
    auto it = std::sregex_iterator(s.begin(), s.end(), part);
    std::size_t consumed = 0;
    for (; ok && it != std::sregex_iterator(); ++it) {
      if (static_cast<std::size_t>(it->position()) != consumed) ok = false;
      consumed += static_cast<std::size_t>(it->length());
      long long v = std::stoll((*it)[1]);
      auto unit = (*it)[2].str();
      total += std::chrono::milliseconds(unit == "ms" ? v : unit == "s" ? v * 1000 : unit == "m" ? v * 60000 : v * 3600000);
    }
    if (!ok || consumed != s.size()) {
      error(n, path, "expected a duration like \"30s\" (units ms, s, m, h), got \"" + text_of(n) + "\"");
      return std::nullopt;
    }
    return total;
  }

  std::optional<unsigned long long> positive(const YAML::Node& n, const std::string& path, unsigned long long max) {
    std::string s = n.IsScalar() ? n.Scalar() : std::string();
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 19) {
      auto v = std::stoull(s);
      if (v >= 1 && v <= max) return v;
    }
    error(n, path, "expected a whole number from 1 to " + std::to_string(max) + ", got \"" + text_of(n) + "\"");
    return std::nullopt;
  }

  /// Sizes: 512, 64KiB, 1MiB, 1GiB (powers of 1024) or 1kB, 1MB, 1GB (powers of 1000), from 1 to `max` bytes.
  std::optional<unsigned long long> size(const YAML::Node& n, const std::string& path, unsigned long long max) {
    static const std::regex re(R"(^(\d{1,12})\s*(|B|kB|KB|KiB|MB|MiB|GB|GiB)$)");
    std::string s = n.IsScalar() ? n.Scalar() : std::string();
    std::smatch m;
    if (std::regex_match(s, m, re)) {
      static const std::map<std::string, unsigned long long> units{
          {"", 1}, {"B", 1}, {"kB", 1000}, {"KB", 1000}, {"KiB", 1024}, {"MB", 1000000}, {"MiB", 1048576},
          {"GB", 1000000000}, {"GiB", 1073741824}};
      auto v = std::stoull(m[1].str()) * units.at(m[2].str());
      if (v >= 1 && v <= max) return v;
    }
    error(n, path, "expected a size like \"64KiB\" or \"1MiB\" (at most " + std::to_string(max) + " bytes), got \"" +
                       text_of(n) + "\"");
    return std::nullopt;
  }

  std::optional<std::string> url(const YAML::Node& n, const std::string& path) {
    static const std::regex re(R"(^https?://[^/\s:]+(:\d{1,5})?(/\S*)?$)");
    auto v = string(n, path);
    if (v && std::regex_match(*v, re)) return v;
    if (v) error(n, path, "expected an http(s) URL with a host, got \"" + *v + "\"");
    return std::nullopt;
  }

  std::optional<std::string> one_of(const YAML::Node& n, const std::string& path, const std::vector<std::string>& allowed) {
    std::string s = n.IsScalar() ? n.Scalar() : std::string();
    for (const auto& a : allowed)
      if (a == s) return s;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    error(n, path, "expected one of " + list + ", got \"" + text_of(n) + "\"");
    return std::nullopt;
  }

  std::optional<fs::path> path_value(const YAML::Node& n, const std::string& path, const fs::path& base) {
    auto s = string(n, path);
    if (!s) return std::nullopt;
    if (s->empty()) {
      error(n, path, "expected a path, got an empty string");
      return std::nullopt;
    }
    fs::path p(*s);
    return p.is_absolute() ? p : base / p;
  }

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

 private:
  static std::string text_of(const YAML::Node& n) {
    if (n.IsScalar()) return n.Scalar();
    if (n.IsMap()) return "a mapping";
    if (n.IsSequence()) return "a list";
    return "nothing";
  }

  static std::size_t distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  }

  static std::string suggestion(const std::string& key, const std::set<std::string>& allowed) {
    std::string best;
    std::size_t best_d = 3;
    for (const auto& a : allowed)
      if (auto d = distance(key, a); d < best_d) best = a, best_d = d;
    return best;
  }

  std::string file_;
  diagnostics& diags_;
};

/// Replaces ${NAME} references in `text` with the environment's values; false (and a diagnostic) when unset.
bool expand_env(reader& r, const YAML::Node& n, const std::string& path, std::string& text) {
  static const std::regex ref(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\})");
  std::smatch m;
  std::string out, rest = text;
  while (std::regex_search(rest, m, ref)) {
    const char* v = std::getenv(m[1].str().c_str());
    if (!v) {
      r.error(n, path, "environment variable " + m[1].str() + " is not set");
      return false;
    }
    out += m.prefix().str() + v;
    rest = m.suffix().str();
  }
  text = out + rest;
  return true;
}

/// Reads a connector's `auth`, `webhook`, `sync` or `rate_limit` block into `cc.settings` (plain scalars) and
/// `cc.secrets` (`*_file` keys are read, `credential: name` reads $CREDENTIALS_DIRECTORY/name, scalars with
/// `${NAME}` are expanded). Secret values also go to `out` for the log redactor; they never reach a diagnostic.
void collect_block(reader& r, const YAML::Node& n, const std::string& path, const std::string& key_prefix,
                   const fs::path& base, config::connector_common& cc, std::vector<std::string>& out) {
  if (n.IsMap()) {
    for (const auto& kv : n) {
      auto key = kv.first.Scalar();
      auto sub = reader::join(path, key);
      const bool is_file = key.size() > 5 && key.ends_with("_file");
      const bool is_credential_map = kv.second.IsMap() && kv.second["credential"] && kv.second.size() == 1;
      const bool is_credential = key == "credential" && kv.second.IsScalar();  // the block's own credential
      if ((is_file && kv.second.IsScalar()) || is_credential_map || is_credential) {
        std::string where = is_credential_map ? kv.second["credential"].Scalar() : kv.second.Scalar();
        const YAML::Node& at = is_credential_map ? kv.second["credential"] : kv.second;
        if (is_credential_map || is_credential) {
          const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
          if (!dir) {
            r.error(at, sub, "CREDENTIALS_DIRECTORY is not set (no systemd credentials for this process)");
            continue;
          }
          where = std::string(dir) + "/" + where;
        }
        if (!expand_env(r, at, sub, where)) continue;
        fs::path p(where);
        if (!p.is_absolute()) p = base / p;
        std::ifstream in(p, std::ios::binary);
        if (!in) {
          r.error(at, sub, "cannot read secret file " + p.string());
          continue;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        auto v = ss.str();
        while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
        if (v.empty()) r.error(at, sub, "secret file " + p.string() + " is empty");
        out.push_back(v);
        const std::string name = is_file ? key.substr(0, key.size() - 5) : key;
        cc.secrets[key_prefix + name] =
            config::secret(std::move(v), (is_file ? "file " : "credential ") + p.string());
      } else if (kv.second.IsMap()) {
        collect_block(r, kv.second, sub, key_prefix + key + ".", base, cc, out);
      } else if (kv.second.IsScalar()) {
        static const std::regex ref(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\})");
        const auto& s = kv.second.Scalar();
        // A literal value under a secret-sounding key (token, secret, password, key) is a secret too: it is
        // masked in logs like the others (files or credentials are still the better place for it).
        const bool secret_name = key.find("secret") != std::string::npos || key.find("token") != std::string::npos ||
                                 key.find("password") != std::string::npos || key.ends_with("key");
        if (secret_name && !std::regex_search(s, ref)) {
          out.push_back(s);
          cc.secrets[key_prefix + key] = config::secret(s, "the config file");
        } else if (std::regex_search(s, ref)) {
          // ${ENV}: the value is masked in logs either way; it is a secret under a secret-sounding key, a
          // setting otherwise (an email taken from the environment is still an email).
          std::string v = s;
          if (!expand_env(r, kv.second, sub, v)) continue;
          out.push_back(v);
          std::smatch m;
          std::regex_search(s, m, ref);
          if (secret_name)
            cc.secrets[key_prefix + key] = config::secret(std::move(v), "env " + m[1].str());
          else
            cc.settings[key_prefix + key] = std::move(v);
        } else {
          cc.settings[key_prefix + key] = s;
        }
      } else {
        r.error(kv.second, sub, "expected a value, a map or a `*_file` path");
      }
    }
  } else {
    r.error(n, path, "expected a map of settings");
  }
}


/// `identity:`, `survivorship:`, `kpis:` and `propagation:` (the 360 view's rules; absent sections keep the
/// shipped defaults described in daemon/profile/README.md).
void read_profile_sections(reader& r, const YAML::Node& root, profile::settings& s) {
  using profile::normalizer;
  if (auto id = root["identity"]; id && !id.IsNull() && r.is_map(id, "identity")) {
    r.known_keys(id, "identity", {"match", "ignore", "one_per_profile", "one_record_per_object",
                                  "max_records_per_system", "max_records_per_identifier"});
    auto& c = s.identity;
    if (auto m = id["match"]) {
      if (!m.IsSequence() || m.size() == 0) {
        r.error(m, "identity.match", "expected a list of identity attributes, e.g. [email, phone, external_ids.*]");
      } else {
        c.rules.clear();
        for (std::size_t i = 0; i < m.size(); ++i) {
          const std::string path = "identity.match[" + std::to_string(i) + "]";
          profile::match_rule rule;
          YAML::Node n = m[i];
          if (n.IsScalar()) {
            rule.attribute = n.Scalar();
          } else if (r.is_map(n, path)) {
            r.known_keys(n, path, {"attribute", "name", "normalize", "exclusive", "blocked"});
            if (auto a = n["attribute"]) { if (auto v = r.string(a, path + ".attribute")) rule.attribute = *v; }
            else r.error(n, path + ".attribute", "missing required key \"attribute\"");
            if (auto a = n["name"]) { if (auto v = r.string(a, path + ".name")) rule.name = *v; }
            if (auto a = n["exclusive"]) { if (auto v = r.boolean(a, path + ".exclusive")) rule.exclusive = *v; }
            if (auto a = n["blocked"]) {
              if (a.IsSequence())
                for (std::size_t j = 0; j < a.size(); ++j)
                  if (auto v = r.string(a[j], path + ".blocked")) rule.blocked_values.push_back(*v);
            }
          } else {
            continue;
          }
          if (rule.attribute.empty()) continue;
          rule.norm = rule.attribute == "email" ? normalizer::email
                    : rule.attribute == "phone" ? normalizer::phone : normalizer::exact;
          if (rule.attribute.rfind("external_ids.", 0) == 0) rule.exclusive = rule.exclusive || rule.attribute == "external_ids.*";
          if (n.IsMap())
            if (auto a = n["normalize"])
              if (auto v = r.one_of(a, path + ".normalize", {"exact", "email", "phone", "case_insensitive"}))
                rule.norm = *v == "email" ? normalizer::email : *v == "phone" ? normalizer::phone
                          : *v == "case_insensitive" ? normalizer::case_insensitive : normalizer::exact;
          if (rule.name.empty()) rule.name = rule.attribute;
          c.rules.push_back(std::move(rule));
        }
        // Vendor ids always link a system's own records (a ticket's requester id to the user): keep them matching
        // even when the list does not name them.
        const bool has_ids = std::any_of(c.rules.begin(), c.rules.end(), [](const profile::match_rule& x) {
          return x.attribute == "external_ids.*";
        });
        if (!has_ids) {
          profile::match_rule ids;
          ids.name = "external_id";
          ids.attribute = "external_ids.*";
          ids.norm = normalizer::exact;
          ids.exclusive = true;
          c.rules.push_back(std::move(ids));
        }
      }
    }
    if (auto n = id["ignore"]) {
      if (!n.IsSequence()) r.error(n, "identity.ignore", "expected a list such as [\"info@*\", \"noreply@*\"]");
      else
        for (std::size_t i = 0; i < n.size(); ++i) {
          auto v = r.string(n[i], "identity.ignore[" + std::to_string(i) + "]");
          if (!v) continue;
          if (v->size() > 2 && v->substr(v->size() - 2) == "@*") {
            c.generic_local_parts.push_back(v->substr(0, v->size() - 2));
          } else {
            bool placed = false;  // an exact value: blocked for the rule of its kind
            for (auto& rule : c.rules)
              if ((v->find('@') != std::string::npos) == (rule.norm == normalizer::email)) {
                rule.blocked_values.push_back(*v);
                placed = true;
                break;
              }
            if (!placed) r.error(n[i], "identity.ignore[" + std::to_string(i) + "]", "no match rule uses a value like \"" + *v + "\"");
          }
        }
    }
    if (auto n = id["one_per_profile"]) {
      if (!n.IsSequence()) r.error(n, "identity.one_per_profile", "expected a list of connector names");
      else
        for (std::size_t i = 0; i < n.size(); ++i)
          if (auto v = r.string(n[i], "identity.one_per_profile[" + std::to_string(i) + "]")) {
            profile::match_rule rule;
            rule.name = "external_id";
            rule.attribute = "external_ids." + *v;
            rule.exclusive = true;
            c.rules.insert(c.rules.begin(), std::move(rule));
          }
    }
    if (auto n = id["one_record_per_object"]) { if (auto v = r.boolean(n, "identity.one_record_per_object")) c.one_record_per_object = *v; }
    if (auto n = id["max_records_per_system"]) { if (auto v = r.positive(n, "identity.max_records_per_system", 1000)) c.max_records_per_system = static_cast<unsigned>(*v); }
    if (auto n = id["max_records_per_identifier"]) { if (auto v = r.positive(n, "identity.max_records_per_identifier", 100000)) c.max_records_per_identifier = static_cast<unsigned>(*v); }
  }
  static const std::vector<std::string> strategies{"source_priority", "most_recent", "first_non_null", "union",
                                                   "max", "min", "sum"};
  if (auto sv = root["survivorship"]; sv && !sv.IsNull() && r.is_map(sv, "survivorship")) {
    for (const auto& kv : sv) {
      const std::string attr = kv.first.Scalar();
      const std::string path = "survivorship." + attr;
      if (attr == "default") {
        if (auto v = r.one_of(kv.second, path, strategies)) s.survivorship.fallback.how = *profile::parse_strategy(*v);
        continue;
      }
      profile::attribute_rule rule;
      rule.attribute = attr;
      // Start from the shipped rule for the attribute (so `email: {owner: x}` keeps its strategy).
      rule.how = s.survivorship.rule_for(attr).how;
      if (kv.second.IsScalar()) {
        if (auto v = r.one_of(kv.second, path, strategies)) rule.how = *profile::parse_strategy(*v);
      } else if (r.is_map(kv.second, path)) {
        const auto& n = kv.second;
        r.known_keys(n, path, {"policy", "strategy", "order", "priority", "owner", "null_wins"});
        for (const char* k : {"policy", "strategy"})
          if (auto a = n[k]) { if (auto v = r.one_of(a, path + "." + k, strategies)) rule.how = *profile::parse_strategy(*v); }
        for (const char* k : {"order", "priority"})
          if (auto a = n[k]) {
            if (!a.IsSequence()) r.error(a, path + "." + k, "expected a list of connector names");
            else
              for (std::size_t i = 0; i < a.size(); ++i)
                if (auto v = r.string(a[i], path + "." + k)) rule.priority.push_back(*v);
          }
        if (auto a = n["owner"]) { if (auto v = r.string(a, path + ".owner")) rule.owner = *v; }
        if (auto a = n["null_wins"]) { if (auto v = r.boolean(a, path + ".null_wins")) rule.null_wins = *v; }
      } else {
        continue;
      }
      auto& list = s.survivorship.attributes;
      list.erase(std::remove_if(list.begin(), list.end(), [&](const auto& x) { return x.attribute == attr; }), list.end());
      list.push_back(std::move(rule));
    }
  }
  if (auto k = root["kpis"]; k && !k.IsNull() && r.is_map(k, "kpis")) {
    r.known_keys(k, "kpis", {"currency", "rates", "closed_statuses", "lifecycle"});
    if (auto n = k["currency"]) { if (auto v = r.string(n, "kpis.currency")) s.kpis.currency = *v; }
    if (auto n = k["rates"]; n && r.is_map(n, "kpis.rates"))
      for (const auto& kv : n) {
        char* end = nullptr;
        const std::string text = kv.second.IsScalar() ? kv.second.Scalar() : std::string();
        const double rate = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || rate <= 0) r.error(kv.second, "kpis.rates." + kv.first.Scalar(), "expected a positive number");
        else s.kpis.rates.emplace_back(kv.first.Scalar(), rate);
      }
    if (auto n = k["closed_statuses"]) {
      if (!n.IsSequence()) r.error(n, "kpis.closed_statuses", "expected a list of statuses");
      else {
        s.kpis.closed_statuses.clear();
        for (std::size_t i = 0; i < n.size(); ++i)
          if (auto v = r.string(n[i], "kpis.closed_statuses")) s.kpis.closed_statuses.push_back(*v);
      }
    }
    if (auto n = k["lifecycle"]) {
      // [{stage: renewal, when: ["order_count >= 2"]}, ...] in order; the first rule that holds wins.
      if (!n.IsSequence()) r.error(n, "kpis.lifecycle", "expected a list of {stage, when} rules");
      else {
        s.kpis.lifecycle.clear();
        static const std::regex cond(R"(^\s*([A-Za-z_.]+)\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$)");
        for (std::size_t i = 0; i < n.size(); ++i) {
          const std::string path = "kpis.lifecycle[" + std::to_string(i) + "]";
          if (!r.is_map(n[i], path)) continue;
          r.known_keys(n[i], path, {"stage", "when"});
          profile::stage_rule rule;
          if (auto a = n[i]["stage"]) { if (auto v = r.string(a, path + ".stage")) rule.stage = *v; }
          if (auto w = n[i]["when"]; w && w.IsSequence())
            for (std::size_t j = 0; j < w.size(); ++j) {
              std::smatch m;
              const std::string text = w[j].IsScalar() ? w[j].Scalar() : std::string();
              if (!std::regex_match(text, m, cond)) {
                r.error(w[j], path + ".when", "expected \"metric op value\", e.g. \"order_count >= 2\"");
                continue;
              }
              profile::stage_condition c;
              c.metric = m[1];
              const std::string op = m[2];
              using sop = profile::stage_condition::op;
              c.cmp = op == ">=" ? sop::ge : op == ">" ? sop::gt : op == "<=" ? sop::le : op == "<" ? sop::lt
                    : op == "==" ? sop::eq : sop::ne;
              const std::string val = m[3];
              char* end = nullptr;
              const double d = std::strtod(val.c_str(), &end);
              if (!val.empty() && *end == '\0') c.number = d;
              else c.text = val;
              rule.when.push_back(std::move(c));
            }
          s.kpis.lifecycle.push_back(std::move(rule));
        }
        for (const auto& problem : s.kpis.validate()) r.error(n, "kpis.lifecycle", problem);
      }
    }
  }
  if (auto pr = root["propagation"]; pr && !pr.IsNull() && r.is_map(pr, "propagation")) {
    r.known_keys(pr, "propagation", {"deletes"});
    if (auto n = pr["deletes"])
      if (auto v = r.one_of(n, "propagation.deletes", {"ignore", "flag", "delete"}))
        s.on_delete = *v == "flag"     ? profile::delete_policy::flag
                      : *v == "delete" ? profile::delete_policy::remove
                                       : profile::delete_policy::ignore;
  }
}

}  // namespace

loaded_config load_daemon_config(const fs::path& file, const config_overrides& overrides) {
  loaded_config out;
  auto cfg = std::make_shared<config::daemon_config>();
  const std::string name = file.string();
  reader r(name, out.problems);
  YAML::Node root;
  {
    std::ifstream probe(file);
    if (!probe) {
      out.problems.add({name, 0, 0}, "", "cannot read the config file (" + std::string(std::strerror(errno)) + ")");
      return out;
    }
  }
  try {
    root = YAML::LoadFile(name);
  } catch (const YAML::ParserException& e) {
    out.problems.add({name, e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + e.msg);
    return out;
  } catch (const YAML::Exception& e) {
    out.problems.add({name, 0, 0}, "", e.what());
    return out;
  }
  cfg->source_file = fs::absolute(file);
  const fs::path base = cfg->source_file.parent_path();
  cfg->mappings_dir = base / "mappings";

  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (r.is_map(root, "")) {
    r.known_keys(root, "", {"daemon", "http", "store", "mappings_dir", "connectors", "canonical", "identity",
                            "survivorship", "kpis", "propagation"});
    if (auto d = root["daemon"]) {
      auto& s = cfg->daemon;
      if (r.is_map(d, "daemon")) {
        r.known_keys(d, "daemon", {"state_dir", "control_socket", "control_group", "shutdown_timeout", "threads",
                                   "control_idle_timeout", "control_max_line", "log"});
        if (auto n = d["state_dir"]) { if (auto v = r.path_value(n, "daemon.state_dir", base)) s.state_dir = *v; }
        if (auto n = d["control_socket"]) { if (auto v = r.path_value(n, "daemon.control_socket", base)) s.control_socket = *v; }
        if (auto n = d["control_group"]) { if (auto v = r.string(n, "daemon.control_group")) s.control_group = *v; }
        if (auto n = d["shutdown_timeout"]) { if (auto v = r.duration(n, "daemon.shutdown_timeout")) s.shutdown_timeout = *v; }
        if (auto n = d["control_idle_timeout"]) { if (auto v = r.duration(n, "daemon.control_idle_timeout")) s.control_idle_timeout = *v; }
        if (auto n = d["threads"]) { if (auto v = r.positive(n, "daemon.threads", 64)) s.threads = static_cast<unsigned>(*v); }
        if (auto n = d["control_max_line"]) { if (auto v = r.size(n, "daemon.control_max_line", 64u << 20)) s.control_max_line = *v; }
        if (auto l = d["log"]; l && r.is_map(l, "daemon.log")) {
          r.known_keys(l, "daemon.log", {"level", "format", "components"});
          static const std::vector<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
          if (auto n = l["level"]) { if (auto v = r.one_of(n, "daemon.log.level", levels)) s.log.level = *v; }
          if (auto n = l["format"]) {
            if (auto v = r.one_of(n, "daemon.log.format", {"auto", "text", "journal", "json"}))
              s.log.format = *v == "text" ? config::log_format::text : *v == "journal" ? config::log_format::journal
                           : *v == "json" ? config::log_format::json : config::log_format::automatic;
          }
          if (auto c = l["components"]; c && r.is_map(c, "daemon.log.components"))
            for (const auto& kv : c)
              if (auto v = r.one_of(kv.second, "daemon.log.components." + kv.first.Scalar(), levels))
                s.log.components[kv.first.Scalar()] = *v;
        }
      }
    }
    if (auto h = root["http"]; h && r.is_map(h, "http")) {
      auto& s = cfg->http;
      r.known_keys(h, "http", {"listen", "public_url", "max_body", "header_timeout", "body_timeout", "max_connections"});
      if (auto n = h["listen"]) {
        static const std::regex listen(R"(^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$)");
        auto v = r.string(n, "http.listen");
        if (v && std::regex_match(*v, listen) && std::stoul(v->substr(v->rfind(':') + 1)) <= 65535)
          s.listen = *v;
        else if (v)
          r.error(n, "http.listen", "expected host:port (port 0 picks a free one), got \"" + *v + "\"");
      }
      if (auto n = h["public_url"]) { if (auto v = r.url(n, "http.public_url")) s.public_url = *v; }
      if (auto n = h["max_body"]) { if (auto v = r.size(n, "http.max_body", 1ull << 30)) s.max_body = *v; }
      if (auto n = h["header_timeout"]) { if (auto v = r.duration(n, "http.header_timeout")) s.header_timeout = *v; }
      if (auto n = h["body_timeout"]) { if (auto v = r.duration(n, "http.body_timeout")) s.body_timeout = *v; }
      if (auto n = h["max_connections"]) { if (auto v = r.positive(n, "http.max_connections", 1u << 20)) s.max_connections = static_cast<unsigned>(*v); }
    }
    if (auto st = root["store"]; st && r.is_map(st, "store")) {
      auto& s = cfg->store;
      r.known_keys(st, "store", {"kind", "synchronous", "busy_timeout", "dsn", "dsn_file", "lease_ttl", "instance"});
      if (auto n = st["kind"]) {
        if (auto v = r.one_of(n, "store.kind", {"sqlite", "postgres"}))
          s.kind = *v == "postgres" ? config::store_kind::postgres : config::store_kind::sqlite;
      }
      if (auto n = st["synchronous"]) {
        if (auto v = r.one_of(n, "store.synchronous", {"off", "normal", "full", "extra"}))
          s.synchronous = *v == "off" ? config::sync_mode::off : *v == "normal" ? config::sync_mode::normal
                        : *v == "extra" ? config::sync_mode::extra : config::sync_mode::full;
      }
      if (auto n = st["busy_timeout"]) { if (auto v = r.duration(n, "store.busy_timeout")) s.busy_timeout = *v; }
      if (auto n = st["lease_ttl"]) {
        if (auto v = r.duration(n, "store.lease_ttl")) {
          if (v->count() < 300) r.error(n, "store.lease_ttl", "must be at least 300ms (it is renewed every third of it)");
          else s.lease_ttl = *v;
        }
      }
      if (auto n = st["instance"]) {
        if (!n.IsScalar() || n.Scalar().empty() || n.Scalar().size() > 200)
          r.error(n, "store.instance", "must be a name of 1 to 200 characters");
        else s.instance = n.Scalar();
      }
      // The PostgreSQL DSN may hold a password: it is read like the connectors' secrets (`dsn_file: PATH`,
      // `dsn: {credential: NAME}`, `dsn: "${ENV}"`), and even a literal `dsn:` is kept as a secret (masked in
      // logs; never shown by status).
      if (st["dsn"] && st["dsn_file"])
        r.error(st["dsn_file"], "store.dsn_file", "give either store.dsn or store.dsn_file, not both");
      if (st["dsn"] || st["dsn_file"]) {
        config::connector_common block;
        collect_block(r, st, "store", "store.", base, block, out.secret_values);
        if (auto it = block.secrets.find("store.dsn"); it != block.secrets.end()) {
          s.dsn = it->second;
        } else if (auto lit = block.settings.find("store.dsn"); lit != block.settings.end()) {
          const bool from_env = st["dsn"].IsScalar() && st["dsn"].Scalar().find("${") != std::string::npos;
          if (!from_env) out.secret_values.push_back(lit->second);  // ${ENV} values are already listed
          s.dsn = config::secret(lit->second, from_env ? "env" : "the config file");
          if (s.dsn->empty()) {
            r.error(st["dsn"], "store.dsn", "the PostgreSQL DSN is empty");
            s.dsn.reset();
          }
        }
      }
      if (s.kind == config::store_kind::postgres && !s.dsn && !st["dsn"] && !st["dsn_file"])
        r.error(st["kind"], "store.kind",
                "postgres needs a connection string: store.dsn_file: PATH, store.dsn: {credential: NAME} or "
                "store.dsn: \"${ENV}\" (libpq keyword/value or URI form)");
    }
    if (auto n = root["mappings_dir"]) { if (auto v = r.path_value(n, "mappings_dir", base)) cfg->mappings_dir = *v; }
    if (auto cs = root["connectors"]; cs && !cs.IsNull() && r.is_map(cs, "connectors")) {
      static const std::vector<std::string> kinds{"salesforce", "hubspot", "zendesk", "activecampaign", "intercom"};
      for (const auto& kv : cs) {
        const std::string cname = kv.first.Scalar();
        const std::string path = "connectors." + cname;
        const YAML::Node c = kv.second;
        if (!r.is_map(c, path)) continue;
        config::connector_common cc;
        cc.name = cname;
        r.known_keys(c, path, {"kind", "base_url", "login_url", "tls", "poll_interval", "enabled", "objects", "auth",
                               "webhook", "api_version", "subdomain", "settle_lag", "rate_limit", "batch_size", "sync"});
        if (auto n = c["kind"]) {
          if (auto v = r.one_of(n, path + ".kind", kinds)) cc.kind = *v;
        } else {
          r.error(c, path + ".kind", "missing required key \"kind\"");
        }
        for (const char* key : {"base_url", "login_url"}) {
          if (auto n = c[key]) {
            if (auto v = r.url(n, path + "." + key)) cc.base_url = *v;
          }
        }
        if (auto t = c["tls"]; t && r.is_map(t, path + ".tls")) {
          r.known_keys(t, path + ".tls", {"ca_file", "verify"});
          if (auto n = t["ca_file"]) cc.ca_file = r.path_value(n, path + ".tls.ca_file", base);
          if (auto n = t["verify"]) { if (auto v = r.boolean(n, path + ".tls.verify")) cc.tls_verify = *v; }
        }
        if (auto n = c["poll_interval"]) { if (auto v = r.duration(n, path + ".poll_interval")) cc.poll_interval = *v; }
        // Vendor-specific settings the connectors (issue #5) read; their types are checked here already.
        if (auto n = c["settle_lag"]) { if (auto v = r.duration(n, path + ".settle_lag")) cc.settle_lag = *v; }
        if (auto n = c["batch_size"]) { if (auto v = r.positive(n, path + ".batch_size", 2000)) cc.batch_size = *v; }
        if (auto n = c["subdomain"]) {
          static const std::regex sub(R"(^[a-z0-9][a-z0-9-]{0,62}$)");
          auto v = r.string(n, path + ".subdomain");
          if (v && !std::regex_match(*v, sub))
            r.error(n, path + ".subdomain", "expected a subdomain like \"acme\" (letters, digits, hyphens), got \"" + *v + "\"");
          else if (v)
            cc.subdomain = *v;
        }
        if (auto n = c["api_version"]) {
          static const std::regex ver(R"(^\d{2}\.\d$)");
          auto v = r.string(n, path + ".api_version");
          if (v && !std::regex_match(*v, ver))
            r.error(n, path + ".api_version", "expected a Salesforce API version like \"62.0\", got \"" + *v + "\"");
          else if (v)
            cc.api_version = *v;
        }
        if (auto n = c["enabled"]) { if (auto v = r.boolean(n, path + ".enabled")) cc.enabled = *v; }
        if (auto n = c["objects"]) {
          if (n.IsSequence()) {
            for (std::size_t i = 0; i < n.size(); ++i)
              if (auto v = r.string(n[i], path + ".objects[" + std::to_string(i) + "]")) cc.objects.push_back(*v);
          } else {
            r.error(n, path + ".objects", "expected a list of object names");
          }
        }
        for (const char* key : {"auth", "webhook", "sync", "rate_limit"})
          if (auto n = c[key]) collect_block(r, n, path + "." + key, std::string(key) + ".", base, cc, out.secret_values);
        cfg->connectors.push_back(std::move(cc));
      }
    }
  }
  {
    auto ps = std::make_shared<profile::settings>();
    if (root.IsMap()) read_profile_sections(r, root, *ps);
    out.profiles = std::move(ps);
  }
  if (overrides.state_dir) cfg->daemon.state_dir = fs::absolute(*overrides.state_dir);
  if (overrides.control_socket) cfg->daemon.control_socket = fs::absolute(*overrides.control_socket);
  if (cfg->daemon.control_socket.string().size() >= 108)
    out.problems.add({name, 0, 0}, "daemon.control_socket", "path longer than 107 bytes: Unix sockets cannot use it");
  // The mapping files are part of the configuration: compile them all now (the canonical attributes come from
  // the `canonical:` section, or the shipped default set). A missing folder is an error only when named.
  if (out.problems.empty()) {
    const bool named = root.IsMap() && root["mappings_dir"];
    std::error_code ec;
    if (fs::is_directory(cfg->mappings_dir, ec)) {
      auto canonical = mapping::read_canonical_attributes(file, out.problems);
      cfg->canonical = canonical;
      out.mappings = mapping::load_mapping_dir(cfg->mappings_dir, canonical, out.problems);
    } else if (named) {
      out.problems.add(config::location_of(name, root["mappings_dir"]), "mappings_dir",
                       "no such folder: " + cfg->mappings_dir.string());
    }
  }
  // Each enabled connector's adapter checks its own settings (credentials, flows, vendor keys) by being built
  // once here, so --check-config and reload catch what would stop the daemon at start-up.
  if (out.problems.empty() && root.IsMap() && root["connectors"]) {
    boost::asio::io_context probe;
    adapters::connector_context ctx;
    ctx.executor = probe.get_executor();
    ctx.public_url = cfg->http.public_url;
    for (const auto& cc : cfg->connectors) {
      if (!cc.enabled) continue;
      try {
        (void)adapters::make_connector(cc, ctx);
      } catch (const std::exception& e) {
        out.problems.add(config::location_of(name, root["connectors"][cc.name]), "connectors." + cc.name, e.what());
      }
    }
  }
  if (out.problems.empty()) out.config = std::move(cfg);
  return out;
}

}  // namespace omnisync::app
