#include "adapters/activecampaign/membership.hpp"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "adapters/rest/rest_util.hpp"

namespace omnisync::adapters::activecampaign {
namespace json = boost::json;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// The message ActiveCampaign gave: `message`, else the first of `errors[].title`.
std::string vendor_words(const http::response& r) {
  auto v = rest::parse_json(r.body);
  if (!v) return "HTTP " + std::to_string(r.status);
  auto m = rest::member_text(*v, "message");
  if (!m.empty()) return m;
  if (const auto* o = v->if_object())
    if (const auto* e = o->if_contains("errors"); e && e->is_array() && !e->as_array().empty())
      return rest::member_text(e->as_array()[0], "title");
  return "HTTP " + std::to_string(r.status);
}

write_result done(const membership_item& it, write_result::outcome how = write_result::outcome::written,
                  std::string why = {}) {
  write_result w;
  w.outbox_id = it.outbox_id;
  w.destination_id = it.member_id;
  w.status = how;
  w.error = std::move(why);
  return w;
}

}  // namespace

task<std::string> membership_client::ensure_audience(audience_spec spec) {
  if (spec.name.empty()) co_return make_error_code(errc::invalid_input);
  // `search` matches names containing the text: pick the exact name (ActiveCampaign compares tags without case).
  auto found = co_await api_.call_json("GET", "/api/3/tags?search=" + rest::url_encode(spec.name));
  if (!found) co_return found.error();
  if (const auto* o = found->if_object())
    if (const auto* tags = o->if_contains("tags"); tags && tags->is_array())
      for (const auto& t : tags->as_array())
        if (lower(rest::member_text(t, "tag")) == lower(spec.name)) co_return rest::member_text(t, "id");
  json::object body{{"tag", json::object{{"tag", spec.name},
                                         {"tagType", "contact"},
                                         {"description", "Managed by omnisync: segment " + spec.segment_key}}}};
  auto created = co_await api_.call_json("POST", "/api/3/tags", json::serialize(body));
  if (!created) co_return created.error();
  const auto* tag = created->if_object() ? created->get_object().if_contains("tag") : nullptr;
  const auto id = tag ? rest::member_text(*tag, "id") : std::string();
  if (id.empty()) co_return make_error_code(errc::invalid_input);
  spdlog::info("{}: created tag '{}' (id {}) for segment {}", connector_, spec.name, id, spec.segment_key);
  co_return id;
}

boost::asio::awaitable<omnisync::result<write_result>> membership_client::add(const audience_spec& spec,
                                                                              const std::string& tag_id,
                                                                              const membership_item& it) {
  if (segment_list_ > 0) {
    // Never turn an unsubscribed contact (status 2) back into a subscriber unless the segment allows it.
    const std::string lists_path = "/api/3/contacts/" + rest::url_encode(it.member_id) + "/contactLists";
    auto lists = co_await api_.send("GET", lists_path);
    if (!lists) co_return lists.error();
    if (lists->status == 404) co_return done(it, write_result::outcome::rejected, "ActiveCampaign: " + vendor_words(*lists));
    if (lists->status != 200) co_return api_.failure("GET", lists_path, *lists);
    std::string status;
    if (auto v = rest::parse_json(lists->body); v && v->is_object())
      if (const auto* a = v->get_object().if_contains("contactLists"); a && a->is_array())
        for (const auto& cl : a->as_array())
          if (rest::member_text(cl, "list") == std::to_string(segment_list_)) status = rest::member_text(cl, "status");
    if (status == "2" && !spec.resubscribe) {
      spdlog::info("{}: contact {} unsubscribed from list {}: not re-subscribed (segment {} has no resubscribe: true)",
                   connector_, it.member_id, segment_list_, spec.segment_key);
    } else if (status != "1") {
      json::object body{{"contactList", json::object{{"list", segment_list_}, {"contact", it.member_id}, {"status", 1}}}};
      auto r = co_await api_.send("POST", "/api/3/contactLists", json::serialize(body));
      if (!r) co_return r.error();
      if (r->status >= 300) {
        const auto ec = api_.failure("POST", "/api/3/contactLists", *r);
        if (is_retryable(ec)) co_return ec;
        co_return done(it, write_result::outcome::rejected, "ActiveCampaign: " + vendor_words(*r));
      }
    }
  }
  json::object body{{"contactTag", json::object{{"contact", it.member_id}, {"tag", tag_id}}}};
  auto r = co_await api_.send("POST", "/api/3/contactTags", json::serialize(body));
  if (!r) co_return r.error();
  if (r->status < 300) {
    // The association's id (a new one, or the one the contact already had): stored, the removal deletes it.
    auto w = done(it);
    if (auto v = rest::parse_json(r->body); v && v->is_object())
      if (const auto* ct = v->get_object().if_contains("contactTag")) w.row_id = rest::member_text(*ct, "id");
    co_return w;
  }
  const auto words = vendor_words(*r);
  if (r->status == 422 && words.find("related tag") != std::string::npos) co_return make_error_code(errc::not_found);
  const auto ec = api_.failure("POST", "/api/3/contactTags", *r);
  if (is_retryable(ec)) co_return ec;
  co_return done(it, write_result::outcome::rejected, "ActiveCampaign: " + words);
}

