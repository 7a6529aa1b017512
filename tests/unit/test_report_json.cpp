#include <catch2/catch.hpp>

#include <rollback/report/report.hpp>

#include "support/temp_dir.hpp"

using rollback::Millis;
using rollback::engine::RunRecord;
using rollback::engine::StepRecord;
using rollback::engine::StepStatus;

namespace {

RunRecord small_record() {
  RunRecord r;
  r.run_id = "run-1";
  r.plan_name = "quick";
  r.operator_name = "ana";
  r.started = rollback::parse_iso_utc("2025-01-27T18:00:00.000Z").value();
  r.ended = rollback::parse_iso_utc("2025-01-27T18:03:30.500Z").value();
  r.budget = Millis(180000);
  StepRecord s;
  s.id = "health";
  s.name = "API health";
  s.phase = rollback::plan::Phase::Verify;
  s.status = StepStatus::Ok;
  s.duration = Millis(350);
  s.started = r.started;
  s.observations = {{"status", "200", true}};
  r.steps.push_back(s);
  return r;
}

}  // namespace

TEST_CASE("the JSON twin carries the same data with ISO-8601 UTC times and durations in ms") {
  auto j = rollback::report::render_json(small_record());
  CHECK(j["run_id"] == "run-1");
  CHECK(j["started"] == "2025-01-27T18:00:00.000Z");
  CHECK(j["ended"] == "2025-01-27T18:03:30.500Z");
  CHECK(j["duration_ms"] == 210500);
  CHECK(j["budget_ms"] == 180000);
  CHECK(j["over_budget"] == true);
  CHECK(j["result"]["exit_code"] == 0);
  CHECK(j["steps"][0]["status"] == "ok");
  CHECK(j["steps"][0]["duration_ms"] == 350);
  CHECK(j["post_rollback"][0]["observations"][0]["value"] == "200");
  CHECK(j["operator"] == "ana");
  CHECK(j.contains("follow_up"));
  CHECK(j.contains("contacts"));
  CHECK(j.contains("lessons_learned"));
}

TEST_CASE("write_report writes both files atomically and leaves no temp files") {
  testing::TempDir dir;
  auto path = rollback::report::write_report(small_record(), dir / "runs" / "run-1" / "report.md");
  REQUIRE(path);
  CHECK(*path == dir / "runs" / "run-1" / "report.md");
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "runs" / "run-1"))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"report.json", "report.md"});
  auto json = nlohmann::json::parse(testing::read_text(dir / "runs" / "run-1" / "report.json"));
  CHECK(json["run_id"] == "run-1");
  CHECK_THAT(testing::read_text(*path), Catch::StartsWith("# ROLLBACK REPORT"));
}

TEST_CASE("the JSON twin of a path without .md gets .json appended") {
  CHECK(rollback::report::json_twin("/x/report.md") == "/x/report.json");
  CHECK(rollback::report::json_twin("/x/incident") == "/x/incident.json");
}
