// The HubSpot connector's segment membership: a MANUAL contact list per segment destination (lists v3), found
// by name or created, and membership changed with `PUT /crm/v3/lists/{listId}/memberships/add-and-remove` in
// chunks of `membership_chunk` record ids.
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "adapters/hubspot/connector_impl.hpp"
#include "adapters/hubspot/errors.hpp"
#include "adapters/rest/rest_util.hpp"

namespace omnisync::adapters::hubspot {

namespace {

constexpr const char* contacts_type_id = "0-1";

std::set<std::string> id_set(const json::value& answer, std::string_view key) {
  std::set<std::string> out;
  const auto* o = answer.if_object();
  const auto* a = o ? o->if_contains(key) : nullptr;
  if (a && a->is_array())
    for (const auto& e : a->get_array()) {
      if (e.is_string()) out.emplace(e.get_string());
      else if (e.is_int64()) out.insert(std::to_string(e.get_int64()));
    }
  return out;
}

}  // namespace

task<std::string> connector_impl::ensure_audience(audience_spec spec) {
  if (spec.name.empty()) co_return make_error_code(errc::invalid_input);
  const std::string find = "/crm/v3/lists/object-type-id/" + std::string(contacts_type_id) + "/name/" +
                           rest::url_encode(spec.name);
  auto found = co_await json_->send("GET", find);
  if (!found) co_return found.error();
  if (found->status == 200) {
    auto v = rest::parse_json(found->body);
    const auto* list = v && v->is_object() ? v->get_object().if_contains("list") : nullptr;
    if (list) co_return rest::member_text(*list, "listId");
    co_return make_error_code(errc::invalid_input);
  }
  if (found->status != 404) co_return json_->failure("GET", find, *found);
  json::object body{{"name", spec.name}, {"objectTypeId", contacts_type_id}, {"processingType", "MANUAL"}};
  auto created = co_await json_->call_json("POST", "/crm/v3/lists", json::serialize(body));
  if (!created) co_return created.error();
  const auto* list = created->is_object() ? created->get_object().if_contains("list") : nullptr;
  if (!list) co_return make_error_code(errc::invalid_input);
  const auto id = rest::member_text(*list, "listId");
  spdlog::info("{}: created MANUAL list '{}' (listId {}) for segment {}", cfg_.name, spec.name, id, spec.segment_key);
  co_return id;
}

task<std::vector<write_result>> connector_impl::change_membership(audience_spec spec, std::string audience_id,
                                                                  std::vector<membership_item> items) {
  std::vector<write_result> out;
  const std::size_t limit = max_membership_batch();
  const std::string path = "/crm/v3/lists/" + rest::url_encode(audience_id) + "/memberships/add-and-remove";
  std::size_t at = 0;
  while (at < items.size()) {
    // One chunk names a record at most once (HubSpot would apply both halves of an add+remove in one call).
    std::vector<const membership_item*> chunk;
    std::set<std::string> named;
    std::size_t next = at;
    for (; next < items.size() && chunk.size() < limit; ++next) {
      if (!named.insert(items[next].member_id).second) break;
      chunk.push_back(&items[next]);
    }
    at = next;
    json::array to_add, to_remove;
    for (const auto* it : chunk) (it->add ? to_add : to_remove).push_back(json::string(it->member_id));
    json::object body{{"recordIdsToAdd", std::move(to_add)}, {"recordIdsToRemove", std::move(to_remove)}};
    auto res = co_await json_->send("PUT", path, json::serialize(body));
    auto all = [&](write_result::outcome how, const std::string& why) {
      for (const auto* it : chunk) {
        write_result w;
        w.outbox_id = it->outbox_id;
        w.status = how;
        w.error = why;
        w.destination_id = it->member_id;
        out.push_back(std::move(w));
      }
    };
    if (!res) {
      all(write_result::outcome::retry, res.error().message());
      continue;
    }
    if (res->status == 404) co_return make_error_code(errc::not_found);  // the list was deleted
    if (res->status < 200 || res->status >= 300) {
      const auto ec = json_->failure("PUT", path, *res);
      auto v = rest::parse_json(res->body);
      const std::string why = v ? error_message(*v) : "HTTP " + std::to_string(res->status);
      all(omnisync::is_retryable(ec) ? write_result::outcome::retry : write_result::outcome::rejected, why);
      continue;
    }
    auto v = rest::parse_json(res->body);
    if (!v) {
      all(write_result::outcome::retry, "unreadable answer to add-and-remove");
      continue;
    }
    // Added, removed, or already so (HubSpot ignores an add of a member and a remove of a non-member) are all
    // done. A record HubSpot reports missing does not exist: an add cannot succeed (rejected with HubSpot's
    // words), a remove has nothing left to remove (done).
    const auto missing = id_set(*v, "recordIdsMissing");
    for (const auto* it : chunk) {
      write_result w;
      w.outbox_id = it->outbox_id;
      w.destination_id = it->member_id;
      if (it->add && missing.count(it->member_id)) {
        w.status = write_result::outcome::rejected;
        w.error = "HubSpot: record " + it->member_id + " is in recordIdsMissing (no such contact) for list " +
                  audience_id + " ('" + spec.name + "')";
      }
      out.push_back(std::move(w));
    }
  }
  co_return out;
}

}  // namespace omnisync::adapters::hubspot
