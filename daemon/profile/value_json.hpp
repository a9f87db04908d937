#pragma once
/// A mapping value as Boost.JSON (missing and null both become null): canonical records for outbound mappings,
/// golden values and KPIs in control replies.
#include <boost/json/value.hpp>

#include "mapping/value.hpp"

namespace omnisync::profile {

boost::json::value to_json(const mapping::value& v);

}  // namespace omnisync::profile
