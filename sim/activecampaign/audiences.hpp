#pragma once
/// ActiveCampaign API v3 audiences: tags (`GET /api/3/tags?search=`, `POST /api/3/tags`, `DELETE /api/3/tags/{id}`),
/// the contact–tag association (`POST /api/3/contactTags`, `DELETE /api/3/contactTags/{id}`,
/// `GET /api/3/contacts/{id}/contactTags`), lists (`GET /api/3/lists`) and list status
/// (`POST /api/3/contactLists` with status 1 subscribed / 2 unsubscribed, `GET /api/3/contacts/{id}/contactLists`).
/// Setting status 1 on a contact who unsubscribed re-subscribes them, as ActiveCampaign does: refusing that is the
/// client's job.
///
/// Thread safety: none of its own; `api` calls it under its mutex. Lifecycle: owned by `api`, cleared by reset.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

namespace omnisync::sim::activecampaign {

class audience_store {
 public:
  struct reply {
    int status = 200;
    boost::json::value body;
  };
  using contact_exists = std::function<bool(std::int64_t id)>;

  /// `segs` are the path segments after `api/3`; nullopt-like status 0 when the path is not an audience route.
  reply handle(const std::string& method, const std::vector<std::string>& segs,
               const std::map<std::string, std::string>& query, const std::string& body,
               const contact_exists& exists, const std::string& base_url, std::int64_t now_s);
  /// `GET /admin/activecampaign/{tags|contactTags|contactLists|lists}`, `DELETE /admin/activecampaign/tags/{id}`
  /// (a tag deleted in the UI), `POST /admin/activecampaign/contactLists {list, contact, status}` (a contact
  /// unsubscribing by themselves).
  reply admin(const std::string& method, const std::string& object, const std::string& id, const std::string& body,
              std::int64_t now_s);
  boost::json::value snapshot() const;
  void clear();

 private:
  struct tag { std::int64_t id = 0; std::string name, type, description; std::int64_t cdate = 0; };
  struct contact_tag { std::int64_t id = 0, contact = 0, tag = 0, cdate = 0; };
  struct contact_list { std::int64_t id = 0, contact = 0, list = 0, status = 0, sdate = 0, udate = 0; };

  boost::json::object tag_json(const tag& t, const std::string& base_url) const;
  boost::json::object contact_tag_json(const contact_tag& ct, const std::string& base_url) const;
  boost::json::object contact_list_json(const contact_list& cl) const;
  reply set_status(std::int64_t contact, std::int64_t list, std::int64_t status, std::int64_t now_s);

  std::map<std::int64_t, tag> tags_;
  std::map<std::int64_t, contact_tag> contact_tags_;
  std::map<std::int64_t, contact_list> contact_lists_;
  std::map<std::int64_t, std::string> lists_{{1, "Master Contact List"}};
  std::int64_t next_tag_ = 1, next_contact_tag_ = 1, next_contact_list_ = 1;
};

}  // namespace omnisync::sim::activecampaign
