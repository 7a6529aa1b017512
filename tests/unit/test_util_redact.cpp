#include <catch2/catch.hpp>

#include <rollback/plan/interpolate.hpp>
#include <rollback/util/redact.hpp>

using namespace rollback;

TEST_CASE("redact hides every occurrence of every registered secret, longest first", "[util][secrets]") {
  clear_secrets();
  register_secret("abcdef");
  register_secret("abcdefghi");  // contains the other: must be hidden whole, not as "***ghi"
  CHECK(redact("token=abcdefghi and abcdef, abcdefabcdef") == "token=*** and ***, ******");
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

TEST_CASE("a secret shorter than 6 characters is ignored: it would mangle ordinary words", "[util][secrets]") {
  clear_secrets();
  register_secret("e");
  register_secret("exit4");
  CHECK(redact("exit 4, exit4 and more") == "exit 4, exit4 and more");
  register_secret("exit-4");
  CHECK(redact("exit-4") == "***");
  clear_secrets();
}

TEST_CASE("the password of any URI is masked, declared or not", "[util][secrets]") {
  clear_secrets();
  CHECK(redact("postgresql://u:Hunter2Pw@host/db") == "postgresql://u:***@host/db");
  CHECK(redact("DATABASE_URL=postgres://app:PW@db:5432/app ok") == "DATABASE_URL=postgres://app:***@db:5432/app ok");
  CHECK(redact("see https://bob:pa55@example.com/x?y=1 and redis://:r3dis@cache:6379/0") ==
        "see https://bob:***@example.com/x?y=1 and redis://:***@cache:6379/0");
  CHECK(redact(R"({"url":"mysql://root:toor@h/d"})") == R"({"url":"mysql://root:***@h/d"})");
  // No password, no change: a user alone, a port, a path with '@'.
  CHECK(redact("ssh://git@github.com/x.git") == "ssh://git@github.com/x.git");
  CHECK(redact("http://host:8080/a@b") == "http://host:8080/a@b");
  CHECK(redact("https://example.com/") == "https://example.com/");
}

TEST_CASE("a percent-encoded or raw '@' in a URI password is masked whole", "[util][secrets]") {
  clear_secrets();
  CHECK(redact("postgresql://u:Hunter%402Pw%3A@host/db") == "postgresql://u:***@host/db");
  CHECK(redact("postgresql://u:Hun@ter@host/db") == "postgresql://u:***@host/db");
  CHECK(redact("postgresql://u%40corp:p%2Fw@host/db") == "postgresql://u%40corp:***@host/db");
}

TEST_CASE("the URI password is masked even when the query's password= comes first to the eye (issue 23)",
          "[util][secrets]") {
  clear_secrets();
  const std::string dsn = "postgresql://u:Hunter2Pw@host/db?sslmode=disable&password=QP";
  CHECK(redact(dsn) == "postgresql://u:***@host/db?sslmode=disable&password=***");
  // As JSON carries it, and twice in a line.
  CHECK(redact(R"({"vars":{"dsn":")" + dsn + R"("}})") ==
        R"({"vars":{"dsn":"postgresql://u:***@host/db?sslmode=disable&password=***"}})");
  CHECK(redact(dsn + " " + dsn).find("Hunter2Pw") == std::string::npos);
  CHECK(redact(redact(dsn)) == redact(dsn));
}

TEST_CASE("password= and sslpassword= values are masked in query strings and keyword DSNs", "[util][secrets]") {
  clear_secrets();
  CHECK(redact("host=db user=app password=s3cret dbname=app") == "host=db user=app password=*** dbname=app");
  CHECK(redact("host=db password='with space\\' x' port=5432") == "host=db password=*** port=5432");
  CHECK(redact("host=db sslpassword=keypass sslmode=verify-full") == "host=db sslpassword=*** sslmode=verify-full");
  CHECK(redact("?a=1&password=QP&b=2") == "?a=1&password=***&b=2");
  CHECK(redact("?a=1&sslpassword=KQ;x") == "?a=1&sslpassword=***;x");
  CHECK(redact("PASSWORD=Upper POSTGRES_PASSWORD=envpw") == "PASSWORD=*** POSTGRES_PASSWORD=***");
  CHECK(redact("the password is fine, mypassword=notakey") == "the password is fine, mypassword=notakey");
  CHECK(redact("password=") == "password=");
}
