// Timeline and KPIs: a worked example, NPS categories, lifecycle stages, incremental updates equal to a recompute.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "daemon/profile/kpis.hpp"

using namespace omnisync::profile;

namespace {

/// A canonical datetime as the profile keeps it: milliseconds since the epoch, read by core/time.
std::optional<std::int64_t> utc_ms(const char* iso) {
  auto t = omnisync::parse_iso8601(iso);
  if (!t) return std::nullopt;
  return omnisync::to_epoch_ms(*t);
}

std::string utc_text(std::int64_t ms) { return omnisync::format_iso8601_ms(omnisync::from_epoch_ms(ms)); }

std::int64_t at(const char* iso) {
  auto t = utc_ms(iso);
  REQUIRE(t.has_value());
  return *t;
}

event ev(const char* type, const char* when, const char* subject, std::optional<double> amount = {},
         const char* currency = "", const char* status = "", std::optional<double> score = {}) {
  event e;
  e.type = type;
  e.occurred_at = at(when);
  e.subject = subject;
  e.amount = amount;
  e.currency = currency;
  e.status = status;
  e.score = score;
  return e;
}

void check_same(const kpi_values& a, const kpi_values& b) {
  CHECK(a.lifetime_value == Approx(b.lifetime_value).margin(1e-9));
  CHECK(a.order_count == b.order_count);
  CHECK(a.unpriced_orders == b.unpriced_orders);
  CHECK(a.average_order_value.has_value() == b.average_order_value.has_value());
  if (a.average_order_value && b.average_order_value)
    CHECK(*a.average_order_value == Approx(*b.average_order_value).margin(1e-9));
  CHECK(a.open_tickets == b.open_tickets);
  CHECK(a.total_tickets == b.total_tickets);
  CHECK(a.csat_average.has_value() == b.csat_average.has_value());
  if (a.csat_average && b.csat_average) CHECK(*a.csat_average == Approx(*b.csat_average).margin(1e-9));
  CHECK(a.nps == b.nps);
  CHECK(a.nps_category == b.nps_category);
  CHECK(a.last_interaction_at == b.last_interaction_at);
  CHECK(a.lifecycle_stage == b.lifecycle_stage);
}

std::vector<event> worked_example() {
  return {
      ev("deal_won", "2026-01-10", "salesforce:Opportunity:1", 1000, "USD", "Closed Won"),
      ev("ticket", "2026-01-20T09:00:00Z", "zendesk:tickets:1", {}, "", "open"),
      ev("deal_lost", "2026-02-01", "hubspot:deals:3", 9999, "USD", "closedlost"),
      ev("nps", "2026-02-01T12:00:00Z", "hubspot:feedback_submissions:1", {}, "", "", 6),
      ev("ticket", "2026-02-15T10:00:00Z", "zendesk:tickets:2", {}, "", "closed"),
      ev("csat", "2026-02-16T10:00:00Z", "zendesk:satisfaction_ratings:1", {}, "", "good", 1),
      ev("deal_won", "2026-03-01", "hubspot:deals:2", 500, "EUR", "closedwon"),
      ev("ticket", "2026-03-10T08:00:00Z", "salesforce:Case:3", {}, "", "open"),
      ev("csat", "2026-03-11T10:00:00Z", "zendesk:satisfaction_ratings:2", {}, "", "bad", 0),
      ev("deal_won", "2026-04-01", "salesforce:Opportunity:4", {}, "USD", "Closed Won"),  // no amount
      ev("conversation", "2026-04-10T10:00:00Z", "intercom:conversations:1", {}, "", "closed", 5),
      ev("conversation", "2026-04-11T10:00:00Z", "intercom:conversations:2", {}, "", "open"),
      ev("nps", "2026-04-20T15:30:00Z", "hubspot:feedback_submissions:2", {}, "", "", 9),
  };
}

kpi_rules rules_with_eur() {
  kpi_rules r = kpi_rules::defaults();
  r.rates = {{"EUR", 1.25}};
  return r;
}

}  // namespace

