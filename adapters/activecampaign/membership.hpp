#pragma once
/// ActiveCampaign segment membership: a tag per segment destination (`GET /api/3/tags?search=`, created with
/// `POST /api/3/tags` when absent), added with `POST /api/3/contactTags` and removed with
/// `DELETE /api/3/contactTags/{id}` (the association's id as the add answered it and the writer stored it; read
/// from `GET /api/3/contacts/{id}/contactTags` when it is not known).
/// With `sync.segment_list` set, an add also subscribes the contact to that list (`POST /api/3/contactLists`
/// status 1) — never a contact who unsubscribed (status 2) unless the segment says `resubscribe: true`.
/// ActiveCampaign takes one change per call; the connector's pacing keeps every call within 5 requests/s.
///
/// Lifecycle: owned by the connector, referencing its json_api. Used from the connector's strand.
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/connector.hpp"
#include "adapters/rest/json_api.hpp"

namespace omnisync::adapters::activecampaign {

class membership_client {
 public:
  membership_client(rest::json_api& api, std::string connector, std::int64_t segment_list)
      : api_(api), connector_(std::move(connector)), segment_list_(segment_list) {}

  task<std::string> ensure_audience(audience_spec spec);
  task<std::vector<write_result>> change_membership(audience_spec spec, std::string tag_id,
                                                    std::vector<membership_item> items);

 private:
  /// One item: the calls it needs, then its result. errc::not_found when the tag is gone.
  boost::asio::awaitable<omnisync::result<write_result>> add(const audience_spec& spec, const std::string& tag_id,
                                                              const membership_item& it);
  boost::asio::awaitable<omnisync::result<write_result>> remove(const std::string& tag_id, const membership_item& it);
  /// DELETE /api/3/contactTags/{association}: removed, or already gone (404).
  boost::asio::awaitable<omnisync::result<write_result>> delete_association(const std::string& association,
                                                                            const membership_item& it);

  rest::json_api& api_;
  std::string connector_;
  std::int64_t segment_list_ = 0;
};

}  // namespace omnisync::adapters::activecampaign
