#pragma once
/// What adapters hand to the rest of omnisync: source records as read from a vendor, and webhook events as
/// received. Plain values; the store keeps them as they are (daemon/store/store.hpp) and the sync pipeline maps
/// them. Declared here, with the adapters that produce them, so that nothing below the daemon depends on it.
///
/// These types have constructors on purpose, so they are not aggregates: GCC 12 corrupts an aggregate holding
/// std::string that is brace-initialised inside a co_await expression (see daemon/store/README.md).
#include <string>

#include "core/time.hpp"

namespace omnisync::adapters {

/// One record read from a source system, stored as the connector's JSON payload.
struct source_record {
  source_record() = default;
  source_record(std::string i, std::string p, timestamp updated = {}, bool del = false)
      : id(std::move(i)), payload(std::move(p)), source_updated_at(updated), deleted(del) {}
  std::string id;
  std::string payload;                                   ///< JSON text
  timestamp source_updated_at{};                         ///< the vendor's modification stamp
  bool deleted = false;
  /// When omnisync first stored the record; kept from the first insert on (a later copy does not change it).
  /// {} on append: now. The profile layer orders records by it, so a rebuild gives the same profile ids.
  timestamp first_seen{};
  /// What the pipeline knows of the record beyond its payload (JSON text: profile::book::facts — when each
  /// value's information dates from, clears, values webhook events announced), stored with it; adapters leave it
  /// empty.
  std::string facts;
};

/// A webhook event as received, stored before the vendor gets its 2xx.
struct inbox_event {
  inbox_event() = default;
  inbox_event(std::string c, std::string key, timestamp received, std::string m, std::string b)
      : connector(std::move(c)), dedupe_key(std::move(key)), received_at(received), meta(std::move(m)),
        body(std::move(b)) {}
  std::string connector;
  std::string dedupe_key;                                ///< the vendor's event id, or sha256 of the body
  timestamp received_at{};
  std::string meta;                                      ///< JSON text: headers and request details
  std::string body;                                      ///< raw bytes as received
};

}  // namespace omnisync::adapters
