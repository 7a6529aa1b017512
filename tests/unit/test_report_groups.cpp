// A parallel group in the report: one block of its phase with its wall time, each member under
// it with its own time; the JSON twin lists the groups. And the retention section of a backup.
#include <catch2/catch.hpp>

#include <rollback/report/report.hpp>

using rollback::Millis;
using rollback::engine::RunRecord;
using rollback::engine::StepRecord;
using rollback::engine::StepStatus;
using rollback::plan::Phase;

namespace {

StepRecord member(std::string id, StepStatus status, int start_ms, int took_ms, std::string group = "volumes") {
  static const auto t0 = std::chrono::system_clock::now();
  StepRecord s;
  s.id = id;
  s.name = "Restore " + id;
  s.phase = Phase::Restore;
  s.status = status;
  s.group = std::move(group);
  s.group_name = s.group.empty() ? "" : "the volumes";
  s.started = t0 + std::chrono::milliseconds(start_ms);
  s.ended = *s.started + std::chrono::milliseconds(took_ms);
  s.duration = Millis(took_ms);
  return s;
}

RunRecord with_group(StepStatus db, StepStatus cache, std::string lang = "en") {
  RunRecord r;
  r.run_id = "20250127-180000-quick-3f2a";
  r.plan_name = "quick";
  r.report.lang = std::move(lang);
  r.started = std::chrono::system_clock::now();
  r.ended = r.started + std::chrono::seconds(5);
  r.steps = {member("compose", StepStatus::Ok, 0, 100, ""), member("db", db, 100, 2300), member("cache", cache, 110, 800)};
  return r;
}

}  // namespace

TEST_CASE("the report shows a parallel group as one block with its wall time and each member's time", "[report][parallel]") {
  auto md = rollback::report::render_markdown(with_group(StepStatus::Ok, StepStatus::Ok));
  CHECK_THAT(md, Catch::Contains("- [x] Restore compose (`compose`): **ok**, 100ms\n"
                                 "- [x] In parallel: the volumes (`volumes`): **ok**, 2.3s\n"
                                 "  - [x] Restore db (`db`): **ok**, 2.3s\n"
                                 "  - [x] Restore cache (`cache`): **ok**, 800ms\n"));
}

TEST_CASE("a group with a failed member is shown failed, its finished sibling ok", "[report][parallel]") {
  auto r = with_group(StepStatus::Failed, StepStatus::Ok, "es");
  r.steps[1].message = "tar: exit 2";
  auto md = rollback::report::render_markdown(r);
  CHECK_THAT(md, Catch::Contains("- [ ] En paralelo: the volumes (`volumes`): **FALLÓ**, 2.3s\n"
                                 "  - [ ] Restore db (`db`): **FALLÓ**, 2.3s: tar: exit 2\n"
                                 "  - [x] Restore cache (`cache`): **ok**, 800ms\n"));
}

TEST_CASE("report.json lists each group with its members, status and wall time", "[report][parallel]") {
  auto j = rollback::report::render_json(with_group(StepStatus::Ok, StepStatus::Interrupted));
  REQUIRE(j["groups"].size() == 1);
  const auto& g = j["groups"][0];
  CHECK(g["id"] == "volumes");
  CHECK(g["name"] == "the volumes");
  CHECK(g["status"] == "interrupted");
  CHECK(g["duration_ms"] == 2300);
  CHECK(g["steps"] == nlohmann::json::array({"db", "cache"}));
  CHECK(j["steps"][1]["group"] == "volumes");
  CHECK(j["steps"][0]["group"].is_null());
}

TEST_CASE("a backup's report says what retention pruned and what it kept beyond the limit", "[report][retention]") {
  auto r = with_group(StepStatus::Ok, StepStatus::Ok);
  r.extra["retention"] = {{"keep", 2},
                          {"dir", "/backups"},
                          {"glob", "staging-*"},
                          {"pruned", {"staging-1", "staging-2"}},
                          {"kept_beyond", {{{"name", "staging-0"}, {"why", "named_by_run"}}}},
                          {"problems", nlohmann::json::array()}};
  auto md = rollback::report::render_markdown(r);
  CHECK_THAT(md, Catch::Contains("## Retention\n"
                                 "- Kept the newest 2 targets matching `staging-*` in `/backups`.\n"
                                 "- Pruned (oldest beyond the limit): `staging-1`, `staging-2`.\n"
                                 "- Kept beyond the limit: `staging-0` (named by an unfinished run's journal).\n"));
  CHECK(rollback::report::render_json(r)["extra"]["retention"]["pruned"].size() == 2);
}
