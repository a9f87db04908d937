#include "daemon/segments/parser.hpp"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/time.hpp"

namespace omnisync::segments {
namespace {

enum class tok : std::uint8_t {
  end, name, number, duration, string, lparen, rparen, lbracket, rbracket, comma, colon, dot,
  eq, ne, lt, le, gt, ge, and_, or_, not_, bad
};

struct token {
  tok kind = tok::end;
  std::size_t offset = 0, length = 0;
  std::string text;  ///< name, or the unescaped string
  double number = 0;
  std::int64_t ms = 0;
};

struct syntax_error {
  expr_error e;
};

class lexer {
 public:
  explicit lexer(std::string_view s) : s_(s) {}

  token next() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    token t;
    t.offset = i_;
    if (i_ >= s_.size()) return t;
    const char c = s_[i_];
    auto one = [&](tok k, std::size_t n) {
      t.kind = k;
      t.length = n;
      i_ += n;
      return t;
    };
    auto at = [&](std::size_t k) { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; };
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t j = i_;
      while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '_')) ++j;
      t.kind = tok::name;
      t.text.assign(s_.substr(i_, j - i_));
      t.length = j - i_;
      i_ = j;
      return t;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return number(t);
    if (c == '"') return string(t);
    switch (c) {
      case '(': return one(tok::lparen, 1);
      case ')': return one(tok::rparen, 1);
      case '[': return one(tok::lbracket, 1);
      case ']': return one(tok::rbracket, 1);
      case ',': return one(tok::comma, 1);
      case ':': return one(tok::colon, 1);
      case '.': return one(tok::dot, 1);
      case '=': if (at(1) == '=') return one(tok::eq, 2); break;
      case '!': return at(1) == '=' ? one(tok::ne, 2) : one(tok::not_, 1);
      case '<': return at(1) == '=' ? one(tok::le, 2) : one(tok::lt, 1);
      case '>': return at(1) == '=' ? one(tok::ge, 2) : one(tok::gt, 1);
      case '&': if (at(1) == '&') return one(tok::and_, 2); break;
      case '|': if (at(1) == '|') return one(tok::or_, 2); break;
      default: break;
    }
    t.kind = tok::bad;
    t.length = 1;
    t.text = std::string(1, c);
    ++i_;
    return t;
  }

 private:
  token number(token t) {
    std::size_t j = i_;
    while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) ++j;
    if (j + 1 < s_.size() && s_[j] == '.' && std::isdigit(static_cast<unsigned char>(s_[j + 1]))) {
      ++j;
      while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) ++j;
    }
    const std::string digits(s_.substr(i_, j - i_));
    std::size_t u = j;
    while (u < s_.size() && std::isalpha(static_cast<unsigned char>(s_[u]))) ++u;
    const std::string_view unit = s_.substr(j, u - j);
    t.length = u - i_;
    i_ = u;
    t.number = std::strtod(digits.c_str(), nullptr);
    if (unit.empty()) {
      t.kind = tok::number;
      return t;
    }
    static const std::pair<std::string_view, std::int64_t> units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}, {"w", 7 * 86'400'000LL}};
    for (const auto& [name, factor] : units)
      if (unit == name && digits.find('.') == std::string::npos && digits.size() <= 9) {
        t.kind = tok::duration;
        t.ms = static_cast<std::int64_t>(t.number) * factor;
        return t;
      }
    t.kind = tok::bad;
    t.text = "unknown unit \"" + std::string(unit) + "\" (use ms, s, m, h, d or w)";
    return t;
  }

  token string(token t) {
    std::size_t j = i_ + 1;
    while (j < s_.size() && s_[j] != '"') {
      if (s_[j] == '\\' && j + 1 < s_.size()) {
        const char e = s_[j + 1];
        t.text.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
        j += 2;
        continue;
      }
      t.text.push_back(s_[j++]);
    }
    if (j >= s_.size()) {
      t.kind = tok::bad;
      t.length = j - i_;
      t.text = "unterminated string";
      i_ = j;
      return t;
    }
    t.kind = tok::string;
    t.length = j + 1 - i_;
    i_ = j + 1;
    return t;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

class parser {
 public:
  explicit parser(std::string_view s) : lex_(s), text_(s) { advance(); }

  node parse_all() {
    node n = parse_or();
    if (cur_.kind != tok::end) fail(cur_, "expected && or || or the end of the expression, got " + describe(cur_));
    return n;
  }

 private:
  [[noreturn]] void fail(const token& t, std::string message) { throw syntax_error{{t.offset, std::move(message)}}; }
  [[noreturn]] void fail(std::size_t offset, std::string message) { throw syntax_error{{offset, std::move(message)}}; }

  std::string describe(const token& t) const {
    if (t.kind == tok::end) return "the end of the expression";
    if (t.kind == tok::bad) return "\"" + std::string(text_.substr(t.offset, t.length)) + "\"";
    return "\"" + std::string(text_.substr(t.offset, t.length)) + "\"";
  }

  void advance() {
    cur_ = lex_.next();
    if (cur_.kind == tok::bad && cur_.text.size() > 1) fail(cur_, cur_.text);
  }
  bool is_name(std::string_view n) const { return cur_.kind == tok::name && cur_.text == n; }
  token expect(tok k, const char* what) {
    if (cur_.kind != k) fail(cur_, std::string("expected ") + what + ", got " + describe(cur_));
    token t = std::move(cur_);
    advance();
    return t;
  }

  struct depth_guard {
    explicit depth_guard(parser& p) : p_(p) {
      if (++p_.depth_ > max_depth) p_.fail(p_.cur_, "expression nested too deeply");
    }
    ~depth_guard() { --p_.depth_; }
    parser& p_;
  };

  static node make(node_kind k, std::size_t offset) {
    node n;
    n.kind = k;
    n.offset = offset;
    return n;
  }
  void close(node& n) const { n.length = last_end_ - n.offset; }

  node binary(node_kind k, node lhs, node rhs) {
    node n = make(k, lhs.offset);
    n.children.push_back(std::move(lhs));
    n.children.push_back(std::move(rhs));
    close(n);
    return n;
  }

  node parse_or() {
    depth_guard g(*this);
    node lhs = parse_and();
    while (cur_.kind == tok::or_) {
      take();
      lhs = binary(node_kind::logical_or, std::move(lhs), parse_and());
    }
    return lhs;
  }
  node parse_and() {
    node lhs = parse_not();
    while (cur_.kind == tok::and_) {
      take();
      lhs = binary(node_kind::logical_and, std::move(lhs), parse_not());
    }
    return lhs;
  }
  node parse_not() {
    if (cur_.kind == tok::not_) {
      depth_guard g(*this);
      node n = make(node_kind::logical_not, cur_.offset);
      take();
      n.children.push_back(parse_not());
      close(n);
      return n;
    }
    return parse_test();
  }

  /// Consumes the current token, remembering where it ended.
  token take() {
    last_end_ = cur_.offset + cur_.length;
    token t = std::move(cur_);
    advance();
    return t;
  }

  node parse_test() {
    node lhs = parse_operand();
    static const std::pair<tok, compare_op> ops[] = {{tok::eq, compare_op::eq}, {tok::ne, compare_op::ne},
                                                     {tok::lt, compare_op::lt}, {tok::le, compare_op::le},
                                                     {tok::gt, compare_op::gt}, {tok::ge, compare_op::ge}};
    for (const auto& [k, op] : ops)
      if (cur_.kind == k) {
        take();
        node n = binary(node_kind::compare, std::move(lhs), parse_operand());
        n.cmp = op;
        return n;
      }
    if (is_name("in")) {
      take();
      if (cur_.kind != tok::lbracket) fail(cur_, "expected a list [..] after in, got " + describe(cur_));
      return binary(node_kind::in, std::move(lhs), parse_operand());
    }
    static const std::pair<std::string_view, string_op> sops[] = {
        {"starts_with", string_op::starts_with}, {"ends_with", string_op::ends_with}, {"contains", string_op::contains}};
    for (const auto& [name, op] : sops)
      if (is_name(name)) {
        take();
        node n = binary(node_kind::string_test, std::move(lhs), parse_operand());
        n.sop = op;
        return n;
      }
    return lhs;
  }

  node parse_list() {
    node n = make(node_kind::list, cur_.offset);
    take();  // [
    if (cur_.kind != tok::rbracket) {
      for (;;) {
        n.children.push_back(parse_operand());
        if (cur_.kind != tok::comma) break;
        take();
      }
    }
    if (cur_.kind != tok::rbracket) fail(cur_, "expected , or ] in the list, got " + describe(cur_));
    take();
    close(n);
    return n;
  }

  node parse_operand() {
    depth_guard g(*this);
    const token& t = cur_;
    switch (t.kind) {
      case tok::number: {
        node n = make(node_kind::number, t.offset);
        n.number = t.number;
        take();
        close(n);
        return n;
      }
      case tok::duration: {
        node n = make(node_kind::duration, t.offset);
        n.ms = t.ms;
        take();
        close(n);
        return n;
      }
      case tok::string: {
        node n = make(node_kind::string, t.offset);
        n.text = t.text;
        take();
        close(n);
        return n;
      }
      case tok::lbracket: return parse_list();
      case tok::lparen: {
        take();
        node n = parse_or();
        expect(tok::rparen, ")");
        last_end_ = n.offset + n.length + 1;
        return n;
      }
      case tok::name: return parse_name();
      default: fail(t, "expected a value, a name or (, got " + describe(t));
    }
  }

  node parse_name() {
    const std::size_t start = cur_.offset;
    // (the token kept whole: GCC 12 took a string copied out of the temporary for maybe-uninitialized)
    const token name_tok = take();
    const std::string& first = name_tok.text;
    if (first == "true" || first == "false") {
      node n = make(node_kind::boolean, start);
      n.flag = first == "true";
      close(n);
      return n;
    }
    if (cur_.kind == tok::lparen) return parse_call(first, start);
    std::string path = first;
    while (cur_.kind == tok::dot) {
      take();
      if (cur_.kind != tok::name) fail(cur_, "expected a name after \".\", got " + describe(cur_));
      path += "." + take().text;
    }
    node n;
    if (first == "kpi" && path.size() > 4) {
      n = make(node_kind::kpi, start);
      n.text = path.substr(4);
    } else if (path == "stage") {
      n = make(node_kind::stage, start);
    } else if (first == "e" && path.size() > 2) {
      n = make(node_kind::event_field, start);
      n.text = path.substr(2);
    } else {
      n = make(node_kind::attribute, start);
      n.text = path;
    }
    close(n);
    return n;
  }

  node parse_call(const std::string& fn, std::size_t start) {
    take();  // (
    node n;
    if (fn == "count" || fn == "any" || fn == "none" || fn == "sum") {
      n = make(node_kind::aggregate, start);
      n.agg = fn == "count" ? aggregate_op::count : fn == "any" ? aggregate_op::any
              : fn == "none" ? aggregate_op::none : aggregate_op::sum;
      if (!is_name("events")) fail(cur_, fn + "() takes events first, got " + describe(cur_));
      take();
      if (n.agg == aggregate_op::sum) {
        expect(tok::comma, ", and the value to sum (e.amount)");
        n.children.push_back(parse_operand());
      }
      while (cur_.kind == tok::comma) {
        take();
        if (is_name("within") || is_name("between")) {
          parse_window(n);
          break;
        }
        if (n.has_predicate) fail(cur_, "expected within: or between:, got " + describe(cur_));
        n.children.push_back(parse_or());
        n.has_predicate = true;
      }
    } else if (fn == "days_since" || fn == "exists") {
      n = make(fn == "exists" ? node_kind::exists : node_kind::days_since, start);
      n.children.push_back(parse_operand());
    } else if (fn == "member_of") {
      n = make(node_kind::member_of, start);
      if (cur_.kind != tok::string) fail(cur_, "member_of takes a segment key in quotes, got " + describe(cur_));
      n.text = take().text;
    } else {
      fail(start, "unknown function \"" + fn + "\" (count, any, none, sum, days_since, exists, member_of)");
    }
    if (cur_.kind != tok::rparen) fail(cur_, "expected ) after the arguments of " + fn + ", got " + describe(cur_));
    take();
    close(n);
    return n;
  }

  std::int64_t window_bound(const token& t) {
    if (t.kind == tok::duration) return t.ms;
    if (t.kind == tok::string)
      if (auto ts = parse_iso8601(t.text)) return to_epoch_ms(*ts);
    fail(t, "expected a duration (30d) or an ISO 8601 date, got " + describe(t));
  }

  void parse_window(node& n) {
    const bool within = is_name("within");
    take();
    expect(tok::colon, ":");
    if (within) {
      const token d = cur_;
      if (d.kind != tok::duration || d.ms <= 0) fail(d, "within: takes a positive duration like 30d, got " + describe(d));
      take();
      n.window = window_kind::within;
      n.window_a = d.ms;
      return;
    }
    if (cur_.kind != tok::lbracket) fail(cur_, "between: takes [from, to], got " + describe(cur_));
    take();
    const token a = cur_;
    const std::int64_t va = window_bound(a);
    take();
    expect(tok::comma, ",");
    const token b = cur_;
    const std::int64_t vb = window_bound(b);
    take();
    expect(tok::rbracket, "]");
    if (a.kind != b.kind) fail(b, "between: takes two durations or two dates, not one of each");
    if (a.kind == tok::duration) {
      if (va <= vb) fail(a, "between: [a, b] with durations counts from a ago to b ago: a must be longer than b");
      n.window = window_kind::between_ago;
    } else {
      if (va >= vb) fail(a, "between: [a, b] with dates needs a before b");
      n.window = window_kind::between_dates;
    }
    n.window_a = va;
    n.window_b = vb;
  }

  lexer lex_;
  std::string_view text_;
  token cur_;
  std::size_t last_end_ = 0;
  int depth_ = 0;
};

}  // namespace

std::variant<node, expr_error> parse_expression(std::string_view text) {
  try {
    parser p(text);
    return p.parse_all();
  } catch (const syntax_error& e) {
    return e.e;
  }
}

const char* type_name(value_type t) noexcept {
  switch (t) {
    case value_type::boolean: return "boolean";
    case value_type::number: return "number";
    case value_type::string: return "string";
    case value_type::datetime: return "datetime";
    case value_type::string_list: return "string_list";
    case value_type::duration: return "duration";
    case value_type::list: return "list";
    case value_type::unknown: break;
  }
  return "unknown";
}

}  // namespace omnisync::segments
