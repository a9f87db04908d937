// The Intercom connector's writes: one contact per call, found by external_id or email, then updated or created.
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "adapters/intercom/connector_impl.hpp"
#include "adapters/intercom/errors.hpp"
#include "adapters/rest/rest_util.hpp"

namespace omnisync::adapters::intercom {

task<std::vector<write_result>> connector_impl::write(std::string object, std::vector<write_item> items) {
  std::vector<write_result> out;
  for (auto& it : items) {
    if (object != "contacts") {
      write_result r;
      r.outbox_id = it.outbox_id;
      r.status = write_result::outcome::rejected;
      r.error = "the Intercom connector writes contacts only";
      out.push_back(std::move(r));
      continue;
    }
    auto r = co_await upsert_contact(std::move(it));
    out.push_back(std::move(r));
  }
  co_return out;
}

asio::awaitable<write_result> connector_impl::upsert_contact(write_item it) {
  write_result r;
  r.outbox_id = it.outbox_id;
  auto v = rest::parse_json(it.payload);
  if (!v || !v->is_object()) {
    r.status = write_result::outcome::rejected;
    r.error = "payload is not a JSON object";
    co_return r;
  }
  json::object contact = std::move(v->get_object());
  if (!it.record_key.empty() && rest::member_text(contact, upsert_key_).empty()) contact[upsert_key_] = it.record_key;
  const std::string external_id = rest::member_text(contact, "external_id");
  const std::string email = rest::member_text(contact, "email");
  if (external_id.empty() && email.empty()) {
    r.status = write_result::outcome::rejected;
    r.error = "no external_id or email to find the contact by";
    co_return r;
  }
  json::array either;
  if (!external_id.empty()) either.push_back(filter("external_id", "=", json::value(external_id)));
  if (!email.empty()) either.push_back(filter("email", "=", json::value(email)));
  json::object query;
  if (either.size() == 1) {
    query = std::move(either[0].as_object());
  } else {
    query["operator"] = "OR";
    query["value"] = std::move(either);
  }
  auto found = co_await search_contacts(std::move(query));
  if (!found) {
    r.status = write_result::outcome::retry;
    r.error = "search: " + found.error().message();
    co_return r;
  }
  // The contact with this external_id wins; else one with this email, a user before a lead.
  std::string target;
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
  };
  for (const auto& c : *found)
    if (!external_id.empty() && rest::member_text(c, "external_id") == external_id) target = rest::member_text(c, "id");
  if (target.empty())
    for (const auto& c : *found)
      if (!email.empty() && lower(rest::member_text(c, "email")) == lower(email)) {
        if (target.empty() || rest::member_text(c, "role") == "user") target = rest::member_text(c, "id");
      }
  std::string path = "/contacts";
  std::string method = "POST";
  if (!target.empty()) {
    path = "/contacts/" + rest::url_encode(target);
    method = "PUT";
  } else if (rest::member_text(contact, "role").empty()) {
    contact["role"] = role_;
  }
  const std::string body_text = json::serialize(contact);
  auto res = co_await json_->send(method, path, body_text);
  if (res && res->status == 409 && method == "POST") {
    // Created by someone else since the search: update that one instead.
    const std::string existing = intercom::conflict_id(*res);
    if (!existing.empty()) {
      path = "/contacts/" + rest::url_encode(existing);
      method = "PUT";
      contact.erase("role");
      const std::string again = json::serialize(contact);
      res = co_await json_->send(method, path, again);
    }
  }
  if (!res) {
    r.status = write_result::outcome::retry;
    r.error = res.error().message();
    co_return r;
  }
  if (res->status == 200 || res->status == 201) {
    auto answer = rest::parse_json(res->body);
    if (answer) r.destination_id = rest::member_text(*answer, "id");
    co_return r;
  }
  const auto kind = json_->failure(method, path, *res);
  // 400/422: the contact as sent is refused; 409 on an update: the external_id or email belongs to another
  // contact. A 404 on an update (deleted since the search) and everything else is tried again later.
  const bool refused = kind == errc::invalid_input || kind == errc::conflict;
  r.status = refused ? write_result::outcome::rejected : write_result::outcome::retry;
  r.error = intercom::error_text(*res);
  co_return r;
}

}  // namespace omnisync::adapters::intercom
