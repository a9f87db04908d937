#pragma once
/// What every connector block of `omnisync.yaml` says, as the adapters receive it (the contract between the
/// config loader and the adapters; see docs/configuration.md), and the schema of the keys every kind shares.
/// Immutable once loaded.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/schema.hpp"
#include "config/setting_values.hpp"

namespace omnisync::config {

/// The part of a connector's config every kind shares, as typed fields, plus the whole validated block
/// (`settings`): each adapter binds its own keys from it into its settings struct with its schema
/// (adapters/<vendor>/settings.cpp).
struct connector_common {
  std::string name;                                    ///< the key under `connectors:`
  std::string kind;                                    ///< one of adapters::connector_kinds()
  std::string base_url;                                ///< base_url, or login_url (Salesforce)
  std::optional<std::filesystem::path> ca_file;        ///< tls.ca_file: extra trust anchor (the simulator's CA)
  bool tls_verify = true;                              ///< tls.verify
  std::chrono::milliseconds poll_interval{30000};
  bool enabled = true;
  /// empty_strings: value — "" from this vendor is a value in plain string fields of its inbound mappings
  /// (mapping::evaluate_options); no_value (false, the default) — "" is no value anywhere.
  bool empty_string_is_value = false;
  std::vector<std::string> objects;                    ///< empty: the adapter's default objects
  std::chrono::milliseconds settle_lag{15000};         ///< incremental polls stay this far behind "now"
  std::size_t batch_size = 0;                          ///< write batch size; 0: the vendor's maximum
  bool write = true;                                   ///< sync.write: false makes the connector a source only
  unsigned write_concurrency = 4;                      ///< sync.write_concurrency: write chunks in flight
  /// sync.reconcile_interval: how often ids are listed to find hard deletes; 0 is off, nullopt the engine's default.
  std::optional<std::chrono::milliseconds> reconcile_interval;
  /// sync.mode: live writes; shadow computes and queues every write and sends none (`omnisyncctl plan` shows
  /// them; switching to live sends what is still different then).
  enum class write_mode { live, shadow } mode = write_mode::live;
  /// sync.write_nulls: when a null golden value is written here (a missing one never is).
  enum class null_writes { never, cleared, always } write_nulls = null_writes::cleared;
  /// sync.fields.allow / sync.fields.deny: the canonical attributes this destination may receive (one of the two).
  std::vector<std::string> fields_allow, fields_deny;
  /// Every key of the block as validated (typed, located, secrets resolved), common keys included. Equal
  /// blocks mean an unchanged connector (reload compares them).
  setting_values settings;
};

/// The keys every connector block has (kind, base_url/login_url, tls, enabled, objects, poll_interval,
/// settle_lag, batch_size, the pipeline's sync.write/write_concurrency/reconcile_interval, and the auth,
/// webhook, sync and rate_limit blocks each adapter adds to), bound into `connector_common`. `kinds`: the
/// adapters' registry, the one list of kinds.
schema connector_common_schema(const std::vector<std::string>& kinds);

}  // namespace omnisync::config
