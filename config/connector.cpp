#include "config/connector.hpp"

namespace omnisync::config {

using cc = connector_common;

schema connector_common_schema(const std::vector<std::string>& kinds) {
  using namespace std::chrono_literals;
  schema s;
  s.enumeration("kind", kinds, "which system the connector talks to (two connectors of one kind are fine)")
      .required()
      .into(&cc::kind);
  s.url("base_url", "where the API is (each vendor's default below); the simulator's URL in tests")
      .into(&cc::base_url);
  s.url("login_url", "the same as base_url, the name Salesforce uses (its login URL)").into(&cc::base_url);
  auto& tls = s.block("tls", "");
  tls.path("ca_file", "an extra trust anchor (e.g. omnisync-sim's CA); the system store is always used")
      .into(&cc::ca_file);
  tls.boolean("verify", "verify the server's certificate; never turn off outside tests").fallback(true).into(&cc::tls_verify);
  s.boolean("enabled", "false: the connector is checked but not run").fallback(true).into(&cc::enabled);
  s.list("objects", "the objects to sync (Salesforce `Contact`, HubSpot `contacts`, Zendesk `users`, ...)")
      .default_text("the vendor's (below)")
      .into(&cc::objects);
  s.duration("poll_interval", "how often each object is polled for changes when caught up")
      .fallback(30s)
      .into(&cc::poll_interval);
  s.duration("settle_lag", "incremental polls read up to \"now minus this\", so records committed late are not skipped")
      .fallback(15s)
      .into(&cc::settle_lag);
  s.integer("batch_size", "records per write call; larger values are capped at the vendor's maximum")
      .range(1, 2000)
      .default_text("the vendor's maximum")
      .into(&cc::batch_size);
  s.enumeration("empty_strings", {"no_value", "value"},
                "what an empty string read from this vendor means to the inbound mappings: no_value (as null: a "
                "default applies, a coalesce skips it); value (kept in plain string fields, for vendors where \"\" "
                "is meaningful; typed, defaulted and identity fields still read it as no value)")
      .fallback(std::string("no_value"))
      .into(&cc::empty_string_is_value, std::vector<std::pair<std::string, bool>>{{"no_value", false}, {"value", true}});
  s.block("auth", "credentials; secrets as `KEY_file: PATH`, `KEY: {credential: NAME}` (systemd `LoadCredential=`) "
                  "or `KEY: \"${ENV}\"` (a literal works but is masked in logs and belongs in a file)");
  s.block("webhook", "the connector's webhook endpoint, `POST /webhooks/<name>`");
  auto& sync = s.block("sync", "polling and writing; the vendor keys are in each vendor's table");
  sync.boolean("write", "false makes the connector read-only (a source, never a destination)")
      .fallback(true)
      .into(&cc::write);
  sync.integer("write_concurrency", "write chunks the connector's writer keeps in flight")
      .range(1, 64)
      .fallback(4)
      .into(&cc::write_concurrency);
  sync.duration("reconcile_interval",
                "how often every id of each object is listed to mark records the vendor no longer has as deleted "
                "(hard deletes leave no trace in change feeds)")
      .allow_off()
      .default_text("`6h`")
      .into(&cc::reconcile_interval);
  sync.enumeration("mode", {"live", "shadow"},
                   "shadow: every write is computed and queued, none is sent (`omnisyncctl plan` shows them); live "
                   "later sends what is still different")
      .fallback(std::string("live"))
      .into(&cc::mode, std::vector<std::pair<std::string, cc::write_mode>>{{"live", cc::write_mode::live},
                                                                          {"shadow", cc::write_mode::shadow}});
  sync.enumeration("write_nulls", {"never", "cleared", "always"},
                   "when an empty value is written here: never; cleared (where a source cleared it and that is the "
                   "newest information); always. A value no source holds is never written")
      .fallback(std::string("cleared"))
      .into(&cc::write_nulls, std::vector<std::pair<std::string, cc::null_writes>>{
                                  {"never", cc::null_writes::never},
                                  {"cleared", cc::null_writes::cleared},
                                  {"always", cc::null_writes::always}});
  auto& fields = sync.block("fields", "which canonical attributes this destination may receive (allow or deny)");
  fields.list("allow", "only these canonical attributes are written here (names from the outbound mappings)")
      .into(&cc::fields_allow);
  fields.list("deny", "these canonical attributes are never written here").into(&cc::fields_deny);
  s.block("rate_limit", "the connector's rate buckets, when the account's limits differ from the vendor's defaults");
  return s;
}

}  // namespace omnisync::config
