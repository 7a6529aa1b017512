#include <catch2/catch.hpp>

#include <cstdlib>

#include <rollback/plan/loader.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/plan/vars.hpp>
#include <rollback/util/redact.hpp>

#include "plan_fake_registry.hpp"
#include "support/temp_dir.hpp"

using namespace rollback;
using namespace rollback::plan;

namespace {

Plan load(const std::string& text) {
  auto result = load_plan_text(text, "full.yaml", testing::plan_test_registry());
  for (const auto& d : result.diagnostics) UNSCOPED_INFO(d.str());
  REQUIRE(result.plan);
  return *result.plan;
}

const char* kVarsPlan = R"(version: 1
name: full
vars:
  dump: ${backups}/db-${run.id}.sql
  backups: /backups
  restore_from: ${target.path}/db.sql
  note: ${restore_from} (${target.name})
steps: [{id: s, action: wait.sleep, with: {duration: 1s}}]
)";

}  // namespace

TEST_CASE("vars are bound in dependency order, not file order", "[plan]") {
  Plan plan = load(kVarsPlan);
  Scope scope;
  scope.set_builtin("run.id", "20250127-180000-ab12");
  REQUIRE(bind_vars(plan, scope, {}));
  CHECK(scope.lookup("dump") == "/backups/db-20250127-180000-ab12.sql");
}

TEST_CASE("an override replaces a var before the vars that use it are bound", "[plan]") {
  Plan plan = load(kVarsPlan);
  Scope scope;
  scope.set_builtin("run.id", "r1");
  REQUIRE(bind_vars(plan, scope, {{"backups", "/mnt/prod-backups"}}));
  CHECK(scope.lookup("backups") == "/mnt/prod-backups");
  CHECK(scope.lookup("dump") == "/mnt/prod-backups/db-r1.sql");
}

TEST_CASE("vars that use the target are bound once the target is known", "[plan]") {
  Plan plan = load(kVarsPlan);
  Scope scope;
  scope.set_builtin("run.id", "r1");
  REQUIRE(bind_vars(plan, scope, {}));
  CHECK_FALSE(scope.lookup("restore_from"));
  CHECK_FALSE(scope.lookup("note"));
  Target target;
  target.name = "staging-1";
  target.path = "/backups/staging-1";
  bind_target(scope, target);
  REQUIRE(bind_vars(plan, scope, {}));
  CHECK(scope.lookup("note") == "/backups/staging-1/db.sql (staging-1)");
}

TEST_CASE(
    "an override of an undeclared var is refused with a did-you-mean, never showing "
    "the value",
    "[plan]") {
  Plan plan = load(kVarsPlan);
  Scope scope;
  auto bound = bind_vars(plan, scope, {{"bakups", "/secret/place"}});
  REQUIRE_FALSE(bound);
  CHECK(bound.error().message ==
        "--var bakups=...: plan 'full' has no var 'bakups' (did you mean 'backups'?)");
}

TEST_CASE("a var whose environment variable is unset fails naming the var and its place",
          "[plan]") {
  Plan plan = load(R"(version: 1
name: full
vars:
  home: ${env.ROLLBACK_TEST_SURELY_UNSET}/x
steps: [{id: s, action: wait.sleep, with: {duration: 1s}}]
)");
  ::unsetenv("ROLLBACK_TEST_SURELY_UNSET");
  Scope scope;
  auto bound = bind_vars(plan, scope, {});
  REQUIRE_FALSE(bound);
  CHECK(bound.error().message ==
        "full.yaml:4:9: vars.home: environment variable ROLLBACK_TEST_SURELY_UNSET is not set "
        "(${env.ROLLBACK_TEST_SURELY_UNSET})");
}

