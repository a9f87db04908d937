#pragma once
/// The SOQL subset the Salesforce simulator understands, parsed for real: anything outside it is a
/// MALFORMED_QUERY, as Salesforce would answer.
///
///   SELECT field[, field...]            fields, including relationship fields such as Account.Name
///   FROM Object
///   [WHERE cond [AND cond...]]          cond: field (= | != | < | <= | > | >=) literal, or field IN (literal, ...)
///   [ORDER BY field [ASC|DESC][, ...]]
///   [LIMIT n]
/// Literals: 'quoted strings' (with \' escapes), numbers, true/false, null, and unquoted datetimes
/// (2024-05-01T10:00:00Z, 2024-05-01T10:00:00.000+0000, 2024-05-01T10:00:00+02:00).
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace omnisync::sim::salesforce {

struct soql_literal {
  enum class kind { string, number, boolean, null, datetime } type = kind::null;
  std::string text;        ///< string value, or the number/datetime as written
  double number = 0;
  bool boolean = false;
  std::int64_t epoch_ms = 0;  ///< datetime
};

struct soql_condition {
  std::string field;
  std::string op;          ///< = != < <= > >= IN
  std::vector<soql_literal> values;  ///< one, or several for IN
};

struct soql_order {
  std::string field;
  bool descending = false;
};

struct soql_query {
  std::vector<std::string> fields;
  std::string object;
  std::vector<soql_condition> where;
  std::vector<soql_order> order_by;
  std::optional<std::int64_t> limit;
};

/// Parses `text`; on failure returns the message Salesforce-style ("unexpected token: 'FOO'").
std::variant<soql_query, std::string> parse_soql(const std::string& text);

/// "2026-01-01T00:00:00.000+0000" → epoch ms; nullopt when malformed. Accepts Z, ±hhmm and ±hh:mm.
std::optional<std::int64_t> parse_sf_datetime(const std::string& s);
/// epoch ms → "2026-01-01T00:00:00.000+0000" (how Salesforce's REST API writes datetimes).
std::string format_sf_datetime(std::int64_t epoch_ms);

}  // namespace omnisync::sim::salesforce