TEST_CASE("KPI values on a worked example", "[profile][kpis]") {
  const kpi_rules rules = rules_with_eur();
  REQUIRE(rules.validate().empty());
  timeline t(rules);
  for (const auto& e : worked_example()) t.add(e);
  const kpi_values v = t.values();
  CHECK(v.order_count == 3);                // three won deals; the lost one does not count
  CHECK(v.unpriced_orders == 1);            // one without an amount
  CHECK(v.lifetime_value == Approx(1625));  // 1000 USD + 500 EUR * 1.25
  REQUIRE(v.average_order_value.has_value());
  CHECK(*v.average_order_value == Approx(812.5));  // over the two priced orders
  CHECK(v.total_tickets == 3);
  CHECK(v.open_tickets == 2);
  REQUIRE(v.csat_average.has_value());
  CHECK(*v.csat_average == Approx(2.0 / 3.0));  // good (1), bad (0), an Intercom 5 of 1..5 (1)
  CHECK(v.nps == 9);                            // the latest answer
  CHECK(v.nps_category == "promoter");
  CHECK(v.last_interaction_at == at("2026-04-20T15:30:00Z"));
  CHECK(v.lifecycle_stage == "referral");  // a promoter who bought
  check_same(v, timeline::compute(rules, worked_example()));

  // In time order, whatever the order events arrived in.
  REQUIRE(t.events().size() == 13);
  CHECK(std::is_sorted(t.events().begin(), t.events().end(),
                       [](const event& a, const event& b) { return a.occurred_at < b.occurred_at; }));
  CHECK(t.events().front().subject == "salesforce:Opportunity:1");

  // As canonical attributes for outbound mappings.
  auto attrs = v.to_attributes();
  std::string text;
  for (const auto& [name, value] : attrs) {
    text += name + "=";
    omnisync::mapping::append_json(text, value);
    text += " ";
  }
  CHECK(text ==
        "lifetime_value=1625 average_order_value=812.5 order_count=3 open_tickets=2 total_tickets=3 "
        "csat_average=0.6666666666666666 nps=9 nps_category=\"promoter\" "
        "last_interaction_at=\"2026-04-20T15:30:00.000Z\" lifecycle_stage=\"referral\" ");

  // The ticket still open gets solved: the re-read record replaces its event.
  t.replace_subject("salesforce:Case:3",
                    std::vector<event>{ev("ticket", "2026-04-25T08:00:00Z", "salesforce:Case:3", {}, "", "closed")});
  CHECK(t.values().open_tickets == 1);
  CHECK(t.values().total_tickets == 3);
  CHECK(t.values().last_interaction_at == at("2026-04-25T08:00:00Z"));
  // The latest NPS answer is withdrawn: the earlier 6 is the answer again.
  t.remove_subject("hubspot:feedback_submissions:2");
  CHECK(t.values().nps == 6);
  CHECK(t.values().nps_category == "detractor");
}

TEST_CASE("NPS categories at their edges", "[profile][kpis]") {
  CHECK(nps_category(0) == "detractor");
  CHECK(nps_category(6) == "detractor");
  CHECK(nps_category(7) == "passive");
  CHECK(nps_category(8) == "passive");
  CHECK(nps_category(9) == "promoter");
  CHECK(nps_category(10) == "promoter");
  const kpi_rules rules = kpi_rules::defaults();
  for (int score : {6, 7, 8, 9}) {
    timeline t(rules);
    t.add(ev("nps", "2026-01-01", "hubspot:feedback_submissions:1", {}, "", "", score));
    CHECK(t.values().nps == score);
    CHECK(t.values().nps_category == (score <= 6 ? "detractor" : score <= 8 ? "passive" : "promoter"));
  }
}

TEST_CASE("lifecycle stages along the default funnel", "[profile][kpis]") {
  const kpi_rules rules = kpi_rules::defaults();
  timeline t(rules);
  CHECK(t.values().lifecycle_stage == "awareness");
  CHECK(t.values("conversion").lifecycle_stage == "conversion");  // the CRM says it is a qualified lead
  t.add(ev("deal_lost", "2026-01-01", "hubspot:deals:1", 100, "USD", "closedlost"));
  CHECK(t.values().lifecycle_stage == "conversion");  // an opportunity existed
  t.add(ev("deal_won", "2026-02-01", "hubspot:deals:2", 100, "USD", "closedwon"));
  CHECK(t.values().lifecycle_stage == "purchase");
  t.add(ev("ticket", "2026-01-15", "zendesk:tickets:1", {}, "", "closed"));
  CHECK(t.values().lifecycle_stage == "purchase");  // the ticket came before the purchase
  t.add(ev("conversation", "2026-02-10", "intercom:conversations:1", {}, "", "open"));
  CHECK(t.values().lifecycle_stage == "activation");  // using the product after buying it
  t.add(ev("deal_won", "2027-02-01", "hubspot:deals:3", 100, "USD", "closedwon"));
  CHECK(t.values().lifecycle_stage == "renewal");
  t.add(ev("nps", "2027-02-02", "hubspot:feedback_submissions:1", {}, "", "", 8));
  CHECK(t.values().lifecycle_stage == "renewal");  // passive
  t.add(ev("nps", "2027-03-02", "hubspot:feedback_submissions:2", {}, "", "", 9));
  CHECK(t.values().lifecycle_stage == "referral");
  CHECK(timeline(rules).values("referral").lifecycle_stage == "referral");  // an evangelist in the CRM

  // Configurable: a custom first rule and a validation of bad ones.
  kpi_rules custom = rules;
  stage_rule big;
  big.stage = "vip";
  stage_condition c;
  c.metric = "lifetime_value";
  c.cmp = stage_condition::op::ge;
  c.number = 300;
  big.when.push_back(c);
  custom.lifecycle.insert(custom.lifecycle.begin(), big);
  REQUIRE(custom.validate().empty());
  timeline v(custom);
  for (const auto& e : t.events()) v.add(e);
  CHECK(v.values().lifecycle_stage == "referral");  // 200 won so far
  v.add(ev("deal_won", "2027-04-01", "hubspot:deals:4", 150, "USD", "closedwon"));
  CHECK(v.values().lifecycle_stage == "vip");
  stage_condition bad;
  bad.metric = "lifetime_valeu";
  stage_condition text;
  text.metric = "nps_category";
  text.cmp = stage_condition::op::gt;
  custom.lifecycle[0].when = {bad, text};
  custom.csat.push_back(csat_source{"stars", 5, 1});
  auto problems = custom.validate();
  REQUIRE(problems.size() == 3);
  CHECK(problems[0] == "lifecycle[0]: unknown metric 'lifetime_valeu'");
  CHECK(problems[1] == "lifecycle[0]: nps_category is text: compare it with == or !=");
  CHECK(problems[2] == "csat stars: max must be greater than min");
}

