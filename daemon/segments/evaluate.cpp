#include "daemon/segments/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/time.hpp"
#include "daemon/segments/schema.hpp"

namespace omnisync::segments {
namespace {

constexpr std::int64_t day_ms = 86'400'000;

struct context {
  const profile_facts& p;
  std::int64_t now;
  const segment_hooks& hooks;
  const profile::event* e = nullptr;  ///< inside an aggregate
};

eval_value from_value(const mapping::value* v, value_type t) {
  eval_value out;
  if (!v || v->is_null_or_missing()) return out;
  using k = mapping::value::kind;
  switch (t) {
    case value_type::number:
      if (v->k == k::integer) out.n = static_cast<double>(v->i), out.k = eval_value::kind::number;
      if (v->k == k::number) out.n = v->d, out.k = eval_value::kind::number;
      break;
    case value_type::boolean:
      if (v->k == k::boolean) out.b = v->b, out.k = eval_value::kind::boolean;
      break;
    case value_type::datetime:
      if (v->k == k::string)
        if (auto ts = parse_iso8601(v->s)) out.t = to_epoch_ms(*ts), out.k = eval_value::kind::datetime;
      if (v->k == k::integer) out.t = v->i, out.k = eval_value::kind::datetime;
      break;
    case value_type::string_list:
      if (v->k == k::array) {
        for (const auto& item : v->items)
          if (item.k == k::string) out.items.push_back(item.s);
        out.k = eval_value::kind::list;
      }
      break;
    default:
      if (v->k == k::string) out.s = v->s, out.k = eval_value::kind::string;
      break;
  }
  return out;
}

eval_value boolean(bool b) {
  eval_value v;
  v.k = eval_value::kind::boolean;
  v.b = b;
  return v;
}
eval_value number(double n) {
  eval_value v;
  v.k = eval_value::kind::number;
  v.n = n;
  return v;
}

eval_value event_field(const profile::event& e, const std::string& f) {
  eval_value v;
  auto text = [&v](const std::string& s) {
    if (!s.empty()) v.k = eval_value::kind::string, v.s = s;
  };
  if (f == "type") text(e.type);
  else if (f == "subject") text(e.subject);
  else if (f == "segment") { if (is_segment_event_type(e.type)) text(e.subject); }
  else if (f == "currency") text(e.currency);
  else if (f == "status") text(e.status);
  else if (f == "occurred_at") v.k = eval_value::kind::datetime, v.t = e.occurred_at;
  else if (f == "amount" && e.amount) v = number(*e.amount);
  else if (f == "score" && e.score) v = number(*e.score);
  return v;
}

bool is_true(const eval_value& v) { return v.k == eval_value::kind::boolean && v.b; }

/// Calls `f` on each event an aggregate reads: the timeline, the segment transitions, or both (node::reads).
template <class F>
void for_each_event(const node& n, const profile_facts& p, F&& f) {
  if (n.reads == 0 || (n.reads & 1))
    for (const auto& e : p.events) f(e);
  if (n.reads & 2)
    for (const auto& e : p.segment_events) f(e);
}

/// Whether an event at `t` lies in the aggregate's window at instant `x`.
bool in_window(const node& n, std::int64_t t, std::int64_t x) {
  switch (n.window) {
    case window_kind::none: return t <= x;
    case window_kind::within: return t <= x && x < t + n.window_a;
    case window_kind::between_ago: return t + n.window_b <= x && x < t + n.window_a;
    case window_kind::between_dates: return t <= x && t >= n.window_a && t < n.window_b;
  }
  return false;
}

/// The instants an event at `t` enters or leaves the window.
void window_edges(const node& n, std::int64_t t, std::int64_t (&out)[2]) {
  out[0] = out[1] = std::numeric_limits<std::int64_t>::min();
  switch (n.window) {
    case window_kind::none: out[0] = t; break;
    case window_kind::within: out[0] = t, out[1] = t + n.window_a; break;
    case window_kind::between_ago: out[0] = t + n.window_b, out[1] = t + n.window_a; break;
    case window_kind::between_dates:
      if (t >= n.window_a && t < n.window_b) out[0] = t;
      break;
  }
}

eval_value eval(const node& n, const context& c);

bool compare_values(compare_op op, const eval_value& a, const eval_value& b) {
  if (a.k == eval_value::kind::missing || b.k == eval_value::kind::missing || a.k != b.k) return false;
  int r = 0;
  switch (a.k) {
    case eval_value::kind::number: r = a.n < b.n ? -1 : a.n > b.n ? 1 : 0; break;
    case eval_value::kind::datetime: r = a.t < b.t ? -1 : a.t > b.t ? 1 : 0; break;
    case eval_value::kind::string: r = a.s.compare(b.s) < 0 ? -1 : a.s == b.s ? 0 : 1; break;
    case eval_value::kind::boolean: r = a.b == b.b ? 0 : 1; break;
    default: return false;
  }
  switch (op) {
    case compare_op::eq: return r == 0;
    case compare_op::ne: return r != 0;
    case compare_op::lt: return r < 0;
    case compare_op::le: return r <= 0;
    case compare_op::gt: return r > 0;
    case compare_op::ge: return r >= 0;
  }
  return false;
}

eval_value literal(const node& n) {
  eval_value v;
  if (n.kind == node_kind::boolean) return boolean(n.flag);
  if (n.kind == node_kind::number) return number(n.number);
  if (n.type == value_type::datetime) {
    v.k = eval_value::kind::datetime;
    v.t = n.ms;
    return v;
  }
  v.k = eval_value::kind::string;
  v.s = n.text;
  return v;
}

eval_value aggregate(const node& n, const context& c) {
  const node* value = n.agg == aggregate_op::sum ? &n.children[0] : nullptr;
  const node* pred = n.has_predicate ? &n.children[value ? 1 : 0] : nullptr;
  double count = 0, sum = 0;
  context inner{c.p, c.now, c.hooks, nullptr};
  for_each_event(n, c.p, [&](const profile::event& e) {
    if (!in_window(n, e.occurred_at, c.now)) return;
    inner.e = &e;
    if (pred && !is_true(eval(*pred, inner))) return;
    count += 1;
    if (value) {
      const eval_value v = eval(*value, inner);
      if (v.k == eval_value::kind::number) sum += v.n;
    }
  });
  switch (n.agg) {
    case aggregate_op::count: return number(count);
    case aggregate_op::any: return boolean(count > 0);
    case aggregate_op::none: return boolean(count == 0);
    case aggregate_op::sum: return number(sum);
  }
  return {};
}

eval_value eval(const node& n, const context& c) {
  switch (n.kind) {
    case node_kind::boolean:
    case node_kind::number:
    case node_kind::string: return literal(n);
    case node_kind::duration:
    case node_kind::list: return {};
    case node_kind::attribute: {
      auto it = c.p.attributes.find(n.text);
      return from_value(it == c.p.attributes.end() ? nullptr : &it->second, n.type);
    }
    case node_kind::kpi: {
      auto it = c.p.kpis.find(n.text);
      return from_value(it == c.p.kpis.end() ? nullptr : &it->second, n.type);
    }
    case node_kind::stage: {
      eval_value v;
      if (!c.p.stage.empty()) v.k = eval_value::kind::string, v.s = c.p.stage;
      return v;
    }
    case node_kind::event_field: return c.e ? event_field(*c.e, n.text) : eval_value{};
    case node_kind::logical_not: return boolean(!is_true(eval(n.children[0], c)));
    case node_kind::logical_and: return boolean(is_true(eval(n.children[0], c)) && is_true(eval(n.children[1], c)));
    case node_kind::logical_or: return boolean(is_true(eval(n.children[0], c)) || is_true(eval(n.children[1], c)));
    case node_kind::compare: return boolean(compare_values(n.cmp, eval(n.children[0], c), eval(n.children[1], c)));
    case node_kind::in: {
      const eval_value a = eval(n.children[0], c);
      for (const auto& item : n.children[1].children)
        if (compare_values(compare_op::eq, a, literal(item))) return boolean(true);
      return boolean(false);
    }
    case node_kind::exists: {
      const eval_value a = eval(n.children[0], c);
      return boolean(a.k != eval_value::kind::missing && !(a.k == eval_value::kind::list && a.items.empty()));
    }
    case node_kind::string_test: {
      const eval_value a = eval(n.children[0], c), b = eval(n.children[1], c);
      if (b.k != eval_value::kind::string) return boolean(false);
      if (a.k == eval_value::kind::list)
        return boolean(std::find(a.items.begin(), a.items.end(), b.s) != a.items.end());
      if (a.k != eval_value::kind::string) return boolean(false);
      const std::string& s = a.s;
      const std::string& t = b.s;
      switch (n.sop) {
        case string_op::starts_with: return boolean(s.size() >= t.size() && s.compare(0, t.size(), t) == 0);
        case string_op::ends_with: return boolean(s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0);
        case string_op::contains: return boolean(s.find(t) != std::string::npos);
      }
      return boolean(false);
    }
    case node_kind::aggregate: return aggregate(n, c);
    case node_kind::days_since: {
      const eval_value a = eval(n.children[0], c);
      if (a.k != eval_value::kind::datetime) return {};
      const std::int64_t d = c.now - a.t;
      return number(static_cast<double>(d >= 0 ? d / day_ms : -((-d + day_ms - 1) / day_ms)));
    }
    case node_kind::member_of: return boolean(n.segment >= 0 && c.hooks.member && c.hooks.member(n.segment, c.now));
  }
  return {};
}

using instant = std::optional<std::int64_t>;

void earliest(instant& best, instant candidate) {
  if (candidate && (!best || *candidate < *best)) best = candidate;
}

instant next(const node& n, const context& c);

/// `days_since(x) op k` (or reversed): the comparison is monotone in the day count, so it changes at most once
/// more; the instant is x + D days for the first day count D > the current one where its value differs.
instant days_threshold(const node& ds, compare_op op, double k, bool reversed, const context& c) {
  const eval_value x = eval(ds.children[0], c);
  if (x.k != eval_value::kind::datetime) return std::nullopt;
  const double d_now = eval(ds, c).n;
  auto holds = [&](double d) {
    return reversed ? compare_values(op, number(k), number(d)) : compare_values(op, number(d), number(k));
  };
  // A threshold beyond any representable instant never flips (and `d += 1` would not move a double that large:
  // a fuzzed `days_since(x) > 4e49` looped for ever).
  constexpr double max_days = 1e9;  // ~2.7 million years; x + D days stays far inside int64 milliseconds
  if (!std::isfinite(k) || std::fabs(k) > max_days) return std::nullopt;
  const bool now_value = holds(d_now);
  const double base = std::floor(k);
  for (int step = -1; step <= 2; ++step) {
    const double d = base + step;
    if (d > d_now && holds(d) != now_value) return x.t + static_cast<std::int64_t>(d) * day_ms;
  }
  return std::nullopt;
}

instant next(const node& n, const context& c) {
  instant best;
  switch (n.kind) {
    case node_kind::days_since: {
      const eval_value x = eval(n.children[0], c);
      if (x.k != eval_value::kind::datetime) return std::nullopt;
      const std::int64_t d = static_cast<std::int64_t>(eval(n, c).n);
      return x.t + (d + 1) * day_ms;
    }
    case node_kind::compare: {
      const node& a = n.children[0];
      const node& b = n.children[1];
      if (a.kind == node_kind::days_since && b.kind == node_kind::number)
        return days_threshold(a, n.cmp, b.number, false, c);
      if (b.kind == node_kind::days_since && a.kind == node_kind::number)
        return days_threshold(b, n.cmp, a.number, true, c);
      break;
    }
    case node_kind::aggregate: {
      const node* pred = n.has_predicate ? &n.children[n.agg == aggregate_op::sum ? 1 : 0] : nullptr;
      context inner{c.p, c.now, c.hooks, nullptr};
      for_each_event(n, c.p, [&](const profile::event& e) {
        inner.e = &e;
        if (pred) {
          earliest(best, next(*pred, inner));  // a predicate that reads the clock (days_since(e.occurred_at))
          if (!is_true(eval(*pred, inner))) return;
        }
        std::int64_t edges[2];
        window_edges(n, e.occurred_at, edges);
        for (auto t : edges)
          if (t > c.now) earliest(best, t);
      });
      return best;
    }
    case node_kind::member_of:
      return n.segment >= 0 && c.hooks.next_change ? c.hooks.next_change(n.segment, c.now) : std::nullopt;
    default: break;
  }
  for (const auto& child : n.children) earliest(best, next(child, c));
  return best;
}

bool is_term(const node& n) {
  return n.kind != node_kind::logical_and && n.kind != node_kind::logical_or && n.kind != node_kind::logical_not;
}

}  // namespace

std::string eval_value::text() const {
  switch (k) {
    case kind::missing: return "missing";
    case kind::boolean: return b ? "true" : "false";
    case kind::number: {
      if (std::abs(n) < 1e15 && n == std::floor(n)) return std::to_string(static_cast<long long>(n));
      std::string s = std::to_string(n);
      while (!s.empty() && s.back() == '0') s.pop_back();
      return s;
    }
    case kind::string: return "\"" + s + "\"";
    case kind::datetime: return format_iso8601(from_epoch_ms(t));
    case kind::list: {
      std::string out = "[";
      for (const auto& i : items) out += (out.size() > 1 ? ", \"" : "\"") + i + "\"";
      return out + "]";
    }
  }
  return {};
}

eval_value evaluate(const node& n, const profile_facts& p, std::int64_t now, const segment_hooks& hooks) {
  return eval(n, context{p, now, hooks});
}

std::optional<std::int64_t> next_change(const node& n, const profile_facts& p, std::int64_t now,
                                        const segment_hooks& hooks) {
  return next(n, context{p, now, hooks});
}

void collect_terms(const node& n, std::string_view source, const profile_facts& p, std::int64_t now,
                   const segment_hooks& hooks, std::vector<term_value>& out) {
  if (!is_term(n)) {
    for (const auto& c : n.children) collect_terms(c, source, p, now, hooks, out);
    return;
  }
  const context c{p, now, hooks};
  term_value t;
  t.text = std::string(source.substr(std::min(n.offset, source.size()), n.length));
  t.value = eval(n, c).text();
  if (!n.children.empty() && n.kind != node_kind::aggregate) {
    const node& lhs = n.children[0];
    if (lhs.kind != node_kind::boolean && lhs.kind != node_kind::number && lhs.kind != node_kind::string)
      t.detail = std::string(source.substr(std::min(lhs.offset, source.size()), lhs.length)) + " = " +
                 eval(lhs, c).text();
  }
  out.push_back(std::move(t));
}

}  // namespace omnisync::segments
