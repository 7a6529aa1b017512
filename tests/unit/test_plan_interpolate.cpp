#include <catch2/catch.hpp>

#include <cstdlib>

#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/loader.hpp>
#include <rollback/util/redact.hpp>

#include "support/temp_dir.hpp"

using namespace rollback;
using namespace rollback::plan;

TEST_CASE("interpolation substitutes vars, env, secrets and builtins", "[plan]") {
  ::setenv("ROLLBACK_TEST_HOME", "/home/ops", 1);
  Scope scope;
  scope.set_var("backups", "/backups");
  scope.set_secret("token", "tok-123");
  scope.set_builtin("run.id", "r1");
  auto text =
      interpolate("${backups}/${run.id} ${env.ROLLBACK_TEST_HOME} ${ secrets.token }", scope);
  REQUIRE(text);
  CHECK(*text == "/backups/r1 /home/ops tok-123");
  clear_secrets();
}

TEST_CASE("substituted values are never expanded again", "[plan]") {
  Scope scope;
  scope.set_var("x", "expanded");
  scope.set_var("template", "${x}");
  scope.set_secret("odd", "p${x}ss");
  auto text = interpolate("${template} ${secrets.odd}", scope);
  REQUIRE(text);
  CHECK(*text == "${x} p${x}ss");
  clear_secrets();
}

TEST_CASE("$${ writes a literal ${ and a lone $ stays as it is", "[plan]") {
  Scope scope;
  scope.set_var("a", "1");
  auto text = interpolate("cost $5, $${a} is ${a}", scope);
  REQUIRE(text);
  CHECK(*text == "cost $5, ${a} is 1");
}

TEST_CASE("an undefined var or unset environment variable is an error naming it", "[plan]") {
  ::unsetenv("ROLLBACK_TEST_UNSET");
  Scope scope;
  auto undefined = interpolate("${nope}/x", scope);
  REQUIRE_FALSE(undefined);
  CHECK(undefined.error().message == "undefined variable ${nope}");
  auto unset = interpolate("${env.ROLLBACK_TEST_UNSET}", scope);
  REQUIRE_FALSE(unset);
  CHECK(unset.error().message ==
        "environment variable ROLLBACK_TEST_UNSET is not set (${env.ROLLBACK_TEST_UNSET})");
  CHECK_FALSE(interpolate("${open", scope));
}

TEST_CASE("reference scanning gives names and offsets and stops at an unclosed ${", "[plan]") {
  auto scan = scan_references("a ${x} $${y} ${ env.Z }${w");
  REQUIRE(scan.refs.size() == 2);
  CHECK(scan.refs[0].name == "x");
  CHECK(scan.refs[0].offset == 2);
  CHECK(scan.refs[1].name == "env.Z");
  CHECK(scan.refs[1].offset == 13);
  CHECK(scan.error == "unclosed \"${\"");
  CHECK(scan.error_offset == 23);
  CHECK(references("${a}${b}") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("truthy accepts the usual spellings of yes", "[plan]") {
  for (const char* yes : {"true", "Yes", "1", "on", "anything"}) CHECK(truthy(yes));
  for (const char* no : {"", "false", "NO", "0", "off", " "}) CHECK_FALSE(truthy(no));
}

TEST_CASE("plans are found by name in the plans dir or taken as a path", "[plan]") {
  testing::TempDir tmp;
  testing::write_text(tmp / "plans" / "full.yaml", "version: 1\n");
  testing::write_text(tmp / "plans" / "quick.yml", "version: 1\n");
  testing::write_text(tmp / "plans" / "notes.txt", "");
  auto plans = tmp / "plans";
  CHECK(list_plan_files(plans) ==
        std::vector<std::filesystem::path>{plans / "full.yaml", plans / "quick.yml"});
  CHECK(find_plan("full", plans) == plans / "full.yaml");
  CHECK(find_plan("quick", plans) == plans / "quick.yml");
  auto path = (tmp / "plans" / "full.yaml").string();
  CHECK(find_plan(path, "/elsewhere") == std::filesystem::path(path));
  auto missing = find_plan("fulll", plans);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message ==
        "no plan 'fulll' in " + plans.string() + " (did you mean 'full'?); available: full, quick");
  CHECK_FALSE(find_plan("./nope.yaml", plans));
}

TEST_CASE("along a search path the first dir holding a plan wins, and listing shows each name once", "[plan]") {
  testing::TempDir tmp;
  auto etc = tmp / "etc", share = tmp / "share", none = tmp / "none";
  testing::write_text(etc / "quick.yaml", "version: 1\n");   // the site's own quick
  testing::write_text(share / "quick.yaml", "version: 1\n");
  testing::write_text(share / "full.yaml", "version: 1\n");
  std::vector<std::filesystem::path> search{none, etc, share};
  CHECK(find_plan("quick", search) == etc / "quick.yaml");
  CHECK(find_plan("full", search) == share / "full.yaml");
  CHECK(list_plan_files(search) == std::vector<std::filesystem::path>{share / "full.yaml", etc / "quick.yaml"});
  auto missing = find_plan("ful", search);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("(did you mean 'full'?); available: full, quick") &&
                                          Catch::Contains(etc.string() + ", " + share.string()));
  auto nowhere = find_plan("full", std::vector<std::filesystem::path>{none, tmp / "none2"});
  REQUIRE_FALSE(nowhere);
  CHECK_THAT(nowhere.error().message, Catch::Contains("none of the plan dirs exists"));
}

TEST_CASE("a secret in a URL's user:password part is percent-encoded, elsewhere it stays as it is", "[plan]") {
  Scope scope;
  scope.set_secret("pw", "hunter2@prod/x");
  scope.set_secret("hook", "T0/B0/XYZ");
  CHECK(interpolate("postgresql://postgres:${secrets.pw}@127.0.0.1:5432/app", scope) ==
        "postgresql://postgres:hunter2%40prod%2Fx@127.0.0.1:5432/app");
  CHECK(interpolate("https://hooks.example/services/${secrets.hook}", scope) == "https://hooks.example/services/T0/B0/XYZ");
  CHECK(interpolate("password=${secrets.pw}", scope) == "password=hunter2@prod/x");
  rollback::clear_secrets();
}
