#pragma once
/// `application/x-www-form-urlencoded` bodies with PHP-style bracketed keys, as ActiveCampaign sends its
/// webhooks (api-notes §4.1): `contact[email]=a%40example.com&contact[fields][1]=x`, keys and values
/// percent-encoded, spaces as '+'. Pure, thread-safe.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/fwd.hpp>

namespace omnisync::sim::activecampaign {

using form_fields = std::vector<std::pair<std::string, std::string>>;

/// Flattens a JSON object into bracketed keys in member order: {"contact":{"id":"3"}} -> contact[id]=3.
/// Strings go as they are, numbers and booleans in their JSON text, null as "", arrays as key[0], key[1]...
form_fields flatten(const boost::json::object& object);

/// Percent-encodes every byte except unreserved ones (A-Z a-z 0-9 - _ . ~); space becomes '+'.
std::string form_escape(std::string_view text);
std::string form_encode(const form_fields& fields);

/// The inverse of form_encode ('+' is a space, %XX decoded); malformed escapes are kept literally.
form_fields form_decode(std::string_view body);

}  // namespace omnisync::sim::activecampaign
