#pragma once
/// JSON text as people and scripts expect to read it: like `boost::json::serialize`, except that numbers with a
/// fraction are written plainly in their shortest exact form (`1.02`, `0.5`, `1e+300`), never as Boost 1.81
/// writes them (`1.02E0`, `0E0`); an integral double is written without a fraction (`0`, `73`), non-finite ones
/// as null. Used for every control reply and for omnisyncctl's `--json` output.
/// Thread safety: a pure function.
#include <boost/json/value.hpp>

#include <string>

namespace omnisync {

std::string to_json_text(const boost::json::value& v);
/// Appends to `out`.
void append_json_text(std::string& out, const boost::json::value& v);
/// A stored JSON text as a value (the plan and the audit log keep values as text): the text itself, as a string,
/// when it is not JSON; null when it is empty.
boost::json::value json_or_text(const std::string& text);

}  // namespace omnisync
