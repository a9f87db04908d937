#include "sim/salesforce/soql.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace omnisync::sim::salesforce {
namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

struct token {
  enum class kind { word, string, symbol, end } type = kind::end;
  std::string text;
};

class lexer {
 public:
  explicit lexer(const std::string& s) : s_(s) {}
  std::optional<token> next(std::string& error) {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ >= s_.size()) return token{token::kind::end, ""};
    char c = s_[pos_];
    if (c == '\'') {
      std::string v;
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] != '\'') {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        v += s_[pos_++];
      }
      if (pos_ >= s_.size()) {
        error = "unterminated string literal";
        return std::nullopt;
      }
      ++pos_;
      return token{token::kind::string, v};
    }
    if (c == ',' || c == '(' || c == ')') {
      ++pos_;
      return token{token::kind::symbol, std::string(1, c)};
    }
    if (c == '<' || c == '>' || c == '!' || c == '=') {
      std::string op(1, c);
      ++pos_;
      if (pos_ < s_.size() && s_[pos_] == '=') op += s_[pos_++];
      else if (c == '<' && pos_ < s_.size() && s_[pos_] == '>') {
        ++pos_;
        op = "!=";  // SOQL: "<>" is a synonym of "!="
      }
      if (op == "!") {
        error = "unexpected token: '!'";
        return std::nullopt;
      }
      return token{token::kind::symbol, op};
    }
    // Words: identifiers (with dots and __c), numbers, datetimes (digits, -, :, T, Z, ., +).
    std::string w;
    while (pos_ < s_.size()) {
      char d = s_[pos_];
      if (std::isalnum(static_cast<unsigned char>(d)) || d == '_' || d == '.' || d == ':' || d == '-' ||
          (d == '+' && !w.empty() && std::isdigit(static_cast<unsigned char>(w[0]))))
        w += s_[pos_++];
      else
        break;
    }
    if (w.empty()) {
      error = std::string("unexpected token: '") + c + "'";
      return std::nullopt;
    }
    return token{token::kind::word, w};
  }

 private:
  const std::string& s_;
  std::size_t pos_ = 0;
};

bool valid_identifier(const std::string& w) {
  if (w.empty() || !std::isalpha(static_cast<unsigned char>(w[0]))) return false;
  for (char c : w)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  return w.back() != '.';
}

}  // namespace

std::optional<std::int64_t> parse_sf_datetime(const std::string& s) {
  int y, mo, d, h, mi, sec;
  int n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6) return std::nullopt;
  std::string rest = s.substr(static_cast<size_t>(n));
  int ms = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    std::string frac;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) frac += rest[i++];
    if (frac.empty()) return std::nullopt;
    frac = (frac + "000").substr(0, 3);
    ms = std::stoi(frac);
    rest = rest.substr(i);
  }
  long offset = 0;
  if (rest == "Z") {
  } else if ((rest.size() == 5 || rest.size() == 6) && (rest[0] == '+' || rest[0] == '-')) {
    std::string digits = rest.substr(1);
    digits.erase(std::remove(digits.begin(), digits.end(), ':'), digits.end());
    if (digits.size() != 4 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return std::nullopt;
    offset = (std::stoi(digits.substr(0, 2)) * 3600 + std::stoi(digits.substr(2)) * 60) * (rest[0] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return (static_cast<std::int64_t>(timegm(&tm)) - offset) * 1000 + ms;
}

std::optional<std::int64_t> parse_soql_datetime(const std::string& s) {
  // YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm): the colon in the offset is required here, unlike in JSON bodies.
  if (s.size() < 20 || s[10] != 'T') return std::nullopt;
  std::string zone;
  if (s.back() == 'Z') zone = "Z";
  else if (s.size() >= 25 && (s[s.size() - 6] == '+' || s[s.size() - 6] == '-') && s[s.size() - 3] == ':')
    zone = s.substr(s.size() - 6);
  else
    return std::nullopt;
  return parse_sf_datetime(s);
}

std::optional<std::int64_t> parse_soql_date(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  const int y = std::stoi(s.substr(0, 4)), m = std::stoi(s.substr(5, 2)), d = std::stoi(s.substr(8, 2));
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1 || d > days[m - 1] + (m == 2 && leap ? 1 : 0)) return std::nullopt;
  return parse_sf_datetime(s + "T00:00:00Z");
}

std::string format_sf_datetime(std::int64_t epoch_ms) {
  std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];  // room for any int in every field, so the format can never truncate
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(epoch_ms % 1000));
  return buf;
}

