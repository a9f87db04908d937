// The SQLite store's statements for acknowledged segment membership (members of sqlite_sql.hpp's state_sql):
// which members omnisync added to a segment's audience at a destination, so that it only ever removes those.
#include "daemon/store/sqlite_sql.hpp"

namespace omnisync::store::sqlite {

void state_sql::membership_put(const std::string& segment, const std::string& connector, const std::string& member,
                               const std::string& profile, std::int64_t t) {
  // A member acknowledged again keeps its first added_at (and takes the newer profile id).
  c_.prepare("INSERT INTO segment_members_acked(segment, connector, member_id, profile_id, added_at) "
             "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(segment, connector, member_id) DO UPDATE SET "
             "profile_id = excluded.profile_id")
      .text(1, segment)
      .text(2, connector)
      .text(3, member)
      .text(4, profile)
      .i64(5, t)
      .run();
}

void state_sql::membership_delete(const std::string& segment, const std::string& connector,
                                  const std::string& member) {
  c_.prepare("DELETE FROM segment_members_acked WHERE segment = ?1 AND connector = ?2 AND member_id = ?3")
      .text(1, segment)
      .text(2, connector)
      .text(3, member)
      .run();
}

bool state_sql::membership_has(const std::string& segment, const std::string& connector, const std::string& member) {
  auto q = c_.prepare("SELECT 1 FROM segment_members_acked WHERE segment = ?1 AND connector = ?2 AND member_id = ?3");
  q.text(1, segment).text(2, connector).text(3, member);
  return q.step();
}

std::int64_t state_sql::membership_count(const std::string& segment, const std::string& connector) {
  auto q = c_.prepare("SELECT count(*) FROM segment_members_acked WHERE segment = ?1 AND connector = ?2");
  q.text(1, segment).text(2, connector);
  return q.step() ? q.col_i64(0) : 0;
}

std::vector<std::pair<std::string, std::string>> state_sql::membership_all(const std::string& segment,
                                                                          const std::string& connector) {
  auto q = c_.prepare("SELECT member_id, profile_id FROM segment_members_acked WHERE segment = ?1 AND connector = ?2 "
                      "ORDER BY member_id");
  q.text(1, segment).text(2, connector);
  std::vector<std::pair<std::string, std::string>> out;
  while (q.step()) out.emplace_back(q.col_text(0), q.col_text(1));
  return out;
}

}  // namespace omnisync::store::sqlite
