// The one translation unit that includes libphonenumber (its headers pull in protobuf and absl).
#include <phonenumbers/phonenumberutil.h>

#include <string>
#include <unordered_map>

#include "mapping/transforms.hpp"

namespace omnisync::mapping {
namespace {

std::optional<std::string> parse_e164(std::string_view number, std::string_view default_region) {
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

/// Answers already computed, per thread: libphonenumber's parse runs ICU regular expressions (tens of
/// microseconds a number, the largest single cost of mapping a Salesforce page), and the same numbers come by
/// again — a person's number in each system holding them, every re-read of a changed record, a company's
/// switchboard. Bounded in two generations of `cap` numbers each: when the newer one is full it becomes the older
/// one (the older one is dropped), and a hit in the older one moves the number back into the newer one. A number
/// seen within the last `cap`..2×`cap` distinct ones is therefore still known — a cache emptied whole when full
/// forgets everything each time and, for a working set just above its size, misses almost always. Memory: at
/// most 2×`cap` entries (a few MB).
class e164_memo {
 public:
  static constexpr std::size_t cap = 32768;

  std::optional<std::string> get(std::string_view number, std::string_view region) {
    key_.assign(region);
    key_ += '\n';
    key_.append(number);
    if (auto it = new_.find(key_); it != new_.end()) return it->second;
    std::optional<std::string> out;
    if (auto it = old_.find(key_); it != old_.end()) {
      out = std::move(it->second);
      old_.erase(it);
    } else {
      out = parse_e164(number, region);
    }
    if (new_.size() >= cap) {
      old_ = std::move(new_);
      new_ = {};
    }
    new_.emplace(key_, out);
    return out;
  }

 private:
  std::string key_;  // reused: no allocation for a hit
  std::unordered_map<std::string, std::optional<std::string>> new_, old_;
};

}  // namespace

std::optional<std::string> to_e164(std::string_view number, std::string_view default_region) {
  if (number.size() > 64) return std::nullopt;  // no real number is longer; keeps the parser's work bounded
  thread_local e164_memo memo;
  return memo.get(number, default_region);
}

}  // namespace omnisync::mapping