TEST_CASE("incremental KPIs equal a recompute after every add, replace, remove and merge", "[profile][kpis]") {
  const kpi_rules rules = rules_with_eur();
  std::mt19937 rng(42);
  const char* types[] = {"deal_won", "deal_lost", "order", "ticket", "csat", "conversation", "nps", "campaign"};
  const char* statuses[] = {"open", "closed", "solved", "pending"};
  const char* currencies[] = {"USD", "EUR", "GBP", ""};
  auto random_event = [&](int subject) {
    event e;
    e.type = types[rng() % 8];
    e.occurred_at = 1'700'000'000'000 + static_cast<std::int64_t>(rng() % 1000) * 3'600'000;
    e.subject = "sys:obj:" + std::to_string(subject);
    if (rng() % 4) e.amount = static_cast<double>(rng() % 100000) / 100.0;
    e.currency = currencies[rng() % 4];
    e.status = statuses[rng() % 4];
    if (e.type == "nps") e.score = static_cast<double>(rng() % 11);
    if (e.type == "csat") e.score = static_cast<double>(rng() % 2);
    if (e.type == "conversation" && rng() % 2) e.score = static_cast<double>(1 + rng() % 5);
    return e;
  };
  timeline t(rules);
  std::vector<event> all;
  for (int i = 0; i < 150; ++i) {
    event e = random_event(i);
    t.add(e);
    all.push_back(e);
    check_same(t.values("conversion"), timeline::compute(rules, all, "conversion"));
  }
  // Records read again: their events replaced (some change type, time or status), some deleted.
  for (int i = 0; i < 60; ++i) {
    const int subject = static_cast<int>(rng() % 150);
    const std::string s = "sys:obj:" + std::to_string(subject);
    all.erase(std::remove_if(all.begin(), all.end(), [&s](const event& e) { return e.subject == s; }), all.end());
    if (i % 3 == 0) {
      t.remove_subject(s);
    } else {
      std::vector<event> now = {random_event(subject)};
      if (i % 5 == 0) {
        now.push_back(random_event(subject));
        if (now[1].type == now[0].type) now.pop_back();  // one event per (subject, type)
      }
      t.replace_subject(s, now);
      all.insert(all.end(), now.begin(), now.end());
    }
    check_same(t.values(), timeline::compute(rules, all));
    REQUIRE(t.events().size() == all.size());
  }
  // Two profiles merge.
  timeline other(rules);
  std::vector<event> others;
  for (int i = 1000; i < 1040; ++i) {
    others.push_back(random_event(i));
    other.add(others.back());
  }
  t.merge(other);
  all.insert(all.end(), others.begin(), others.end());
  check_same(t.values(), timeline::compute(rules, all));
  CHECK(t.events().size() == all.size());
}

TEST_CASE("UTC timestamps parse and format", "[profile][kpis]") {
  CHECK(utc_ms("1970-01-01") == 0);
  CHECK(utc_ms("2026-05-01T10:00:00.000Z") == 1777629600000);
  CHECK(utc_ms("2026-05-01T12:00:00+02:00") == 1777629600000);
  CHECK(utc_ms("2026-05-01T10:00:00.000+0000") == 1777629600000);
  CHECK(utc_ms("2026-05-01T10:00:00.5Z") == 1777629600500);
  CHECK_FALSE(utc_ms("2026-13-01").has_value());
  CHECK_FALSE(utc_ms("yesterday").has_value());
  CHECK_FALSE(utc_ms("2026-05-01T10:00:00Zjunk").has_value());
  CHECK(utc_text(1777629600500) == "2026-05-01T10:00:00.500Z");
  CHECK(utc_text(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(utc_text(0) == "1970-01-01T00:00:00.000Z");
}
