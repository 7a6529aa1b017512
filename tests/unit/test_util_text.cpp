#include <catch2/catch.hpp>

#include <rollback/util/text.hpp>

using namespace rollback;

TEST_CASE("did-you-mean suggests only close names", "[util]") {
  std::vector<std::string> keys = {"steps", "vars", "secrets", "target", "version"};
  CHECK(did_you_mean("stpes", keys) == "steps");  // a transposition is one edit
  CHECK(did_you_mean("secret", keys) == "secrets");
  CHECK(did_you_mean("verison", keys) == "version");
  CHECK(did_you_mean("xyz", keys) == "");
  CHECK(did_you_mean("monitoring", keys) == "");
}

TEST_CASE("trim removes surrounding whitespace of every kind and keeps the inside", "[util]") {
  CHECK(trim("  a b \t\r\n") == "a b");
  CHECK(trim("") == "");
  CHECK(trim(" \n ") == "");
  CHECK(nonempty_lines("a\n\n  b  \n\n") == std::vector<std::string>{"a", "b"});
}
