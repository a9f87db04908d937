// What a reload changes (daemon/app/reload_diff): mapping files compared by content, and the differences a
// reload does not apply, worded for the caller without secret values.
#include <catch2/catch.hpp>

#include <string>

#include "daemon/app/reload_diff.hpp"

using namespace omnisync;

namespace {

config::connector_common connector(const std::string& name, const std::string& kind) {
  config::connector_common cc;
  cc.name = name;
  cc.kind = kind;
  return cc;
}

void set(config::connector_common& cc, const std::string& key, config::setting_value v) { cc.settings.set(key, std::move(v)); }

bool mentions(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& l : lines)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("reload diff: mapping files added, changed and removed, by content", "[app][reload]") {
  app::mapping_snapshot now, next;
  now.files["m/hubspot/contacts.out.yaml"] = {"hubspot", "contacts", "out", "fields: {a: b}\n"};
  now.files["m/zendesk/users.in.yaml"] = {"zendesk", "users", "in", "fields: {x: y}\n"};
  now.files["m/zendesk/users.out.yaml"] = {"zendesk", "users", "out", "fields: {p: q}\n"};
  next.files["m/hubspot/contacts.out.yaml"] = {"hubspot", "contacts", "out", "# edited\nfields: {a: b}\n"};
  next.files["m/zendesk/users.in.yaml"] = now.files["m/zendesk/users.in.yaml"];  // unchanged
  next.files["m/salesforce/Contact.in.yaml"] = {"salesforce", "Contact", "in", "fields: {}\n"};
  auto d = app::diff_mappings(now, next);
  REQUIRE(d.size() == 3);
  auto find = [&](const std::string& file) {
    for (const auto& m : d)
      if (m.file == file) return m;
    FAIL("no change for " << file);
    return d.front();
  };
  CHECK(find("m/hubspot/contacts.out.yaml").change == "changed");
  CHECK(find("m/hubspot/contacts.out.yaml").direction == "out");
  CHECK(find("m/salesforce/Contact.in.yaml").change == "added");
  CHECK(find("m/zendesk/users.out.yaml").change == "removed");
  CHECK(find("m/zendesk/users.out.yaml").kind == "zendesk");
  CHECK(app::diff_mappings(now, now).empty());
}

TEST_CASE("reload diff: what waits for a restart, webhook routes and all, without secret values", "[app][reload]") {
  config::daemon_config now, next;
  auto hs = connector("hs", "hubspot");
  auto zd = connector("zd", "zendesk");
  auto old_only = connector("sf", "salesforce");
  set(hs, "poll_interval", {std::chrono::milliseconds(300), {}});
  set(zd, "sync.mode", {std::string("live"), {}});
  now.connectors = {hs, zd, old_only};

  auto hs2 = hs;
  set(hs2, "webhook.client_secret", {config::secret("s3cret-value", "inline"), {}});
  auto zd2 = zd;
  set(zd2, "sync.mode", {std::string("shadow"), {}});  // applied by the reload: no warning
  next.connectors = {hs2, zd2, connector("ic", "intercom")};
  next.daemon.threads = now.daemon.threads + 1;
  next.http.dedupe_retention = now.http.dedupe_retention * 2;

  auto w = app::restart_warnings(now, next);
  INFO([&] {
    std::string all;
    for (const auto& l : w) all += l + "\n";
    return all;
  }());
  CHECK(mentions(w, "connector hs: webhook.client_secret changed: takes effect at the next restart"));
  CHECK(mentions(w, "answer 404"));
  CHECK_FALSE(mentions(w, "s3cret-value"));
  CHECK_FALSE(mentions(w, "connector zd"));
  CHECK(mentions(w, "connector ic is new"));
  CHECK(mentions(w, "connector sf was removed"));
  CHECK(mentions(w, "daemon.threads, http.dedupe_retention changed"));
  CHECK(app::restart_warnings(now, now).empty());
}
