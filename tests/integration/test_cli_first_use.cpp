// What a newcomer types first: `rollback --version` and `rollback` alone.
#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"

TEST_CASE("rollback --version prints what rollback version prints (version, commit, libraries) and exits 0",
          "[cli]") {
  auto flag = testing::run_rollback({"--version"});
  auto command = testing::run_rollback({"version"});
  INFO(flag.out << flag.err);
  CHECK(flag.exit_code == 0);
  CHECK(command.exit_code == 0);
  CHECK(flag.out == command.out);
  CHECK(flag.err.empty());
  CHECK_THAT(flag.out, Catch::StartsWith("rollback ") && Catch::Contains("(commit ") && Catch::Contains("libzstd ") &&
                           Catch::Contains("libcurl ") && Catch::Contains("libpq "));
  auto json = testing::run_rollback({"--version", "--json"});
  CHECK(json.exit_code == 0);
  CHECK_THAT(json.out, Catch::Contains("\"commit\"") && Catch::Contains("\"libzstd\""));
}

TEST_CASE("rollback with no arguments says where to start (the demo, list, targets, the docs) and exits 2", "[cli]") {
  auto r = testing::run_rollback({});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.out, Catch::Contains("scripts/demo") && Catch::Contains("rollback list") &&
                        Catch::Contains("rollback targets PLAN") && Catch::Contains("man rollback") &&
                        Catch::Contains("docs/"));
  CHECK(r.out.size() < 1200);  // short: a start, not the whole --help
}
