#pragma once
/// The segment expression language's parser: a hand-written lexer and recursive-descent parser from the text of
/// a segment's `where:` to an untyped syntax tree (ast.hpp). Names are not resolved here (check.hpp does that).
///
///   or      := and ('||' and)*
///   and     := not ('&&' not)*
///   not     := '!' not | test
///   test    := operand [ ('=='|'!='|'<'|'<='|'>'|'>=') operand | 'in' list
///                      | ('starts_with'|'ends_with'|'contains') operand ]
///   operand := literal | list | '(' or ')' | call | name ('.' name)*
///   call    := ('count'|'any'|'none') '(' 'events' [',' or] [',' window] ')'
///            | 'sum' '(' 'events' ',' operand [',' or] [',' window] ')'
///            | 'days_since' '(' operand ')' | 'exists' '(' operand ')' | 'member_of' '(' string ')'
///   window  := 'within' ':' duration | 'between' ':' '[' (duration|string) ',' (duration|string) ']'
///
/// Pure function, thread-safe. Never throws on any input; nesting deeper than `max_depth` is an error.
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "daemon/segments/ast.hpp"

namespace omnisync::segments {

/// A problem at a place in the expression text.
struct expr_error {
  std::size_t offset = 0;  ///< byte offset in the expression
  std::string message;
};

inline constexpr int max_depth = 64;

/// The tree, or the first syntax error.
std::variant<node, expr_error> parse_expression(std::string_view text);

}  // namespace omnisync::segments
