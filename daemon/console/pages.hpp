#pragma once
/// The console's pages as HTML, rendered on the server from the results of the control commands (status, runs,
/// dlq, profile), so the read views work without JavaScript. Pure functions of their JSON inputs: no I/O, no
/// state, any thread. Every text from the daemon is escaped; the pages load only /assets/console.css and
/// /assets/console.js (no inline script or style: the Content-Security-Policy is `default-src 'self'`).
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace omnisync::console::pages {

/// What every page's frame needs: its title, which tab is current, and the signed-in caller.
struct frame {
  std::string title;
  std::string active;  ///< overview | runs | dead-letters | people | analytics
  std::string csrf;    ///< the session's CSRF token (forms that act carry it); empty: no session, no forms
  bool can_write = false;
  std::string notice;  ///< a line shown above the content (the outcome of an action)
};

std::string escape(std::string_view text);

/// Overview: per connector health (the vendor's words), freshness, queues, dead letters, API budget; the last runs.
std::string overview(const frame& f, const boost::json::value& status, const boost::json::value& runs,
                     const boost::json::value& dlq_stats);
/// Run history, a page at a time (`next` is the query string of the next page, empty on the last).
std::string runs(const frame& f, const boost::json::value& runs, std::string_view next);
/// Dead letters grouped by reason, with retry/drop forms for the write scope, and the open entries.
std::string dead_letters(const frame& f, const boost::json::value& stats, const boost::json::value& list,
                         std::string_view next);
/// People: the search form and its results; with `person`, the 360 view (golden values and their source, KPIs,
/// timeline, linked records).
std::string people(const frame& f, std::string_view query, const boost::json::value* results,
                   const boost::json::value* person);
/// Record inspector: the form (connector, object, id) and, with `record` (the `record show` result), the stored
/// payload, mapped values, field provenance and the writes it caused with redacted request and response.
std::string record_inspector(const frame& f, std::string_view connector, std::string_view object, std::string_view id,
                             const boost::json::value* record);
/// Analytics: the report charts (hand-written SVG, each with its numbers as a table and a CSV link); `reports`
/// holds one `report` result per name, or is null while the daemon has no `report` command.
std::string analytics(const frame& f, const boost::json::value* reports, std::string_view note);
/// A report's rows as CSV (RFC 4180: header line, CRLF), empty when the result has no rows.
std::string report_csv(const boost::json::value& result);
/// The sign-in form (token field).
std::string login(std::string_view message);
/// A short page for an error or a refusal.
std::string message_page(int status, std::string_view message);

}  // namespace omnisync::console::pages
