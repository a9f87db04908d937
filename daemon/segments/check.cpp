#include "daemon/segments/check.hpp"

#include <algorithm>

#include "config/value_syntax.hpp"
#include "core/time.hpp"

namespace omnisync::segments {
namespace {

bool numeric(value_type t) { return t == value_type::number; }

std::vector<std::string> keys_of(const std::map<std::string, value_type, std::less<>>& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

class checker {
 public:
  checker(const profile_schema& s, segment_inputs& in, const std::function<std::optional<int>(std::string_view)>& idx,
          const std::vector<std::string>& keys)
      : schema_(s), in_(in), index_(idx), keys_(keys) {}

  std::vector<expr_error> errors;

  void root(node& n) {
    visit(n, false);
    if (n.type != value_type::unknown && n.type != value_type::boolean)
      error(n, "a segment's condition must be true or false, this is a " + std::string(type_name(n.type)));
  }

 private:
  void error(const node& n, std::string m) { errors.push_back({n.offset, std::move(m)}); }

  /// Types `n`; `in_event` is true inside an aggregate's predicate or value (where e.<field> is defined).
  void visit(node& n, bool in_event) {
    switch (n.kind) {
      case node_kind::boolean: n.type = value_type::boolean; return;
      case node_kind::number: n.type = value_type::number; return;
      case node_kind::string: n.type = value_type::string; return;
      case node_kind::duration:
        n.type = value_type::duration;
        error(n, "a duration is only allowed in within: or between:");
        return;
      case node_kind::list:
        n.type = value_type::list;
        for (auto& c : n.children) {
          visit(c, in_event);
          if (c.kind != node_kind::string && c.kind != node_kind::number && c.kind != node_kind::boolean)
            error(c, "a list holds literal values (strings, numbers, true/false)");
        }
        return;
      case node_kind::attribute: {
        n.type = schema_.attribute(n.text);
        if (n.type == value_type::unknown) {
          std::string m = "unknown attribute \"" + n.text + "\"";
          std::string hint = config::did_you_mean(n.text, schema_.attribute_names());
          if (hint.empty() && schema_.kpis.count(n.text)) hint = " (did you mean \"kpi." + n.text + "\"?)";
          if (hint.empty() && n.text == "lifecycle_stage") hint = " (did you mean \"stage\"?)";
          if (hint.empty() && n.text.rfind("e.", 0) != 0 && in_event && schema_.event_fields.count(n.text))
            hint = " (did you mean \"e." + n.text + "\"?)";
          error(n, m + hint);
        } else if (schema_.attributes.count(n.text) || schema_.attribute(n.text) != value_type::unknown) {
          in_.attributes.insert(n.text);
        }
        return;
      }
      case node_kind::kpi: {
        auto it = schema_.kpis.find(n.text);
        if (it == schema_.kpis.end()) {
          error(n, "unknown KPI \"" + n.text + "\"" + config::did_you_mean(n.text, keys_of(schema_.kpis)));
          return;
        }
        n.type = it->second;
        in_.kpis.insert(n.text);
        return;
      }
      case node_kind::stage:
        n.type = value_type::string;
        in_.stage = true;
        return;
      case node_kind::event_field: {
        if (!in_event) {
          error(n, "e." + n.text + " is only defined inside count/any/none/sum(events, ...)");
          return;
        }
        auto it = schema_.event_fields.find(n.text);
        if (it == schema_.event_fields.end()) {
          error(n, "unknown event field \"" + n.text + "\"" + config::did_you_mean(n.text, keys_of(schema_.event_fields)));
          return;
        }
        n.type = it->second;
        return;
      }
      case node_kind::logical_not:
      case node_kind::logical_and:
      case node_kind::logical_or:
        for (auto& c : n.children) {
          visit(c, in_event);
          want_boolean(c);
        }
        n.type = value_type::boolean;
        return;
      case node_kind::compare: return compare(n, in_event);
      case node_kind::in: return in_list(n, in_event);
      case node_kind::exists: {
        node& a = n.children[0];
        visit(a, in_event);
        if (a.kind != node_kind::attribute && a.kind != node_kind::kpi && a.kind != node_kind::event_field &&
            a.kind != node_kind::stage)
          error(a, "exists() takes an attribute, a KPI or an event field");
        n.type = value_type::boolean;
        return;
      }
      case node_kind::string_test: {
        node& a = n.children[0];
        node& b = n.children[1];
        visit(a, in_event);
        visit(b, in_event);
        const bool list_ok = n.sop == string_op::contains && a.type == value_type::string_list;
        if (a.type != value_type::unknown && a.type != value_type::string && !list_ok)
          error(a, "a string test needs a string on the left, this is a " + std::string(type_name(a.type)));
        if (b.type != value_type::unknown && b.type != value_type::string)
          error(b, "a string test needs a string on the right, this is a " + std::string(type_name(b.type)));
        n.type = value_type::boolean;
        return;
      }
      case node_kind::aggregate: return aggregate(n, in_event);
      case node_kind::days_since: {
        node& a = n.children[0];
        visit(a, in_event);
        if (a.type != value_type::unknown && a.type != value_type::datetime)
          error(a, "days_since() takes a datetime, this is a " + std::string(type_name(a.type)));
        n.type = value_type::number;
        in_.clocked = true;
        return;
      }
      case node_kind::member_of: {
        n.type = value_type::boolean;
        if (auto i = index_(n.text)) {
          n.segment = *i;
          in_.segments.insert(n.text);
        } else {
          error(n, "unknown segment \"" + n.text + "\"" + config::did_you_mean(n.text, keys_));
        }
        return;
      }
    }
  }

  void want_boolean(const node& c) {
    if (c.type != value_type::unknown && c.type != value_type::boolean)
      error(c, "expected true or false here, this is a " + std::string(type_name(c.type)));
  }

  /// A string literal set against a datetime is an ISO 8601 instant; against stage or e.type it must name one.
  void literal_for(node& lit, const node& other) {
    if (lit.kind != node_kind::string) return;
    if (other.type == value_type::datetime) {
      if (auto t = parse_iso8601(lit.text)) {
        lit.type = value_type::datetime;
        lit.ms = to_epoch_ms(*t);
      } else {
        error(lit, "\"" + lit.text + "\" is not an ISO 8601 date or time");
      }
      return;
    }
    const std::vector<std::string>* names = nullptr;
    const char* what = nullptr;
    if (other.kind == node_kind::stage) names = &schema_.stages, what = "stage";
    if (other.kind == node_kind::event_field && other.text == "type") names = &schema_.event_types, what = "event type";
    if (names && std::find(names->begin(), names->end(), lit.text) == names->end())
      error(lit, std::string("unknown ") + what + " \"" + lit.text + "\"" + config::did_you_mean(lit.text, *names));
  }

  void compare(node& n, bool in_event) {
    node& a = n.children[0];
    node& b = n.children[1];
    visit(a, in_event);
    visit(b, in_event);
    n.type = value_type::boolean;
    literal_for(b, a);
    literal_for(a, b);
    if (a.type == value_type::unknown || b.type == value_type::unknown) return;
    const bool ordered = n.cmp != compare_op::eq && n.cmp != compare_op::ne;
    if (a.type != b.type) {
      error(n.children[1], "cannot compare a " + std::string(type_name(a.type)) + " with a " + type_name(b.type));
      return;
    }
    if (ordered && !numeric(a.type) && a.type != value_type::datetime)
      error(n, std::string("<, <=, > and >= compare numbers and datetimes, not a ") + type_name(a.type));
    if (a.type == value_type::string_list || a.type == value_type::list)
      error(n, "use contains to test a list");
  }

  void in_list(node& n, bool in_event) {
    node& a = n.children[0];
    node& l = n.children[1];
    visit(a, in_event);
    visit(l, in_event);
    n.type = value_type::boolean;
    if (a.type != value_type::unknown && a.type != value_type::string && a.type != value_type::number)
      error(a, "in tests a string or a number, this is a " + std::string(type_name(a.type)));
    for (auto& item : l.children) {
      literal_for(item, a);
      if (a.type != value_type::unknown && item.type != value_type::unknown && item.type != a.type)
        error(item, "the list holds a " + std::string(type_name(item.type)) + ", expected a " + type_name(a.type));
    }
  }

  /// The values a predicate pins event field `field` to: `e.F == "x"`, `e.F in [..]`, and conjunctions holding
  /// one; false when it can match any value.
  static bool pinned(const node& p, const char* field, std::set<std::string, std::less<>>& out) {
    if (p.kind == node_kind::compare && p.cmp == compare_op::eq) {
      for (int i = 0; i < 2; ++i) {
        const node& f = p.children[i];
        const node& v = p.children[1 - i];
        if (f.kind == node_kind::event_field && f.text == field && v.kind == node_kind::string) {
          out.insert(v.text);
          return true;
        }
      }
    }
    if (p.kind == node_kind::in && p.children[0].kind == node_kind::event_field && p.children[0].text == field) {
      for (const auto& v : p.children[1].children) out.insert(v.text);
      return true;
    }
    if (p.kind == node_kind::logical_and) {
      std::set<std::string, std::less<>> l, r;
      const bool pl = pinned(p.children[0], field, l), pr = pinned(p.children[1], field, r);
      if (pl && pr) {
        for (const auto& t : l)
          if (r.count(t)) out.insert(t);
        return true;
      }
      if (pl) out.insert(l.begin(), l.end());
      if (pr) out.insert(r.begin(), r.end());
      return pl || pr;
    }
    if (p.kind == node_kind::logical_or) {
      std::set<std::string, std::less<>> l, r;
      if (pinned(p.children[0], field, l) && pinned(p.children[1], field, r)) {
        out.insert(l.begin(), l.end());
        out.insert(r.begin(), r.end());
        return true;
      }
    }
    return false;
  }

  void aggregate(node& n, bool in_event) {
    if (in_event) error(n, "an aggregate cannot be nested inside another one's predicate");
    n.type = (n.agg == aggregate_op::any || n.agg == aggregate_op::none) ? value_type::boolean : value_type::number;
    in_.clocked = true;  // events count from their occurred_at on (and leave windows)
    std::size_t next = 0;
    if (n.agg == aggregate_op::sum) {
      node& v = n.children[next++];
      visit(v, true);
      if (v.type != value_type::unknown && v.type != value_type::number)
        error(v, "sum() adds numbers (e.amount, e.score), this is a " + std::string(type_name(v.type)));
    }
    if (n.has_predicate) {
      node& p = n.children[next];
      visit(p, true);
      want_boolean(p);
      std::set<std::string, std::less<>> types;
      if (pinned(p, "type", types)) {
        in_.event_types.insert(types.begin(), types.end());
        for (const auto& t : types) n.reads |= is_segment_event_type(t) ? 2 : 1;
      } else {
        in_.any_event = true;
        n.reads = 1;  // the timeline only: segment transitions are read where e.type names them
      }
      if (n.reads & 2) segment_events(p);
    } else {
      in_.any_event = true;
      n.reads = 1;
    }
  }

  /// A predicate over segment transitions names the segments it reads (`e.segment == "K"` or `in [..]`): they
  /// become dependencies (ordered first, cycles refused) and a transition of one of them re-evaluates this one.
  void segment_events(const node& p) {
    std::set<std::string, std::less<>> keys;
    if (!pinned(p, "segment", keys)) {
      error(p, std::string("a predicate over ") + segment_entered_type + " / " + segment_exited_type +
                   " events must name the segment: e.segment == \"KEY\"");
      return;
    }
    for (const auto& k : keys) {
      if (index_(k)) {
        in_.segment_events.insert(k);
      } else {
        error(p, "unknown segment \"" + k + "\"" + config::did_you_mean(k, keys_));
      }
    }
  }

  const profile_schema& schema_;
  segment_inputs& in_;
  const std::function<std::optional<int>(std::string_view)>& index_;
  const std::vector<std::string>& keys_;
};

}  // namespace

std::vector<expr_error> check_expression(node& n, const profile_schema& schema, segment_inputs& in,
                                         const std::function<std::optional<int>(std::string_view)>& segment_index,
                                         const std::vector<std::string>& segment_keys) {
  checker c(schema, in, segment_index, segment_keys);
  c.root(n);
  std::stable_sort(c.errors.begin(), c.errors.end(),
                   [](const expr_error& a, const expr_error& b) { return a.offset < b.offset; });
  return std::move(c.errors);
}

}  // namespace omnisync::segments