boost::asio::awaitable<omnisync::result<write_result>> membership_client::remove(const std::string& tag_id,
                                                                                 const membership_item& it) {
  // The association omnisync made, as its add answered it: deleted at once (one call, not two). Gone already
  // (404: untagged, or the contact deleted, outside omnisync) counts as removed.
  if (!it.row_id.empty()) co_return co_await delete_association(it.row_id, it);
  const std::string path = "/api/3/contacts/" + rest::url_encode(it.member_id) + "/contactTags";
  auto r = co_await api_.send("GET", path);
  if (!r) co_return r.error();
  if (r->status == 404) co_return done(it);  // the contact is gone, and with it the tag
  if (r->status != 200) co_return api_.failure("GET", path, *r);
  std::string association;
  if (auto v = rest::parse_json(r->body); v && v->is_object())
    if (const auto* a = v->get_object().if_contains("contactTags"); a && a->is_array())
      for (const auto& ct : a->as_array())
        if (rest::member_text(ct, "tag") == tag_id) association = rest::member_text(ct, "id");
  if (association.empty()) co_return done(it);  // not tagged (any more): nothing to remove
  co_return co_await delete_association(association, it);
}

boost::asio::awaitable<omnisync::result<write_result>> membership_client::delete_association(
    const std::string& association, const membership_item& it) {
  const std::string del = "/api/3/contactTags/" + rest::url_encode(association);
  auto d = co_await api_.send("DELETE", del);
  if (!d) co_return d.error();
  if (d->status < 300 || d->status == 404) co_return done(it);
  const auto ec = api_.failure("DELETE", del, *d);
  if (is_retryable(ec)) co_return ec;
  co_return done(it, write_result::outcome::rejected, "ActiveCampaign: " + vendor_words(*d));
}

task<std::vector<write_result>> membership_client::change_membership(audience_spec spec, std::string tag_id,
                                                                     std::vector<membership_item> items) {
  std::vector<write_result> out;
  for (const auto& it : items) {
    // (No co_await inside ?: — GCC 12 miscompiles the temporaries of a conditional co_await.)
    omnisync::result<write_result> r = make_error_code(errc::retry);
    if (it.add) r = co_await add(spec, tag_id, it);
    else r = co_await remove(tag_id, it);
    if (r) {
      out.push_back(std::move(*r));
      continue;
    }
    if (r.error() == errc::not_found) co_return r.error();  // the tag was deleted: re-ensure the audience
    // A limit or an outage: this item and the rest wait for the next round.
    out.push_back(done(it, write_result::outcome::retry, r.error().message()));
  }
  co_return out;
}

}  // namespace omnisync::adapters::activecampaign
