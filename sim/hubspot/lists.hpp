#pragma once
/// HubSpot lists v3 (`/crm/v3/lists`): MANUAL/SNAPSHOT/DYNAMIC lists of one object type, found by id or by
/// (objectTypeId, name), deleted (then 404 everywhere, as HubSpot answers for a deleted list), and the membership
/// endpoints of MANUAL and SNAPSHOT lists: `PUT …/memberships/add-and-remove`, `…/add`, `…/remove` with the
/// documented answer `{recordIdsRemoved, recordsIdsAdded, recordIdsMissing}` (HubSpot's field really is spelled
/// `recordsIdsAdded`; `@hubspot/api-client`'s MembershipsUpdateResponse reads that key) and the paged
/// `GET …/memberships` (`recordId`, `membershipTimestamp`).
///
/// Thread safety: none of its own; `api` calls it under its mutex. Lifecycle: owned by `api`, cleared by reset.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

namespace omnisync::sim::hubspot {

struct list_limits {
  /// Record ids per membership request (add + remove together). HubSpot's lists v3 pages name no figure that
  /// could be confirmed (the retired v1 API documented 500 per request); over it: 400 VALIDATION_ERROR.
  std::size_t membership_max = 100'000;
  std::size_t page_max = 250;  ///< `GET …/memberships?limit=` (documented default 100, maximum 250)
};

class list_store {
 public:
  struct reply {
    int status = 200;
    boost::json::value body;  ///< null: no body (204)
  };
  /// Whether record `id` of object type `type_id` ("0-1") exists and is not archived.
  using record_exists = std::function<bool(const std::string& type_id, std::int64_t id)>;

  /// `segs` are the path segments after `crm/v3/lists`; `correlation` numbers error bodies.
  reply handle(const std::string& method, const std::vector<std::string>& segs,
               const std::map<std::string, std::string>& query, const boost::json::value& body,
               const record_exists& exists, std::int64_t now_ms, std::int64_t& correlation);
  /// `GET /admin/hubspot/lists` (every live list with its member ids), `GET /admin/hubspot/lists/{id}`,
  /// `DELETE /admin/hubspot/lists/{id}` (a list deleted in HubSpot's UI, outside omnisync).
  reply admin(const std::string& method, const std::string& id, std::int64_t now_ms);
  boost::json::value snapshot() const;
  void clear() { lists_.clear(); next_id_ = 1; }
  list_limits limits;

 private:
  struct list {
    std::int64_t id = 0;
    std::string name, object_type_id, processing_type;
    std::int64_t created_ms = 0, updated_ms = 0, deleted_ms = 0;
    std::int64_t version = 1;
    std::map<std::int64_t, std::int64_t> members;  ///< record id → membership timestamp
  };
  boost::json::object to_json(const list& l) const;
  list* live(const std::string& id);
  reply create(const boost::json::value& body, std::int64_t now_ms, std::int64_t& correlation);
  reply change(list& l, const boost::json::value& to_add, const boost::json::value& to_remove,
               const record_exists& exists, std::int64_t now_ms, std::int64_t& correlation);
  reply members_page(const list& l, const std::map<std::string, std::string>& query, std::int64_t& correlation);

  std::map<std::int64_t, list> lists_;
  std::int64_t next_id_ = 1;
};

}  // namespace omnisync::sim::hubspot
