// `parallel:` groups and `target.keep` in the loader (the broken forms are in the bad-plan
// corpus, tests/fixtures/plans/bad/5x-*.yaml, with their exact diagnostics).
#include <catch2/catch.hpp>

#include <rollback/plan/loader.hpp>

#include "plan_fake_registry.hpp"

using namespace rollback;
using namespace rollback::plan;

namespace {

LoadResult load(const std::string& text) { return load_plan_text(text, "p.yaml", testing::plan_test_registry()); }

std::vector<std::string> errors(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& d : load(text).diagnostics) out.push_back(d.str());
  return out;
}

}  // namespace

TEST_CASE("a parallel group's members load side by side in plan order, sharing the group's id and name", "[plan][parallel]") {
  auto loaded = load(R"(version: 1
name: p
steps:
  - id: before
    action: wait.sleep
    with: {duration: 1s}
  - id: volumes
    name: Restore the volumes
    parallel:
      - id: db
        action: fs.latest
        with: {glob: "/b/*.dump", into: dump}
      - id: cache
        action: wait.sleep
        with: {duration: 1s}
  - parallel:
      - id: alone
        action: wait.sleep
        with: {duration: 1s}
  - id: after
    action: exec.run
    with: {argv: [echo, "${dump}"]}
)");
  INFO(loaded.diagnostics.size());
  REQUIRE(loaded.plan);
  const auto& steps = loaded.plan->steps;
  REQUIRE(steps.size() == 5);
  CHECK(steps[0].group.empty());
  CHECK(steps[1].id == "db");
  CHECK(steps[1].group == "volumes");
  CHECK(steps[1].group_name == "Restore the volumes");
  CHECK(steps[2].group == "volumes");
  CHECK(steps[3].group == "parallel-2");  // no id: numbered among the plan's groups
  CHECK(steps[3].group_name.empty());
  CHECK(loaded.plan->block_end(0) == 1);
  CHECK(loaded.plan->block_end(1) == 3);
  CHECK(loaded.plan->block_end(3) == 4);
  CHECK(loaded.plan->block_end(4) == 5);
}

TEST_CASE("a member may use what a step before its group set, and steps after the group what members set",
          "[plan][parallel]") {
  CHECK(errors(R"(version: 1
name: p
steps:
  - id: find
    action: fs.latest
    with: {glob: "/b/*", into: found}
  - parallel:
      - id: use
        action: exec.run
        with: {argv: [echo, "${found}"]}
      - id: again
        action: fs.latest
        with: {glob: "/b/*", into: second}
  - id: later
    action: exec.run
    when: second
    with: {argv: [echo, "${second}"]}
)")
            .empty());
}

TEST_CASE("a group's id shares the step ids' namespace", "[plan][parallel]") {
  auto found = errors(R"(version: 1
name: p
steps:
  - id: volumes
    action: wait.sleep
    with: {duration: 1s}
  - id: volumes
    parallel:
      - id: a
        action: wait.sleep
        with: {duration: 1s}
)");
  CHECK(found == std::vector<std::string>{"p.yaml:7:9: duplicate step id 'volumes' (first defined at line 4)"});
}

TEST_CASE("target.keep loads for a backup plan and must be at least 1", "[plan][retention]") {
  auto loaded = load(R"(version: 1
name: backup
kind: backup
target: {from: dir, dir: /backups, glob: "staging-*", keep: 7}
steps:
  - id: a
    action: wait.sleep
    with: {duration: 1s}
)");
  REQUIRE(loaded.plan);
  CHECK(loaded.plan->target.keep == 7);
  CHECK_FALSE(errors(R"(version: 1
name: backup
kind: backup
target: {from: git, with: {repo: /r}, keep: 3}
steps:
  - id: a
    action: wait.sleep
    with: {duration: 1s}
)")
                  .empty());
}
