#pragma once
/// The SOQL subset the Salesforce simulator understands, parsed for real: anything outside it is a
/// MALFORMED_QUERY, as Salesforce would answer.
///
///   SELECT field[, field...]            fields, including relationship fields such as Account.Name
///   FROM Object
///   [WHERE cond [AND cond...]]          cond: field (= | != | <> | < | <= | > | >=) literal, or field IN (literal, ...)
///   [ORDER BY field [ASC|DESC][, ...]]
///   [LIMIT n]
/// Literals: 'quoted strings' (with \' escapes), numbers, true/false, null, unquoted dates (2024-05-01) and
/// unquoted datetimes in the forms the SOQL reference lists ("Date Formats and Date Literals":
/// YYYY-MM-DDThh:mm:ssZ, YYYY-MM-DDThh:mm:ss+hh:mm, YYYY-MM-DDThh:mm:ss-hh:mm; fractional seconds are accepted
/// too). An offset without its colon (+0000) is not one of them: MALFORMED_QUERY. A field selected twice is
/// refused ("duplicate field selected"). Whether a literal suits its field's type is checked by the caller,
/// which knows the schema (sim/salesforce/api.cpp: INVALID_FIELD).
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace omnisync::sim::salesforce {

struct soql_literal {
  enum class kind { string, number, boolean, null, datetime, date } type = kind::null;
  std::string text;        ///< string value, or the number/date/datetime as written
  double number = 0;
  bool boolean = false;
  std::int64_t epoch_ms = 0;  ///< datetime; date: midnight UTC
};

struct soql_condition {
  std::string field;
  std::string op;          ///< = != < <= > >= IN (<> is read as !=)
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

/// "2026-01-01T00:00:00.000+0000" → epoch ms; nullopt when malformed. Accepts Z, ±hhmm and ±hh:mm (the forms
/// the REST API writes and reads in JSON bodies and replication parameters).
std::optional<std::int64_t> parse_sf_datetime(const std::string& s);
/// A SOQL datetime literal in one of the documented forms (Z or ±hh:mm, optional fractional seconds).
std::optional<std::int64_t> parse_soql_datetime(const std::string& s);
/// A SOQL date literal, YYYY-MM-DD (a real calendar date) → epoch ms of its midnight UTC.
std::optional<std::int64_t> parse_soql_date(const std::string& s);
/// epoch ms → "2026-01-01T00:00:00.000+0000" (how Salesforce's REST API writes datetimes).
std::string format_sf_datetime(std::int64_t epoch_ms);

}  // namespace omnisync::sim::salesforce
