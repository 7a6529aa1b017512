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

TEST_CASE("a secret's percent-encoded form and the pieces between URL delimiters are redacted too", "[redact]") {
  rollback::clear_secrets();
  rollback::register_secret("hunter2@prod");
  CHECK(rollback::redact("PostgreSQL at prod@127.0.0.1") == "PostgreSQL at ***@127.0.0.1");
  CHECK(rollback::redact("password hunter2") == "password ***");
  CHECK(rollback::redact("u:hunter2%40prod@h") == "u:***@h");
  rollback::register_secret("Pa\"ss\\wd/x<y>");
  CHECK(rollback::redact("invalid integer value \"Pa\"ss\\wd\" for port") == "invalid integer value \"***\" for port");
  rollback::register_secret("ab:cd");  // pieces under 4 bytes stay: they would hide ordinary words
  CHECK(rollback::redact("ab cd") == "ab cd");
  rollback::clear_secrets();
}