TEST_CASE("secrets come from the environment or a file, and are registered for redaction",
          "[plan]") {
  testing::TempDir tmp;
  testing::write_text(tmp / "token", "s3cr3t-from-file\n");
  ::setenv("ROLLBACK_TEST_PGPASS", "pg-pass-from-env", 1);
  ::setenv("ROLLBACK_TEST_SECRETS_DIR", tmp.path().c_str(), 1);
  Plan plan = load(R"(version: 1
name: full
secrets:
  pg: {env: ROLLBACK_TEST_PGPASS}
  token: {file: "${env.ROLLBACK_TEST_SECRETS_DIR}/token"}
steps: [{id: s, action: wait.sleep, with: {duration: 1s}}]
)");
  Scope scope;
  REQUIRE(load_secrets(plan, scope));
  CHECK(scope.lookup("secrets.pg") == "pg-pass-from-env");
  CHECK(scope.lookup("secrets.token") == "s3cr3t-from-file");  // one trailing newline stripped
  CHECK(redact("token=s3cr3t-from-file pg=pg-pass-from-env") == "token=*** pg=***");
  clear_secrets();
}

TEST_CASE("a missing secret names the secret and its source, every one of them", "[plan]") {
  ::unsetenv("ROLLBACK_TEST_NO_SUCH");
  Plan plan = load(R"(version: 1
name: full
secrets:
  api: {env: ROLLBACK_TEST_NO_SUCH}
  key: {file: /nonexistent/key}
steps: [{id: s, action: wait.sleep, with: {duration: 1s}}]
)");
  Scope scope;
  auto loaded = load_secrets(plan, scope);
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().message.starts_with(
      "secret 'api': environment variable ROLLBACK_TEST_NO_SUCH is not set\n"
      "secret 'key': cannot open /nonexistent/key"));
}

TEST_CASE("a --vars file is a YAML map of scalars, mistakes name file:line:col", "[plan]") {
  testing::TempDir tmp;
  testing::write_text(tmp / "prod.yaml", "backups: /mnt/prod\nreplicas: 3\nempty:\n");
  auto vars = load_vars_file(tmp / "prod.yaml");
  REQUIRE(vars);
  CHECK(*vars == std::map<std::string, std::string>{
                     {"backups", "/mnt/prod"}, {"replicas", "3"}, {"empty", ""}});

  testing::write_text(tmp / "bad.yaml", "backups: /mnt/prod\nservices: [api, db]\n");
  auto bad = load_vars_file(tmp / "bad.yaml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message ==
        (tmp / "bad.yaml").string() + ":2:11: services: expected a text value, got a list");

  testing::write_text(tmp / "broken.yaml", "backups: [unclosed\n");
  auto broken = load_vars_file(tmp / "broken.yaml");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().message.starts_with((tmp / "broken.yaml").string() +
                                           ":2:1: YAML syntax error"));
}

TEST_CASE("a --var KEY=VALUE splits at the first '='", "[plan]") {
  std::map<std::string, std::string> vars;
  REQUIRE(parse_var_override("dsn=host=db port=5432", vars));
  CHECK(vars["dsn"] == "host=db port=5432");
  CHECK_FALSE(parse_var_override("novalue", vars));
  CHECK_FALSE(parse_var_override("=x", vars));
}

TEST_CASE("a secret shorter than 6 characters is refused at its declaration, with why, and never registered",
          "[plan][secrets]") {
  clear_secrets();
  ::setenv("ROLLBACK_TEST_SHORT_SECRET", "x", 1);
  ::setenv("ROLLBACK_TEST_LONG_SECRET", "long-enough-1", 1);
  Plan plan = load(R"(version: 1
name: full
secrets:
  ok: {env: ROLLBACK_TEST_LONG_SECRET}
  tiny: {env: ROLLBACK_TEST_SHORT_SECRET}
steps: [{id: s, action: wait.sleep, with: {duration: 1s}}]
)");
  Scope scope;
  auto loaded = load_secrets(plan, scope);
  REQUIRE_FALSE(loaded);
  const auto& message = loaded.error().message;
  CHECK(message.starts_with("full.yaml:5:3: secret 'tiny': its value (environment variable "
                            "ROLLBACK_TEST_SHORT_SECRET) is shorter than 6 characters"));
  CHECK(message.find("mangle") != std::string::npos);
  CHECK(message.find("'ok'") == std::string::npos);  // only the short one is named
  CHECK(redact("exit 4") == "exit 4");               // the one-letter value was never registered
  ::unsetenv("ROLLBACK_TEST_SHORT_SECRET");
  ::unsetenv("ROLLBACK_TEST_LONG_SECRET");
  clear_secrets();
}
