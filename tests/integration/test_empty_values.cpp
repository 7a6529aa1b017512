// An empty var that names something is never a default (shared/field-lessons.md 13): on the
// real engine, `--var project=` or `--var container_filter=` stops the shipped plans at
// preflight with exit 4, naming the var, with the stack untouched; a dry run refuses too.
#include <catch2/catch.hpp>

#include "docker_stack.hpp"

using dockertest::Stack;

TEST_CASE("an empty project or container filter stops quick and emergency before anything runs, naming the var",
          "[docker][e2e][empty]") {
  Stack s;
  s.up_and_seed();
  REQUIRE(s.rollback("backup").exit_code == 0);
  REQUIRE(s.rollback("backup", {"--var", "backup_name=emergency-stable"}).exit_code == 0);
  s.break_it();
  auto broken = s.state();

  auto quick = s.rollback("quick", {"--target", "latest", "--yes", "--var", "project="});
  CHECK(quick.exit_code == 4);
  CHECK_THAT(quick.err, Catch::Contains("with.project: is empty (from ${project})"));
  auto dry = s.rollback("quick", {"--target", "latest", "--dry-run", "--var", "project="});
  CHECK(dry.exit_code == 4);
  CHECK_THAT(dry.err, Catch::Contains("with.project: is empty (from ${project})"));
  auto blank = s.rollback("emergency", {"--yes", "--var", "container_filter=  "});
  CHECK(blank.exit_code == 4);
  CHECK_THAT(blank.err, Catch::Contains("with.filter: is blank (from ${container_filter})"));
  auto no_url = s.rollback("quick", {"--target", "latest", "--dry-run", "--var", "health_url="});
  CHECK(no_url.exit_code == 4);
  CHECK_THAT(no_url.err, Catch::Contains("with.url: is empty (from ${health_url})"));
  CHECK_THAT(no_url.out + no_url.err, !Catch::Contains("the rollback ran"));

  CHECK(s.state() == broken);  // nothing was stopped, restored or started
  CHECK(s.running("api"));
  CHECK(s.running("store"));
}
