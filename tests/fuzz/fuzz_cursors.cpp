// Fuzzes the vendors' poll cursors. A cursor is stored by the engine and handed back to its adapter, so a damaged
// state file (or one written by another version) reaches `decode` as arbitrary text. The first byte picks the
// vendor, the rest is the text. `decode` must refuse or accept without crashing; what it accepts must survive an
// encode/decode round trip unchanged (encode(decode(encode(c))) == encode(c)), and the cursor's queries work.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/hubspot/hubspot_cursor.hpp"
#include "adapters/intercom/intercom_cursor.hpp"
#include "adapters/salesforce/poll_cursor.hpp"
#include "adapters/zendesk/zendesk_cursor.hpp"

namespace {

template <class Cursor>
Cursor round_trip(const Cursor& c) {
  const std::string once = c.encode();
  auto again = Cursor::decode(once);
  if (!again) std::abort();                   // a cursor we wrote must read back
  if (again->encode() != once) std::abort();  // and mean the same
  return *again;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      if (auto c = omnisync::adapters::salesforce::poll_cursor::decode(text)) {
        auto d = round_trip(*c);
        (void)d.saw("003000000000001AAA", 1767225600000);
        d.remember("003000000000001AAA", 1767225600000);
        d.prune(2);
        (void)round_trip(d);
      }
      break;
    case 1:
      if (auto c = omnisync::adapters::hubspot::poll_cursor::decode(text)) {
        auto d = round_trip(*c);
        (void)d.was_seen("101");
      }
      break;
    case 2:
      if (auto c = omnisync::adapters::zendesk::poll_cursor::decode(text)) (void)round_trip(*c);
      break;
    default:
      if (auto c = omnisync::adapters::intercom::poll_cursor::decode(text)) {
        auto d = round_trip(*c);
        (void)d.returned("6543210", 1767225600);
        omnisync::adapters::intercom::poll_cursor::prune(d.seen, 1767225600);
        (void)round_trip(d);
      }
      break;
  }
  return 0;
}
