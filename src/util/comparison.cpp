// `expect` comparisons: see rollback/util/comparison.hpp.
#include <rollback/util/comparison.hpp>

#include <fmt/format.h>

#include <rollback/util/text.hpp>

namespace rollback {

Result<Comparison> parse_comparison(std::string_view text) {
  auto t = trim(text);
  static const char* ops[] = {"==", "!=", "<=", ">=", "<", ">", "="};
  for (const char* op : ops) {
    if (t.starts_with(op)) {
      auto operand = trim(std::string_view(t).substr(std::string_view(op).size()));
      if (operand.empty())
        return fail(fmt::format("expectation '{}' has no value after '{}'", t, op));
      return Comparison{std::string(op) == "=" ? "==" : op, operand};
    }
  }
  if (t.empty()) return fail("empty expectation (write e.g. \">= 1\" or \"== 42\")");
  return Comparison{"==", t};
}

namespace {

bool holds(int order, const std::string& op) {
  if (op == "==") return order == 0;
  if (op == "!=") return order != 0;
  if (op == "<") return order < 0;
  if (op == "<=") return order <= 0;
  if (op == ">") return order > 0;
  return order >= 0;  // ">="
}

int order_of(double a, double b) {
  return a < b ? -1 : (a > b ? 1 : 0);
}

}  // namespace

bool compare(std::string_view observed, const Comparison& expected) {
  auto a = parse_number(observed);
  auto b = parse_number(expected.operand);
  if (a && b) return holds(order_of(*a, *b), expected.op);
  int c = trim(observed).compare(expected.operand);
  return holds(c < 0 ? -1 : (c > 0 ? 1 : 0), expected.op);
}

bool compare(double observed, const Comparison& expected) {
  auto b = parse_number(expected.operand);
  return b && holds(order_of(observed, *b), expected.op);
}

FailsWhen fails_when(const Comparison& expected) {
  if (expected.op.starts_with('<')) return FailsWhen::Higher;
  if (expected.op.starts_with('>')) return FailsWhen::Lower;
  return FailsWhen::Either;
}

}  // namespace rollback
