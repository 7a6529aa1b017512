// The run as a service (engine/run.hpp): a plan runs end to end from a plain request, with a
// registry, a runner and an observer the test makes: no CLI11, no global registry.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <rollback/actions/rehearsal.hpp>
#include <rollback/engine/run.hpp>
#include <rollback/engine/state_store.hpp>
#include <rollback/report/report.hpp>
#include <rollback/util/fs.hpp>

#include "support/temp_dir.hpp"
#include "test_engine_fixtures.hpp"

using namespace rollback;
namespace fs = std::filesystem;

namespace {

// What a run said, as a person would have seen it.
struct RecordingObserver final : engine::RunObserver {
  std::vector<std::string> errors, lines, steps;
  std::optional<engine::RunRecord> ended;
  std::optional<fs::path> report;
  void error(std::string_view m) override { errors.emplace_back(m); }
  void warn(std::string_view l) override { lines.emplace_back(l); }
  void note(std::string_view l) override { lines.emplace_back(l); }
  void event(const nlohmann::json&) override {}
  void progress(engine::ExecuteOptions& o) override {
    o.on_step_end = [this](const engine::StepRecord& s, size_t, size_t) {
      steps.push_back(s.id + " " + std::string(engine::to_string(s.status)));
    };
  }
  void log_line(std::string_view, std::string_view) override {}
  bool interactive() override { return false; }
  bool confirm(const plan::Plan&, const std::optional<plan::Target>&, const std::string&) override { return false; }
  std::optional<std::string> pick_target(const plan::Plan&, const std::vector<engine::CatalogRow>&) override {
    return std::nullopt;
  }
  void finished(const engine::RunRecord& r, const std::optional<fs::path>& p, const nlohmann::json&) override {
    ended = r;
    report = p;
  }
};

struct Service {
  testing::TempDir tmp;
  actions::Registry registry = engine_test::test_registry();
  proc::SystemRunner runner;
  RecordingObserver seen;
  engine::RunService service{engine::RunDeps{
      .registry = registry,
      .runner = runner,
      .observer = seen,
      .write_report = [](const engine::RunRecord& r, const fs::path& md) { return report::write_report(r, md); },
      .load_plan = [](const std::string&) { return std::optional<plan::Plan>(); },
      .state_dir = tmp / "state",
      .host = "test-host",
      .login_name = "tester"}};
};

}  // namespace

TEST_CASE("a plan runs through the run service with an injected registry, runner and observer", "[engine][run]") {
  engine_test::reset();
  Service s;
  auto plan = engine_test::make_plan({engine_test::step("one", "test.record", "{what: a}"),
                                      engine_test::step("two", "test.record", "{what: b}")});
  engine::RunRequest request{.plan = "test-plan", .yes = true};
  CHECK(s.service.run(plan, request) == 0);
  CHECK(s.seen.steps == std::vector<std::string>{"one ok", "two ok"});
  REQUIRE(s.seen.ended);
  CHECK(s.seen.ended->operator_name == "tester");
  REQUIRE(s.seen.report);
  CHECK(fs::exists(*s.seen.report));
  CHECK(fs::exists(report::json_twin(*s.seen.report)));
  // The state store reads back what the run journaled: one finished run, exit 0.
  auto runs = engine::StateStore(s.tmp / "state").runs();
  REQUIRE(runs);
  REQUIRE(runs->size() == 1);
  CHECK(runs->front().state == engine::RunState::Finished);
  CHECK(runs->front().record.result == ExitCode::Success);
}

