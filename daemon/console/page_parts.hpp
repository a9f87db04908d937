#pragma once
/// The pieces every console page is built from (pages.cpp defines them; pages_*.cpp use them): reading JSON
/// results, table cells, the page frame, action forms. Internal to daemon/console; pure functions, any thread.
/// Every text from the daemon goes through `escape` (directly or through `cell`).
#include <boost/json/value.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "daemon/console/pages.hpp"

namespace omnisync::console::pages::detail {

/// `v[key]`, or a null value when `v` is no object or has no such key.
const boost::json::value& at(const boost::json::value& v, std::string_view key);
/// A value as text for a cell: strings as they are, null and missing as an em dash, others as JSON.
std::string text(const boost::json::value& v);
std::string cell(const boost::json::value& v);
std::string num_cell(const boost::json::value& v);
/// A duration in milliseconds as "3 s", "4 min", "2 h", or an em dash.
std::string age(const boost::json::value& ms);
std::string url_encode(std::string_view s);
std::string hidden(std::string_view name, std::string_view value);
/// A form that runs one write command through /actions (its arguments as hidden fields), with a button.
std::string action_form(const frame& f, std::string_view back, std::string_view label,
                        std::initializer_list<std::pair<std::string_view, std::string>> fields, bool danger = false);
/// The page around `body`: head, navigation (the `frame`'s tab current), scope, sign-out, title, notice.
std::string layout(const frame& f, std::string_view body);
std::string runs_table(const boost::json::value& items, std::string_view caption);
/// The People page's explain part (pages_records.cpp): why the profile's records are linked, each link with a
/// Split button, the links a split removed with a Restore button (write scope), refused merges; empty when the
/// profile was fetched without explain.
std::string identity_section(const frame& f, const boost::json::value& profile);

}  // namespace omnisync::console::pages::detail
