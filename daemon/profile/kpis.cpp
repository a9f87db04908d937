#include "daemon/profile/kpis.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/time.hpp"

namespace omnisync::profile {
namespace {

bool in(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool event_less(const event& a, const event& b) {
  return std::tie(a.occurred_at, a.subject, a.type) < std::tie(b.occurred_at, b.subject, b.type);
}

const csat_source* csat_of(const kpi_rules& r, std::string_view type) {
  for (const auto& c : r.csat)
    if (c.type == type) return &c;
  return nullptr;
}

double csat_normalised(const csat_source& c, double score) {
  const double v = (score - c.min) / (c.max - c.min);
  return std::clamp(v, 0.0, 1.0);
}

// The amount in the rules' currency; nullopt when the event has no amount or its currency has no rate.
std::optional<double> priced(const kpi_rules& r, const event& e) {
  if (!e.amount) return std::nullopt;
  if (e.currency.empty() || e.currency == r.currency) return *e.amount;
  for (const auto& [cur, rate] : r.rates)
    if (cur == e.currency) return *e.amount * rate;
  return std::nullopt;
}

bool is_interaction(const kpi_rules& r, const event& e) { return !in(r.non_interaction_types, e.type); }

// What the lifecycle rules can look at.
struct metrics {
  std::int64_t order_count = 0, open_tickets = 0, total_tickets = 0;
  double lifetime_value = 0;
  std::optional<double> average_order_value, csat_average, nps;
  std::string_view nps_category, source_stage;
  bool engaged_after_first_order = false;
  const std::vector<std::pair<std::string, std::int64_t>>* by_type = nullptr;
};

const char* const numeric_metrics[] = {"order_count",  "lifetime_value", "average_order_value",
                                       "open_tickets", "total_tickets",  "csat_average",
                                       "nps",          "engaged_after_first_order"};
const char* const text_metrics[] = {"nps_category", "source_stage"};

std::optional<double> numeric(const metrics& m, std::string_view name) {
  if (name == "order_count") return static_cast<double>(m.order_count);
  if (name == "lifetime_value") return m.lifetime_value;
  if (name == "average_order_value") return m.average_order_value;
  if (name == "open_tickets") return static_cast<double>(m.open_tickets);
  if (name == "total_tickets") return static_cast<double>(m.total_tickets);
  if (name == "csat_average") return m.csat_average;
  if (name == "nps") return m.nps;
  if (name == "engaged_after_first_order") return m.engaged_after_first_order ? 1.0 : 0.0;
  if (name.substr(0, 7) == "events.") {
    std::int64_t n = 0;
    if (m.by_type)
      for (const auto& [t, c] : *m.by_type)
        if (t == name.substr(7)) n = c;
    return static_cast<double>(n);
  }
  return std::nullopt;
}

bool holds(const stage_condition& c, const metrics& m) {
  using op = stage_condition::op;
  if (c.metric == "nps_category" || c.metric == "source_stage") {
    const std::string_view v = c.metric == "nps_category" ? m.nps_category : m.source_stage;
    if (v.empty()) return false;
    return c.cmp == op::eq ? v == c.text : c.cmp == op::ne ? v != c.text : false;
  }
  const auto v = numeric(m, c.metric);
  if (!v) return false;
  switch (c.cmp) {
    case op::ge: return *v >= c.number;
    case op::gt: return *v > c.number;
    case op::le: return *v <= c.number;
    case op::lt: return *v < c.number;
    case op::eq: return *v == c.number;
    case op::ne: return *v != c.number;
  }
  return false;
}

std::string stage_of(const kpi_rules& r, const metrics& m) {
  for (const auto& rule : r.lifecycle)
    if (std::all_of(rule.when.begin(), rule.when.end(), [&m](const stage_condition& c) { return holds(c, m); }))
      return rule.stage;
  return "unknown";
}

stage_condition cond(const char* metric, stage_condition::op cmp, double number, const char* text = "") {
  stage_condition c;
  c.metric = metric;
  c.cmp = cmp;
  c.number = number;
  c.text = text;
  return c;
}

stage_rule stage(const char* name, std::vector<stage_condition> when) {
  stage_rule r;
  r.stage = name;
  r.when = std::move(when);
  return r;
}

}  // namespace

std::string_view nps_category(double score) noexcept {
  if (score >= 9) return "promoter";
  if (score >= 7) return "passive";
  return "detractor";
}

kpi_rules kpi_rules::defaults() {
  using op = stage_condition::op;
  kpi_rules r;
  r.order_types = {"deal_won", "order"};
  r.ticket_types = {"ticket"};
  r.closed_statuses = {"closed", "solved"};
  csat_source zendesk;
  zendesk.type = "csat";
  zendesk.min = 0;
  zendesk.max = 1;
  csat_source intercom;  // Intercom conversation ratings: 1 (terrible) .. 5 (amazing)
  intercom.type = "conversation";
  intercom.min = 1;
  intercom.max = 5;
  r.csat = {zendesk, intercom};
  r.nps_types = {"nps"};
  // The funnel from its far end: the first stage whose rule holds.
  r.lifecycle.push_back(stage("referral", {cond("nps_category", op::eq, 0, "promoter"), cond("order_count", op::ge, 1)}));
  r.lifecycle.push_back(stage("referral", {cond("source_stage", op::eq, 0, "referral")}));
  r.lifecycle.push_back(stage("renewal", {cond("order_count", op::ge, 2)}));
  r.lifecycle.push_back(stage("activation", {cond("order_count", op::ge, 1), cond("engaged_after_first_order", op::ge, 1)}));
  r.lifecycle.push_back(stage("purchase", {cond("order_count", op::ge, 1)}));
  r.lifecycle.push_back(stage("purchase", {cond("source_stage", op::eq, 0, "purchase")}));
  r.lifecycle.push_back(stage("conversion", {cond("source_stage", op::eq, 0, "conversion")}));
  r.lifecycle.push_back(stage("conversion", {cond("events.deal_lost", op::ge, 1)}));
  r.lifecycle.push_back(stage("awareness", {}));
  return r;
}

std::vector<std::string> kpi_rules::validate() const {
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < lifecycle.size(); ++i) {
    const auto& rule = lifecycle[i];
    const std::string where = "lifecycle[" + std::to_string(i) + "]";
    if (rule.stage.empty()) problems.push_back(where + ": a rule needs a stage");
    for (const auto& c : rule.when) {
      const bool text = std::find(std::begin(text_metrics), std::end(text_metrics), c.metric) != std::end(text_metrics);
      const bool number = std::find(std::begin(numeric_metrics), std::end(numeric_metrics), c.metric) !=
                              std::end(numeric_metrics) ||
                          (c.metric.size() > 7 && c.metric.substr(0, 7) == "events.");
      if (!text && !number)
        problems.push_back(where + ": unknown metric '" + c.metric + "'");
      else if (text && c.cmp != stage_condition::op::eq && c.cmp != stage_condition::op::ne)
        problems.push_back(where + ": " + c.metric + " is text: compare it with == or !=");
    }
  }
  for (const auto& c : csat)
    if (!(c.max > c.min)) problems.push_back("csat " + c.type + ": max must be greater than min");
  return problems;
}

std::vector<std::pair<std::string, mapping::value>> kpi_values::to_attributes() const {
  std::vector<std::pair<std::string, mapping::value>> out;
  auto put = [&out](const char* name) -> mapping::value& { return out.emplace_back(name, mapping::value{}).second; };
  put("lifetime_value").set_number(lifetime_value);
  auto& aov = put("average_order_value");
  average_order_value ? aov.set_number(*average_order_value) : aov.set_null();
  put("order_count").set_int(order_count);
  put("open_tickets").set_int(open_tickets);
  put("total_tickets").set_int(total_tickets);
  auto& csat = put("csat_average");
  csat_average ? csat.set_number(*csat_average) : csat.set_null();
  auto& n = put("nps");
  nps ? n.set_int(*nps) : n.set_null();
  auto& cat = put("nps_category");
  nps_category.empty() ? cat.set_null() : cat.set_string(nps_category);
  auto& last = put("last_interaction_at");
  last_interaction_at ? last.set_string(format_iso8601_ms(from_epoch_ms(*last_interaction_at))) : last.set_null();
  put("lifecycle_stage").set_string(lifecycle_stage);
  return out;
}

std::vector<kpi_unit> kpi_units(const kpi_rules& r) {
  const std::string& cur = r.currency;
  return {
      {"lifetime_value", cur, "won deals and orders summed, in " + cur + " (other currencies converted by kpis.rates)"},
      {"average_order_value", cur, "lifetime_value / priced orders, in " + cur},
      {"order_count", "count", "won deals and orders"},
      {"open_tickets", "count", "support tickets not solved or closed"},
      {"total_tickets", "count", "all support tickets"},
      {"csat_average", "fraction 0..1",
       "average satisfaction rating as a fraction, not a percent: 1 = every rating the best, 0 = every rating the "
       "worst (each source's scale normalised)"},
      {"nps", "score 0..10", "the latest Net Promoter Score answer"},
      {"nps_category", "category", "promoter (9-10), passive (7-8) or detractor (0-6)"},
      {"last_interaction_at", "UTC time", "the most recent timeline event"},
      {"lifecycle_stage", "stage", "omnisync's stage from the lifecycle rules (kpis.lifecycle)"},
  };
}

// ---- timeline -------------------------------------------------------------------------------------------------

void timeline::count(const event& e, int sign) {
  const kpi_rules& r = *rules_;
  bool found = false;
  for (auto& [t, n] : t_.by_type)
    if (t == e.type) {
      n += sign;
      found = true;
    }
  if (!found) t_.by_type.emplace_back(e.type, sign);
  if (in(r.order_types, e.type)) {
    t_.orders += sign;
    if (auto p = priced(r, e)) {
      t_.ltv += sign * *p;
      t_.priced += sign;
    } else {
      t_.unpriced += sign;
    }
  }
  if (in(r.ticket_types, e.type)) {
    t_.tickets += sign;
    if (!in(r.closed_statuses, e.status)) t_.open += sign;
  }
  if (const csat_source* c = csat_of(r, e.type); c && e.score) {
    t_.csat_sum += sign * csat_normalised(*c, *e.score);
    t_.csat_n += sign;
  }
}

void timeline::notice(const event& e) {
  const kpi_rules& r = *rules_;
  if (in(r.nps_types, e.type) && e.score &&
      (!x_.has_nps ||
       std::tie(e.occurred_at, e.subject, e.type) > std::tie(x_.nps_at, x_.nps_subject, x_.nps_type))) {
    x_.has_nps = true;
    x_.nps_at = e.occurred_at;
    x_.nps_subject = e.subject;
    x_.nps_type = e.type;
    x_.nps_score = *e.score;
  }
  if (!is_interaction(r, e)) return;
  if (!x_.last_interaction || e.occurred_at > *x_.last_interaction) x_.last_interaction = e.occurred_at;
  if (in(r.order_types, e.type)) {
    if (!x_.first_order || e.occurred_at < *x_.first_order) x_.first_order = e.occurred_at;
  } else if (!x_.last_other_interaction || e.occurred_at > *x_.last_other_interaction) {
    x_.last_other_interaction = e.occurred_at;
  }
}

void timeline::rescan() {
  x_ = extremes{};
  for (const auto& e : events_) notice(e);
}

void timeline::insert_sorted(const event& e) {
  events_.insert(std::upper_bound(events_.begin(), events_.end(), e, event_less), e);
  count(e, +1);
  notice(e);
}

void timeline::add(const event& e) {
  auto it = std::find_if(events_.begin(), events_.end(),
                         [&e](const event& x) { return x.subject == e.subject && x.type == e.type; });
  if (it == events_.end()) {
    insert_sorted(e);
    return;
  }
  count(*it, -1);
  events_.erase(it);
  insert_sorted(e);
  rescan();
}

void timeline::replace_subject(std::string_view subject, std::span<const event> events) {
  remove_subject(subject);
  for (const auto& e : events) add(e);
}

void timeline::remove_subject(std::string_view subject) {
  bool removed = false;
  for (auto it = events_.begin(); it != events_.end();) {
    if (it->subject == subject) {
      count(*it, -1);
      it = events_.erase(it);
      removed = true;
    } else {
      ++it;
    }
  }
  if (removed) rescan();
}

void timeline::merge(const timeline& other) {
  for (const auto& e : other.events_) add(e);
}

kpi_values timeline::values(std::string_view source_stage) const {
  kpi_values v;
  v.lifetime_value = t_.ltv;
  v.order_count = t_.orders;
  v.unpriced_orders = t_.unpriced;
  if (t_.priced > 0) v.average_order_value = t_.ltv / static_cast<double>(t_.priced);
  v.open_tickets = t_.open;
  v.total_tickets = t_.tickets;
  if (t_.csat_n > 0) v.csat_average = t_.csat_sum / static_cast<double>(t_.csat_n);
  if (x_.has_nps) {
    v.nps = static_cast<int>(std::lround(x_.nps_score));
    v.nps_category = std::string(nps_category(x_.nps_score));
  }
  v.last_interaction_at = x_.last_interaction;
  metrics m;
  m.order_count = v.order_count;
  m.open_tickets = v.open_tickets;
  m.total_tickets = v.total_tickets;
  m.lifetime_value = v.lifetime_value;
  m.average_order_value = v.average_order_value;
  m.csat_average = v.csat_average;
  if (x_.has_nps) m.nps = x_.nps_score;
  m.nps_category = v.nps_category;
  m.source_stage = source_stage;
  m.engaged_after_first_order =
      x_.first_order && x_.last_other_interaction && *x_.last_other_interaction > *x_.first_order;
  m.by_type = &t_.by_type;
  v.lifecycle_stage = stage_of(*rules_, m);
  return v;
}

kpi_values timeline::compute(const kpi_rules& r, std::span<const event> input, std::string_view source_stage) {
  // Deliberately written without the timeline's bookkeeping: the reference the incremental path is tested against.
  std::vector<event> events(input.begin(), input.end());
  std::sort(events.begin(), events.end(), event_less);
  kpi_values v;
  std::int64_t priced_orders = 0;
  double csat_sum = 0;
  std::int64_t csat_n = 0;
  const event* latest_nps = nullptr;
  std::optional<std::int64_t> first_order, last_other;
  std::vector<std::pair<std::string, std::int64_t>> by_type;
  for (const auto& e : events) {
    auto bt = std::find_if(by_type.begin(), by_type.end(), [&e](const auto& p) { return p.first == e.type; });
    if (bt == by_type.end())
      by_type.emplace_back(e.type, 1);
    else
      ++bt->second;
    if (in(r.order_types, e.type)) {
      ++v.order_count;
      if (auto p = priced(r, e)) {
        v.lifetime_value += *p;
        ++priced_orders;
      } else {
        ++v.unpriced_orders;
      }
    }
    if (in(r.ticket_types, e.type)) {
      ++v.total_tickets;
      if (!in(r.closed_statuses, e.status)) ++v.open_tickets;
    }
    if (const csat_source* c = csat_of(r, e.type); c && e.score) {
      csat_sum += csat_normalised(*c, *e.score);
      ++csat_n;
    }
    if (in(r.nps_types, e.type) && e.score) latest_nps = &e;  // sorted: the last one is the latest
    if (is_interaction(r, e)) {
      v.last_interaction_at = e.occurred_at;
      if (in(r.order_types, e.type)) {
        if (!first_order) first_order = e.occurred_at;
      } else {
        last_other = e.occurred_at;
      }
    }
  }
  if (priced_orders > 0) v.average_order_value = v.lifetime_value / static_cast<double>(priced_orders);
  if (csat_n > 0) v.csat_average = csat_sum / static_cast<double>(csat_n);
  if (latest_nps) {
    v.nps = static_cast<int>(std::lround(*latest_nps->score));
    v.nps_category = std::string(nps_category(*latest_nps->score));
  }
  metrics m;
  m.order_count = v.order_count;
  m.open_tickets = v.open_tickets;
  m.total_tickets = v.total_tickets;
  m.lifetime_value = v.lifetime_value;
  m.average_order_value = v.average_order_value;
  m.csat_average = v.csat_average;
  if (latest_nps) m.nps = *latest_nps->score;
  m.nps_category = v.nps_category;
  m.source_stage = source_stage;
  m.engaged_after_first_order = first_order && last_other && *last_other > *first_order;
  m.by_type = &by_type;
  v.lifecycle_stage = stage_of(r, m);
  return v;
}

}  // namespace omnisync::profile
