#pragma once
/// A mapping value as Boost.JSON (missing and null both become null): canonical records for outbound mappings,
/// golden values and KPIs in control replies; and back (stored facts, the audit log's values).
#include <boost/json/value.hpp>

#include "mapping/value.hpp"

namespace omnisync::profile {

boost::json::value to_json(const mapping::value& v);
/// A JSON value as a mapping value (a JSON integer an integer, other numbers numbers).
mapping::value from_json(const boost::json::value& j);

}  // namespace omnisync::profile
