#pragma once
/// A mapping value as Boost.JSON (missing and null both become null): canonical records for outbound mappings,
/// golden values and KPIs in control replies; and back (stored facts, the audit log's values).
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string_view>

#include "mapping/value.hpp"

namespace omnisync::profile {

boost::json::value to_json(const mapping::value& v);
/// A JSON value as a mapping value (a JSON integer an integer, other numbers numbers).
mapping::value from_json(const boost::json::value& j);
/// Sets `a.b.c` in `root` as nested objects, replacing a non-object on the way (what outbound mappings read as
/// dotted paths).
void put_path(boost::json::object& root, std::string_view path, boost::json::value v);

}  // namespace omnisync::profile
