// The one translation unit that includes libphonenumber (its headers pull in protobuf and absl).
#include <phonenumbers/phonenumberutil.h>

#include "mapping/transforms.hpp"

namespace omnisync::mapping {

std::optional<std::string> to_e164(std::string_view number, std::string_view default_region) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  if (number.size() > 64) return std::nullopt;  // no real number is longer; keeps the parser's work bounded
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber parsed;
  if (util->Parse(std::string(number), std::string(default_region), &parsed) != PhoneNumberUtil::NO_PARSING_ERROR)
    return std::nullopt;
  if (!util->IsPossibleNumber(parsed)) return std::nullopt;
  std::string out;
  util->Format(parsed, PhoneNumberUtil::E164, &out);
  return out;
}

}  // namespace omnisync::mapping
