#pragma once
/// A profile's timeline (interactions from every system, in time order) and the customer KPIs aggregated over
/// it: lifetime value, average order value, order count, open and total tickets, CSAT average, NPS and its
/// category, last interaction, lifecycle stage.
///
/// `timeline` keeps its aggregates in step with its events: adding an event updates them in O(1) (plus the
/// sorted insert); replacing or removing one adjusts them and rescans only when the removed event was an
/// extreme (the latest NPS answer, the last interaction). `compute` is the from-scratch reference.
/// Thread safety: a timeline is plain data owned by one profile; the rules are immutable and shared.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mapping/value.hpp"

namespace omnisync::profile {

/// One interaction (from an inbound mapping's `events:`), as the timeline keeps it.
struct event {
  std::string type;              ///< deal_won, deal_lost, ticket, csat, conversation, nps, ...
  std::int64_t occurred_at = 0;  ///< ms since epoch, UTC
  std::string subject;           ///< connector:object:id of the record the event comes from
  std::optional<double> amount;
  std::string currency;
  std::string status;
  std::optional<double> score;
};

/// A CSAT source: events of `type` whose score runs from `min` (worst) to `max` (best), normalised to 0..1.
struct csat_source {
  std::string type;
  double min = 0, max = 1;
};

/// One condition of a lifecycle rule: `metric op number`, or `metric == text` / `!=` for text metrics.
/// Metrics: order_count, lifetime_value, average_order_value, open_tickets, total_tickets, csat_average, nps,
/// engaged_after_first_order (1 when an interaction that is not an order follows the first order),
/// events.<type> (events of that type), and the text metrics nps_category and source_stage (the golden
/// source_stage: the stage the source systems report). A metric with no value (no CSAT yet) fails every comparison.
struct stage_condition {
  enum class op : std::uint8_t { ge, gt, le, lt, eq, ne };
  std::string metric;
  op cmp = op::ge;
  double number = 0;
  std::string text;  ///< used (with eq/ne) for text metrics
};

/// `stage` applies when every condition holds (none: always). Rules are tried in order; the first that applies wins.
struct stage_rule {
  std::string stage;
  std::vector<stage_condition> when;
};

/// How events count (declared in config; defaults() is the shipped set).
struct kpi_rules {
  std::string currency = "USD";  ///< lifetime value is reported in this currency
  /// Other currencies: multiply by this to get `currency`. Orders in a currency with no rate are counted but not
  /// summed (unpriced_orders), so they do not distort the average order value.
  std::vector<std::pair<std::string, double>> rates;
  std::vector<std::string> order_types;     ///< won deals and orders: lifetime value, order count
  std::vector<std::string> ticket_types;    ///< support tickets and cases
  std::vector<std::string> closed_statuses; ///< a ticket whose status is one of these is not open
  std::vector<csat_source> csat;
  std::vector<std::string> nps_types;       ///< the latest such event's score is the NPS answer (0..10)
  /// Event types that are not interactions for last_interaction_at (default: none; every event counts).
  std::vector<std::string> non_interaction_types;
  std::vector<stage_rule> lifecycle;

  /// deal_won/order; ticket (closed, solved); csat 0..1 and Intercom conversation ratings 1..5; nps; and the
  /// lifecycle rules referral, renewal, activation, purchase, conversion, awareness (README.md).
  static kpi_rules defaults();
  /// Problems: unknown metrics, comparisons of the wrong kind, a rule without a stage, CSAT ranges with max <= min.
  std::vector<std::string> validate() const;
};

/// NPS category of an answer: promoter (>= 9), passive (7..8), detractor (<= 6).
std::string_view nps_category(double score) noexcept;

/// The KPIs of one profile.
struct kpi_values {
  double lifetime_value = 0;                  ///< sum of priced orders, in the rules' currency
  std::int64_t order_count = 0;
  std::int64_t unpriced_orders = 0;           ///< orders without an amount or a known currency
  std::optional<double> average_order_value;  ///< lifetime_value / priced orders
  std::int64_t open_tickets = 0, total_tickets = 0;
  std::optional<double> csat_average;         ///< 0..1
  std::optional<int> nps;                     ///< the latest answer, rounded
  std::string nps_category;                   ///< empty without an answer
  std::optional<std::int64_t> last_interaction_at;
  std::string lifecycle_stage;
  /// As canonical attributes (the names in mapping/canonical.cpp), for outbound mappings; absent values are null.
  std::vector<std::pair<std::string, mapping::value>> to_attributes() const;
};

/// The unit of one KPI as people read it: "USD" (the rules' currency), "count", "fraction 0..1", "score 0..10",
/// "category", "UTC time", "stage"; and a line saying what it counts.
struct kpi_unit {
  std::string name, unit, description;
};
/// Every KPI of `kpi_values::to_attributes`, in that order, with its unit under `rules` (status, profile views).
std::vector<kpi_unit> kpi_units(const kpi_rules& rules);

/// A profile's events in time order with their aggregates.
class timeline {
 public:
  /// `rules` must outlive the timeline (they belong to the running config; a reload recomputes).
  explicit timeline(const kpi_rules& rules) : rules_(&rules) {}

  /// Adds an event; one with the same subject and type replaces the old one (the record was read again).
  void add(const event& e);
  /// Replaces every event of `subject` by `events` (what the re-mapped record produces now: a deal moving
  /// from lost to won drops the deal_lost event).
  void replace_subject(std::string_view subject, std::span<const event> events);
  void remove_subject(std::string_view subject);
  /// Takes in another profile's timeline (the profiles merged).
  void merge(const timeline& other);

  /// Ordered by (occurred_at, subject, type).
  const std::vector<event>& events() const noexcept { return events_; }
  /// The KPIs; `source_stage` is the golden source_stage from the source systems (for the lifecycle rules).
  kpi_values values(std::string_view source_stage = {}) const;

  /// From scratch (the reference the incremental path must match).
  static kpi_values compute(const kpi_rules& rules, std::span<const event> events, std::string_view source_stage = {});

 private:
  struct totals {
    double ltv = 0;
    std::int64_t orders = 0, priced = 0, unpriced = 0, open = 0, tickets = 0, csat_n = 0;
    double csat_sum = 0;
    std::vector<std::pair<std::string, std::int64_t>> by_type;
  };
  // Extremes: updated on add, rescanned (one pass over the events) after a removal.
  struct extremes {
    bool has_nps = false;
    std::int64_t nps_at = 0;
    std::string nps_subject, nps_type;
    double nps_score = 0;
    std::optional<std::int64_t> last_interaction, first_order, last_other_interaction;
  };

  void count(const event& e, int sign);
  void notice(const event& e);
  void rescan();
  void insert_sorted(const event& e);

  const kpi_rules* rules_;
  std::vector<event> events_;
  totals t_;
  extremes x_;
};

}  // namespace omnisync::profile
