#pragma once
/// HubSpot CRM v3 search requests (api-notes §2.3): parsing and validation of `PublicObjectSearchRequest`,
/// filter evaluation against a record's properties, and ordering. Pure code, no I/O; thread-safe.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/json/fwd.hpp>

namespace omnisync::sim::hubspot {

using properties = std::map<std::string, std::string>;

struct search_filter {
  std::string property;
  std::string op;  ///< EQ, NEQ, GT, GTE, LT, LTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN
  std::string value;
  std::string high_value;           ///< BETWEEN
  std::vector<std::string> values;  ///< IN, NOT_IN
};

struct search_sort {
  std::string property;
  bool ascending = true;
};

struct search_request {
  std::vector<std::vector<search_filter>> filter_groups;  ///< groups ORed, filters in a group ANDed
  std::vector<search_sort> sorts;
  std::vector<std::string> properties;
  std::string query;
  std::size_t limit = 10;
  std::size_t after = 0;  ///< offset into the ordered result set
};

/// Limits the simulator enforces, as the current docs state them (at least 5 groups x 6 filters accepted).
struct search_limits {
  std::size_t max_groups = 5;
  std::size_t max_filters_per_group = 6;
  std::size_t max_filters_total = 18;
  std::size_t max_limit = 200;
  std::size_t result_cap = 10000;
};

/// Parses and validates a search body; on failure the string is the message for a 400 VALIDATION_ERROR.
std::variant<search_request, std::string> parse_search_request(const boost::json::value& body,
                                                                const search_limits& limits = {});

/// Converts a property or filter value to a number when it is one: integers/decimals as they are, ISO dates
/// (`2024-05-01`, `2024-05-01T10:00:00Z`, `...00.123Z`) as epoch milliseconds.
std::optional<double> numeric_value(const std::string& text);

bool matches(const search_filter& filter, const properties& props);
/// True when any group matches (or there are no groups).
bool matches(const search_request& request, const properties& props);

/// Strict weak ordering per the request's sorts (numbers numerically, else text), ties broken by `id`
/// numerically so paging is stable.
bool sorts_before(const search_request& request, const properties& a, std::int64_t a_id, const properties& b,
                  std::int64_t b_id);

/// `2024-05-01T10:00:00.000Z` from epoch milliseconds.
std::string iso_ms(std::int64_t epoch_ms);

/// A property value as HubSpot returns it in `properties`: a string as it is, null as "", others as JSON text.
std::string scalar_text(const boost::json::value& v);

}  // namespace omnisync::sim::hubspot
