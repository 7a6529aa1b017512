#include <catch2/catch.hpp>

#include <limits>

#include <rollback/util/comparison.hpp>

TEST_CASE("expectations compare numerically when both sides are numbers, else as text", "[util][comparison]") {
  auto ge1 = rollback::parse_comparison(">= 1");
  REQUIRE(ge1);
  CHECK(rollback::compare("1042", *ge1));
  CHECK_FALSE(rollback::compare("0", *ge1));
  CHECK(rollback::compare("10", *rollback::parse_comparison("> 9")));  // not "10" < "9" as text
  CHECK(rollback::compare("42.0", *rollback::parse_comparison("== 42")));
  CHECK(rollback::compare("ok", *rollback::parse_comparison("ok")));
  CHECK(rollback::compare("ok", *rollback::parse_comparison("!= failed")));
  CHECK_FALSE(rollback::compare("abc", *rollback::parse_comparison("== 42")));
  CHECK_FALSE(rollback::parse_comparison(">="));
  CHECK_FALSE(rollback::parse_comparison("  "));
}

TEST_CASE("a comparison says which way its value fails, for the incident log's worst value", "[util][comparison]") {
  CHECK(rollback::fails_when(*rollback::parse_comparison("<= 0.05")) == rollback::FailsWhen::Higher);
  CHECK(rollback::fails_when(*rollback::parse_comparison("< 10")) == rollback::FailsWhen::Higher);
  CHECK(rollback::fails_when(*rollback::parse_comparison(">= 1")) == rollback::FailsWhen::Lower);
  CHECK(rollback::fails_when(*rollback::parse_comparison("42")) == rollback::FailsWhen::Either);
  CHECK(rollback::compare(std::numeric_limits<double>::infinity(), *rollback::parse_comparison("> 10")));
  CHECK_FALSE(rollback::compare(0.5, *rollback::parse_comparison("> ok")));
}
