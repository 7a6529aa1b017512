#include <catch2/catch.hpp>

#include "support/action_harness.hpp"
#include "support/temp_dir.hpp"

#include <rollback/util/redact.hpp>

TEST_CASE("exec.run passes argv untouched, with env and cwd, and captures into a var", "[actions][exec]") {
  testing::TempDir dir;
  testing::ActionHarness h;
  auto done = h.run("exec.run", {{"argv", {"sh", "-c", "printf '%s|%s|' \"$1\" \"$GREETING\"; pwd", "sh", "a b; rm -rf /"}},
                                 {"env", {{"GREETING", "hola"}}},
                                 {"cwd", dir.path().string()},
                                 {"into", "out"}});
  REQUIRE(done.ok);
  CHECK(h.vars["out"] == "a b; rm -rf /|hola|" + dir.path().string());
}

TEST_CASE("exec.run fails on an unexpected exit code and names it", "[actions][exec]") {
  testing::ActionHarness h;
  auto done = h.run("exec.run", {{"argv", {"sh", "-c", "echo boom >&2; exit 3"}}});
  CHECK_FALSE(done.ok);
  CHECK_THAT(done.message, Catch::Contains("exit 3") && Catch::Contains("expected exit 0"));
  CHECK_THAT(done.log_excerpt, Catch::Contains("boom"));
  CHECK(h.run("exec.run", {{"argv", {"sh", "-c", "exit 3"}}, {"expect_exit", 3}}).ok);
}

TEST_CASE("exec.run keeps a registered secret out of its failure message and excerpt", "[actions][exec][secrets]") {
  rollback::register_secret("s3cr3t-token-value");
  testing::ActionHarness h;
  auto done = h.run("exec.run", {{"argv", {"sh", "-c", "echo token=$1 >&2; exit 1", "sh", "s3cr3t-token-value"}}});
  CHECK_FALSE(done.ok);
  CHECK_THAT(done.message, !Catch::Contains("s3cr3t-token-value"));
  CHECK_THAT(done.log_excerpt, !Catch::Contains("s3cr3t-token-value"));
  CHECK_THAT(done.log_excerpt, Catch::Contains("token=***"));
  rollback::clear_secrets();
}
