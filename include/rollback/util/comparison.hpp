// The one `expect` grammar that pg.query, http.probe's expect_count and prometheus.query
// share: ">= 1", "== 42", "!= ok", "< 3.5"; a bare value means "==". Two copies of it
// would drift, and a criterion would then read differently depending on its probe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <rollback/util/result.hpp>

namespace rollback {

struct Comparison {
  std::string op;  // ==, !=, <, <=, >, >=
  std::string operand;
};

// Fails (not transient) on an empty text or an operator without a value.
Result<Comparison> parse_comparison(std::string_view text);

// Numeric when both sides parse as numbers ("10" > "9"), else a string comparison.
bool compare(std::string_view observed, const Comparison& expected);

// A number held to `expected` (Prometheus' "+Inf" included); false when the operand is
// not a number.
bool compare(double observed, const Comparison& expected);

// Which way a value held to `expected` fails: "<= 0.05" fails when it rises, ">= 1" when
// it falls, "==" / "!=" either way. The incident log's "worst" follows it.
enum class FailsWhen { Either, Higher, Lower };
FailsWhen fails_when(const Comparison& expected);

}  // namespace rollback