std::variant<soql_query, std::string> parse_soql(const std::string& text) {
  lexer lex(text);
  std::string error;
  std::vector<token> toks;
  for (;;) {
    auto t = lex.next(error);
    if (!t) return error;
    toks.push_back(*t);
    if (t->type == token::kind::end) break;
  }
  size_t i = 0;
  auto peek = [&]() -> const token& { return toks[i]; };
  auto is_kw = [&](const char* kw) { return peek().type == token::kind::word && upper(peek().text) == kw; };
  auto unexpected = [&]() {
    return std::string("unexpected token: '") + (peek().type == token::kind::end ? "<EOF>" : peek().text) + "'";
  };

  soql_query q;
  if (!is_kw("SELECT")) return unexpected();
  ++i;
  for (;;) {
    if (peek().type != token::kind::word || !valid_identifier(peek().text) || upper(peek().text) == "FROM")
      return unexpected();
    for (const auto& f : q.fields)
      if (upper(f) == upper(peek().text)) return "duplicate field selected: " + peek().text;
    q.fields.push_back(peek().text);
    ++i;
    if (peek().type == token::kind::symbol && peek().text == ",") {
      ++i;
      continue;
    }
    break;
  }
  if (!is_kw("FROM")) return unexpected();
  ++i;
  if (peek().type != token::kind::word || !valid_identifier(peek().text) ||
      peek().text.find('.') != std::string::npos)
    return unexpected();
  q.object = peek().text;
  ++i;

  auto literal = [&]() -> std::optional<soql_literal> {
    soql_literal l;
    const token& t = peek();
    if (t.type == token::kind::string) {
      l.type = soql_literal::kind::string;
      l.text = t.text;
    } else if (t.type == token::kind::word) {
      std::string u = upper(t.text);
      if (u == "TRUE" || u == "FALSE") {
        l.type = soql_literal::kind::boolean;
        l.boolean = u == "TRUE";
      } else if (u == "NULL") {
        l.type = soql_literal::kind::null;
      } else if (auto dt = parse_soql_datetime(t.text)) {
        l.type = soql_literal::kind::datetime;
        l.epoch_ms = *dt;
        l.text = t.text;
      } else if (auto d = parse_soql_date(t.text)) {
        l.type = soql_literal::kind::date;
        l.epoch_ms = *d;
        l.text = t.text;
      } else {
        // Plain decimal numbers only (strtod would also take inf, nan and hex).
        if (t.text.find_first_not_of("0123456789.eE+-") != std::string::npos) return std::nullopt;
        char* end = nullptr;
        double v = std::strtod(t.text.c_str(), &end);
        if (end == t.text.c_str() || *end != '\0') return std::nullopt;
        l.type = soql_literal::kind::number;
        l.number = v;
        l.text = t.text;
      }
    } else {
      return std::nullopt;
    }
    ++i;
    return l;
  };

  if (is_kw("WHERE")) {
    ++i;
    for (;;) {
      if (peek().type != token::kind::word || !valid_identifier(peek().text)) return unexpected();
      soql_condition c;
      c.field = peek().text;
      ++i;
      if (is_kw("IN")) {
        c.op = "IN";
        ++i;
        if (!(peek().type == token::kind::symbol && peek().text == "(")) return unexpected();
        ++i;
        for (;;) {
          auto l = literal();
          if (!l) return unexpected();
          c.values.push_back(*l);
          if (peek().type == token::kind::symbol && peek().text == ",") {
            ++i;
            continue;
          }
          break;
        }
        if (!(peek().type == token::kind::symbol && peek().text == ")")) return unexpected();
        ++i;
      } else {
        static const std::vector<std::string> ops = {"=", "!=", "<", "<=", ">", ">="};
        if (peek().type != token::kind::symbol || std::find(ops.begin(), ops.end(), peek().text) == ops.end())
          return unexpected();
        c.op = peek().text;
        ++i;
        auto l = literal();
        if (!l) return unexpected();
        c.values.push_back(*l);
      }
      q.where.push_back(std::move(c));
      if (is_kw("AND")) {
        ++i;
        continue;
      }
      break;
    }
  }
  if (is_kw("ORDER")) {
    ++i;
    if (!is_kw("BY")) return unexpected();
    ++i;
    for (;;) {
      if (peek().type != token::kind::word || !valid_identifier(peek().text)) return unexpected();
      soql_order o{peek().text, false};
      ++i;
      if (is_kw("ASC")) ++i;
      else if (is_kw("DESC")) {
        o.descending = true;
        ++i;
      }
      q.order_by.push_back(o);
      if (peek().type == token::kind::symbol && peek().text == ",") {
        ++i;
        continue;
      }
      break;
    }
  }
  if (is_kw("LIMIT")) {
    ++i;
    if (peek().type != token::kind::word) return unexpected();
    char* end = nullptr;
    long long v = std::strtoll(peek().text.c_str(), &end, 10);
    if (*end != '\0' || v < 0) return unexpected();
    q.limit = v;
    ++i;
  }
  if (peek().type != token::kind::end) return unexpected();
  return q;
}

}  // namespace omnisync::sim::salesforce
