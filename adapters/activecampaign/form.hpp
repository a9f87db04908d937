#pragma once
/// Decoding of `application/x-www-form-urlencoded` bodies, as ActiveCampaign posts its webhooks: PHP-style
/// bracketed keys (`contact[email]=a%40example.com&contact[fields][1]=x`), keys and values percent-encoded,
/// spaces as '+' (api-notes §4.1).
///
/// Pure functions of outside input: they never throw and never assert; a malformed body is nullopt.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omnisync::adapters::activecampaign {

using form_fields = std::vector<std::pair<std::string, std::string>>;

/// Splits on '&' and the first '=' of each part, then percent-decodes key and value ('+' is a space).
/// nullopt when an escape is not `%` + two hex digits, or a part has no key.
std::optional<form_fields> form_decode(std::string_view body);

/// The value of the first field named `key`, nullopt when absent.
std::optional<std::string> form_value(const form_fields& fields, std::string_view key);

}  // namespace omnisync::adapters::activecampaign