TEST_CASE("a verification failing under on_failure: continue exits 5 and every output names that step",
          "[engine][run]") {
  engine_test::reset();
  Service s;
  auto verify = engine_test::step("check", "test.record", "{what: health, fail: true}", plan::Phase::Verify);
  verify.on_failure = plan::OnFailure::Continue;
  auto plan = engine_test::make_plan({engine_test::step("restore", "test.record", "{what: a}"), verify});
  engine::RunRequest request{.plan = "test-plan", .yes = true};
  CHECK(s.service.run(plan, request) == 5);
  REQUIRE(s.seen.ended);
  CHECK(s.seen.ended->failing_step == "check");
  auto md = read_file(*s.seen.report);
  REQUIRE(md);
  CHECK_THAT(*md, Catch::Contains("VERIFICATION FAILED"));
  CHECK_THAT(*md, Catch::Contains("verification step check"));
  CHECK_THAT(*md, !Catch::Contains("Every step succeeded"));
  auto stored = engine::StateStore(s.tmp / "state").runs();
  REQUIRE(stored);
  CHECK(stored->front().record.failing_step == "check");
  CHECK(stored->front().record.result == ExitCode::VerifyFailed);
}

TEST_CASE("a second run of the same state dir is refused with the holder named", "[engine][run]") {
  engine_test::reset();
  Service s;
  auto lock = engine::take_run_lock(s.service.deps(), engine::LockHolder{.run_id = "holder-run", .plan = "other"});
  REQUIRE(lock);
  auto plan = engine_test::make_plan({engine_test::step("one", "test.record", "{what: a}")});
  CHECK(s.service.run(plan, engine::RunRequest{.plan = "test-plan", .yes = true}) == 3);
  REQUIRE_FALSE(s.seen.errors.empty());
  CHECK_THAT(s.seen.errors.front(), Catch::Contains("holder-run"));
  CHECK(engine_test::calls().ran.empty());
}

TEST_CASE("a rehearsal preempted during its preflight exits 130 naming the run that preempted it, and no output says "
          "every step succeeded",
          "[engine][rehearse]") {
  engine_test::reset();
  Service s;
  fs::create_directories(s.tmp / "backups" / "t-1");
  // A check that is cut short, as `docker image inspect` is when a real run's SIGTERM lands
  // in preflight: the preempting run has left its note in the rehearsal's run dir.
  actions::Action slow;
  slow.name = "test.slow_check";
  slow.destructive = true;
  slow.rehearse = actions::rehearse_as_is;
  slow.preflight = [&s](actions::ActionContext&, const actions::Params&) {
    for (const auto& run : fs::directory_iterator(s.tmp / "state" / "runs"))
      testing::write_text(run.path() / "preempted",
                          "20990101-000000-quick-beef (plan quick, operator ci)\n");
    proc::request_cancel();
    return actions::Outcome::failure("docker image inspect local/busybox: interrupted");
  };
  slow.run = [](actions::ActionContext&, const actions::Params&) {
    return actions::Outcome::success("ran");
  };
  s.registry.add(slow);
  auto plan = engine_test::make_plan({engine_test::step("restore", "test.slow_check")});
  plan.target.from = "dir";
  plan.target.dir = (s.tmp / "backups").string();
  plan.target.glob = "t-*";
  engine::RunRequest request{.plan = "test-plan", .target = "latest"};

  CHECK(s.service.rehearse(plan, request) == 130);
  proc::reset_cancel();
  REQUIRE(s.seen.ended);
  CHECK_THAT(s.seen.ended->result_message, Catch::Contains("rehearsal cancelled: preempted by run "
                                                           "20990101-000000-quick-beef"));
  CHECK(s.seen.errors.empty());  // not "preflight failed": the checks were cut short, the target is
                                 // not at fault
  REQUIRE(s.seen.report);
  auto md = read_file(*s.seen.report);
  REQUIRE(md);
  CHECK_THAT(*md, !Catch::Contains("Every step succeeded") && Catch::Contains("preempted by run"));
  auto json = nlohmann::json::parse(*read_file(report::json_twin(*s.seen.report)));
  CHECK(json["result"]["exit_code"] == 130);
  CHECK_THAT(json["result"]["outcome"].get<std::string>(),
             Catch::Contains("preempted by run 20990101-000000-quick-beef") &&
                 !Catch::Contains("Every step succeeded"));
}
