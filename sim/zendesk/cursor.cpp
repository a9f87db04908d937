#include "sim/zendesk/cursor.hpp"

#include <charconv>
#include <vector>

#include <openssl/evp.h>

namespace omnisync::sim::zendesk {
namespace {

bool parse_int(std::string_view text, std::int64_t& out) {
  if (text.empty()) return false;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end;
}

}  // namespace

std::string encode_cursor(export_position position) {
  const std::string plain =
      std::to_string(position.updated_at_s) + ".0||" + std::to_string(position.id) + "|";
  std::string out(4 * ((plain.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<export_position> decode_cursor(std::string_view cursor) {
  if (cursor.empty() || cursor.size() % 4 != 0 || cursor.size() > 256) return std::nullopt;
  std::vector<unsigned char> plain(cursor.size() / 4 * 3 + 1);
  const int n = EVP_DecodeBlock(plain.data(), reinterpret_cast<const unsigned char*>(cursor.data()),
                                static_cast<int>(cursor.size()));
  if (n < 0) return std::nullopt;
  std::string_view text(reinterpret_cast<const char*>(plain.data()), static_cast<std::size_t>(n));
  // EVP_DecodeBlock keeps the zero bytes that stand for '=' padding.
  while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  const auto sep = text.find(".0||");
  if (sep == std::string_view::npos || text.empty() || text.back() != '|') return std::nullopt;
  export_position position;
  if (!parse_int(text.substr(0, sep), position.updated_at_s)) return std::nullopt;
  if (!parse_int(text.substr(sep + 4, text.size() - sep - 5), position.id)) return std::nullopt;
  return position;
}

std::optional<std::string> check_start_time(std::int64_t start_time_s, std::int64_t now_s) {
  if (start_time_s < 0) return std::string("Invalid start_time");
  if (now_s - start_time_s < 60) return std::string("Too recent start_time. Use a start_time older than 1 minute");
  return std::nullopt;
}

}  // namespace omnisync::sim::zendesk
