#include "adapters/salesforce/query_page.hpp"

#include <simdjson.h>

#include "core/time.hpp"

namespace omnisync::adapters::salesforce {
namespace {
namespace od = simdjson::ondemand;

/// The value's JSON type; false when the value is not valid JSON. (Comparing `v.type()` with a type directly would
/// convert the result by throwing simdjson_error on a bad value.)
bool is_type(od::value& v, od::json_type want) {
  od::json_type t;
  return !v.type().get(t) && t == want;
}

/// Id, SystemModstamp and IsDeleted of one record's JSON text. `text` lies inside a padded buffer (the page's),
/// so a second on-demand pass may read it in place; `room` is how many bytes the buffer holds from text's start.
bool read_keys(od::parser& p, std::string_view text, std::size_t room, adapters::source_record& out) {
  od::document doc;
  if (p.iterate(text.data(), text.size(), room).get(doc)) return false;
  od::object o;
  if (doc.get_object().get(o)) return false;
  // One pass over the fields in order (find_field_unordered would scan again for each key).
  for (auto field : o) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    od::value v;
    if (field.value().get(v)) return false;
    if (key == "Id") {
      std::string_view id;
      if (is_type(v, od::json_type::string) && !v.get_string().get(id)) out.id.assign(id);
    } else if (key == "SystemModstamp") {
      std::string_view stamp;
      if (is_type(v, od::json_type::string) && !v.get_string().get(stamp))
        if (auto t = parse_iso8601(stamp, time_part::required)) out.source_updated_at = *t;
    } else if (key == "IsDeleted") {
      bool d = false;
      if (is_type(v, od::json_type::boolean) && !v.get_bool().get(d)) out.deleted = d;
    }
  }
  return true;
}

}  // namespace

omnisync::result<record_page> parse_record_page(std::string_view body) try {
  const auto bad = make_error_code(errc::retry);
  // One padded copy of the body; the records' texts are slices of it (with its padding after each of them).
  simdjson::padded_string padded(body);
  const char* const end = padded.data() + padded.size() + simdjson::SIMDJSON_PADDING;
  thread_local od::parser page_parser;
  thread_local od::parser record_parser;
  od::document doc;
  if (page_parser.iterate(padded).get(doc)) return bad;
  od::object top;
  if (doc.get_object().get(top)) return bad;
  record_page out;
  bool saw_records = false;
  for (auto field : top) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad;
    od::value v;
    if (field.value().get(v)) return bad;
    if (key == "nextRecordsUrl") {
      std::string_view next;
      if (is_type(v, od::json_type::string) && !v.get_string().get(next) && !next.empty()) out.next.emplace(next);
    } else if (key == "records") {
      od::array recs;
      if (v.get_array().get(recs)) return bad;
      saw_records = true;
      for (auto item : recs) {
        od::value rv;
        if (item.get(rv)) return bad;
        od::json_type t;
        if (rv.type().get(t)) return bad;
        if (t != od::json_type::object) continue;  // left unread: the iterator skips it
        od::object ro;
        std::string_view text;
        if (rv.get_object().get(ro) || ro.raw_json().get(text)) return bad;  // consumes the record to its end
        // raw_json reaches the next token: the whitespace before it is not the record's.
        while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t'))
          text.remove_suffix(1);
        adapters::source_record rec;
        if (!read_keys(record_parser, text, static_cast<std::size_t>(end - text.data()), rec)) return bad;
        if (rec.id.empty()) continue;
        rec.payload.assign(text);
        out.records.push_back(std::move(rec));
      }
    }
  }
  if (!saw_records) return bad;
  return out;
} catch (const simdjson::simdjson_error&) {
  // Every call above checks its error code; should one still throw, the page is refused like any other bad page
  // (a vendor's bytes never escape the adapter as an exception).
  return make_error_code(errc::retry);
}

}  // namespace omnisync::adapters::salesforce
