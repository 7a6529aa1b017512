#include <catch2/catch.hpp>

#include <rollback/plan/interpolate.hpp>
#include <rollback/util/redact.hpp>

using namespace rollback;

TEST_CASE("redact hides every occurrence of every registered secret, longest first", "[util][secrets]") {
  clear_secrets();
  register_secret("abc");
  register_secret("abcdef");  // contains the other: must be hidden whole, not as "***def"
  CHECK(redact("token=abcdef and abc, abcabc") == "token=*** and ***, ******");
  clear_secrets();
}

TEST_CASE("an empty secret is ignored instead of matching everywhere", "[util][secrets]") {
  clear_secrets();
  register_secret("");
  CHECK(redact("nothing to hide") == "nothing to hide");
}

TEST_CASE("a secret read into a scope is redacted and its ${...} text is never expanded", "[util][secrets]") {
  clear_secrets();
  plan::Scope scope;
  scope.set_var("x", "EXPANDED");
  scope.set_secret("token", "p4ss${x}word");
  auto text = plan::interpolate("Bearer ${secrets.token}", scope);
  REQUIRE(text);
  CHECK(*text == "Bearer p4ss${x}word");  // one pass: the secret's own ${x} stays literal
  CHECK(redact(*text) == "Bearer ***");
  clear_secrets();
}
