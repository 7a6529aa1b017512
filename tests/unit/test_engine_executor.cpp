#include <catch2/catch.hpp>

#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <thread>
#include <unistd.h>

#include <rollback/engine/executor.hpp>

#include "test_engine_fixtures.hpp"

using namespace engine_test;
using rollback::ExitCode;
using rollback::engine::Executor;
using rollback::engine::ExecuteOptions;
using rollback::engine::RunRecord;
using rollback::engine::StepStatus;

TEST_CASE("steps run in order and a clean run exits 0") {
  reset();
  auto r = run_plan(make_plan({step("a", "test.record"), step("b", "test.record")}));
  CHECK(r.code == ExitCode::Success);
  CHECK(calls().ran == std::vector<std::string>{"a", "b"});
  CHECK(r.record.steps[0].status == StepStatus::Ok);
  CHECK(r.record.steps[0].started.has_value());
  CHECK(r.record.steps[1].ended.has_value());
}

TEST_CASE("a step that exceeds its timeout kills a child ignoring SIGTERM, whole group, soon after the grace") {
  reset();
  std::string pidfile = "/tmp/rollback-test-grandchild-" + std::to_string(::getpid());
  auto s = step("slow", "test.child",
                "{argv: [sh, -c, 'trap \"\" TERM; sleep 30 & echo $! > " + pidfile +
                    "; wait; sleep 30'], grace: 500ms}");
  s.timeout = rollback::Millis(500);
  auto started = Clock::now();
  auto r = run_plan(make_plan({s, step("after", "test.record")}));
  auto took = Clock::now() - started;
  CHECK(r.code == ExitCode::StepFailed);
  CHECK(r.record.steps[0].status == StepStatus::Failed);
  // The message states the true duration: the 500ms limit plus the grace the child ignored.
  CHECK_THAT(r.record.steps[0].message, Catch::Matches("timed out after (9[0-9]{2}ms|1\\.[0-9]s|2\\.[0-4]s)"));
  CHECK(took < std::chrono::milliseconds(2500));
  CHECK(took >= std::chrono::milliseconds(900));  // timeout + grace: SIGTERM was ignored
  std::ifstream in(pidfile);
  long grandchild = 0;
  in >> grandchild;
  std::remove(pidfile.c_str());
  REQUIRE(grandchild > 0);
  for (int i = 0; i < 50 && process_alive(grandchild); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(process_alive(grandchild));
  CHECK(r.record.steps[1].status == StepStatus::Pending);
}

TEST_CASE("retry succeeds on the third attempt and respects the backoff delays") {
  reset();
  auto s = step("flaky", "test.flaky", "{fail_times: 2}");
  s.retry.attempts = 3;
  s.retry.delay = rollback::Millis(100);
  s.retry.backoff = 2.0;
  auto r = run_plan(make_plan({s}));
  CHECK(r.code == ExitCode::Success);
  CHECK(r.record.steps[0].attempts == 3);
  const auto& t = calls().flaky_tries;
  REQUIRE(t.size() == 3);
  CHECK(t[1] - t[0] >= std::chrono::milliseconds(100));
  CHECK(t[2] - t[1] >= std::chrono::milliseconds(200));
  CHECK(t[2] - t[1] < std::chrono::milliseconds(600));
}

TEST_CASE("retry gives up after the last attempt and says how many it made") {
  reset();
  auto s = step("flaky", "test.flaky", "{fail_times: 5}");
  s.retry.attempts = 2;
  auto r = run_plan(make_plan({s}));
  CHECK(r.code == ExitCode::StepFailed);
  CHECK(r.record.steps[0].attempts == 2);
  CHECK_THAT(r.record.steps[0].message, Catch::Contains("after 2 attempts"));
}

TEST_CASE("until/every keeps trying until success within the window") {
  reset();
  auto s = step("wait", "test.flaky", "{fail_times: 3}");
  s.retry.until = rollback::Millis(3000);
  s.retry.every = rollback::Millis(50);
  auto r = run_plan(make_plan({s}));
  CHECK(r.code == ExitCode::Success);
  CHECK(r.record.steps[0].attempts == 4);
}

TEST_CASE("until/every fails when the window ends without success") {
  reset();
  auto s = step("wait", "test.flaky", "{fail_times: 1000}");
  s.retry.until = rollback::Millis(400);
  s.retry.every = rollback::Millis(100);
  auto started = Clock::now();
  auto r = run_plan(make_plan({s}));
  CHECK(r.code == ExitCode::StepFailed);
  CHECK(r.record.steps[0].attempts >= 3);
  CHECK(r.record.steps[0].attempts <= 5);
  CHECK(Clock::now() - started < std::chrono::milliseconds(1000));
}

TEST_CASE("on_failure abort stops the run and leaves later steps not run") {
  reset();
  auto r = run_plan(make_plan({step("a", "test.record", "{fail: true}"), step("b", "test.record")}));
  CHECK(r.code == ExitCode::StepFailed);
  CHECK(calls().ran == std::vector<std::string>{"a"});
  CHECK(r.record.steps[1].status == StepStatus::Pending);
  CHECK_THAT(r.record.result_message, Catch::Contains("step a") && Catch::Contains("did not run"));
}

TEST_CASE("on_failure continue marks the failure ignored and goes on") {
  reset();
  auto a = step("a", "test.record", "{fail: true}");
  a.on_failure = rollback::plan::OnFailure::Continue;
  auto r = run_plan(make_plan({a, step("b", "test.record")}));
  CHECK(r.code == ExitCode::Success);
  CHECK(r.record.steps[0].status == StepStatus::Failed);
  CHECK(r.record.steps[0].failure_ignored);
  CHECK(r.record.steps[1].status == StepStatus::Ok);
}

TEST_CASE("when skips a step unless its var is truthy, and ${...} forms are interpolated") {
  reset();
  rollback::plan::Scope scope;
  scope.set_var("restore_db", "false");
  scope.set_var("mode", "yes");
  auto a = step("a", "test.record");
  a.when = "restore_db";
  auto b = step("b", "test.record");
  b.when = "${mode}";
  auto c = step("c", "test.record");
  c.when = "never_set";
  auto r = run_plan(make_plan({a, b, c}), {}, nullptr, &scope);
  CHECK(r.code == ExitCode::Success);
  CHECK(r.record.steps[0].status == StepStatus::Skipped);
  CHECK(r.record.steps[1].status == StepStatus::Ok);
  CHECK(r.record.steps[2].status == StepStatus::Skipped);
  CHECK(calls().ran == std::vector<std::string>{"b"});
}

TEST_CASE("a parameter that cannot be resolved fails the step naming step and param") {
  reset();
  auto r = run_plan(make_plan({step("a", "test.record", "{what: '${nowhere}'}")}));
  CHECK(r.code == ExitCode::StepFailed);
  CHECK_THAT(r.record.steps[0].message, Catch::Contains("step a") && Catch::Contains("with.what"));
  CHECK(calls().ran.empty());
}

TEST_CASE("dry-run runs read-only steps for real and only describes the others") {
  reset();
  ExecuteOptions options;
  options.dry_run = true;
  auto r = run_plan(make_plan({step("find", "test.probe", "{into: latest, value: staging-20250127}"),
                               step("restore", "test.record", "{what: '${latest}'}")}),
                    options);
  CHECK(r.code == ExitCode::Success);
  CHECK(calls().ran == std::vector<std::string>{"find"});
  CHECK(r.record.steps[0].status == StepStatus::Ok);
  CHECK(r.record.steps[1].status == StepStatus::Described);
  CHECK(r.record.steps[1].message == "would record staging-20250127");
  CHECK(r.record.vars.at("latest") == "staging-20250127");
}

TEST_CASE("a failed verify step with everything else ok exits 5, any other failure exits 1") {
  reset();
  auto verify = step("health", "test.record", "{fail: true}", rollback::plan::Phase::Verify);
  auto r = run_plan(make_plan({step("restore", "test.record"), verify}));
  CHECK(r.code == ExitCode::VerifyFailed);
  CHECK(rollback::to_int(r.code) == 5);

  reset();
  auto r2 = run_plan(make_plan({step("restore", "test.record", "{fail: true}"), verify}));
  CHECK(r2.code == ExitCode::StepFailed);
}

TEST_CASE("a failed verify step with on_failure continue still makes the run exit 5") {
  reset();
  auto verify = step("health", "test.record", "{fail: true}", rollback::plan::Phase::Verify);
  verify.on_failure = rollback::plan::OnFailure::Continue;
  auto rows = step("rows", "test.record", "{}", rollback::plan::Phase::Verify);
  auto r = run_plan(make_plan({step("restore", "test.record"), verify, rows}));
  CHECK(r.code == ExitCode::VerifyFailed);
  CHECK(r.record.steps[2].status == StepStatus::Ok);  // the other checks still ran
  CHECK_THAT(r.record.result_message, Catch::Contains("health"));
}

TEST_CASE("a rehearsal's failed verification says the copies were restored, never that the rollback ran") {
  reset();
  auto verify = step("health", "test.record", "{fail: true}", rollback::plan::Phase::Verify);
  rollback::proc::SystemRunner runner;
  auto registry = test_registry();
  rollback::engine::Executor executor(registry, runner);
  rollback::engine::RunRecord record;
  record.rehearsal = true;
  rollback::plan::Scope scope;
  CHECK(executor.execute(make_plan({step("restore", "test.record"), verify}), scope, record, nullptr, {}) ==
        ExitCode::VerifyFailed);
  CHECK_THAT(record.result_message, Catch::StartsWith("the throwaway copies were restored but verification failed "
                                                      "at step health"));
}

TEST_CASE("a cancel during a step marks it interrupted and exits 130") {
  reset();
  auto r = run_plan(make_plan({step("a", "test.cancel"), step("b", "test.record")}));
  CHECK(r.code == ExitCode::Interrupted);
  CHECK(rollback::to_int(r.code) == 130);
  CHECK(r.record.steps[0].status == StepStatus::Interrupted);
  CHECK(r.record.steps[1].status == StepStatus::Pending);
  rollback::proc::reset_cancel();
}

TEST_CASE("preflight checks steps it can resolve now and skips those waiting for a var") {
  reset();
  rollback::plan::Scope scope;
  scope.set_var("src", "missing");
  auto registry = test_registry();
  rollback::proc::SystemRunner runner;
  Executor executor(registry, runner);
  auto p = make_plan({step("restore", "test.guarded", "{source: '${src}'}"),
                      step("later", "test.guarded", "{source: '${set_by_earlier_step}'}"),
                      step("fine", "test.guarded", "{source: here}")});
  auto failures = executor.preflight(p, scope);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0] == "step restore (Step restore): source missing is absent");
  CHECK(calls().preflights == 2);
}

TEST_CASE("preflight runs a read-only step that sets a var first, so the step using it is checked too") {
  reset();
  rollback::plan::Scope scope;
  auto registry = test_registry();
  rollback::proc::SystemRunner runner;
  Executor executor(registry, runner);
  auto p = make_plan({step("look", "test.probe", "{value: unused}"),  // sets nothing: not run
                      step("find", "test.probe", "{into: dump, value: missing}"),
                      step("restore", "test.guarded", "{source: '${dump}'}")});
  auto failures = executor.preflight(p, scope);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0] == "step restore (Step restore): source missing is absent");
  CHECK(calls().ran == std::vector<std::string>{"find"});
  CHECK_FALSE(scope.lookup("dump"));  // the real scope is untouched: the run sets it again
}

TEST_CASE("a destructive step whose preflight fails just before it runs fails without running") {
  reset();
  auto r = run_plan(make_plan({step("probe", "test.probe", "{into: src, value: missing}"),
                               step("restore", "test.guarded", "{source: '${src}'}")}));
  CHECK(r.code == ExitCode::StepFailed);
  CHECK(calls().ran == std::vector<std::string>{"probe"});
  CHECK_THAT(r.record.steps[1].message, Catch::Contains("preflight"));
}

TEST_CASE("log lines and observations are kept on the step record") {
  reset();
  std::vector<std::string> seen;
  ExecuteOptions options;
  options.on_log = [&](const std::string& id, std::string_view line) { seen.push_back(id + ":" + std::string(line)); };
  auto r = run_plan(make_plan({step("a", "test.record", "{log: hello, observe: '200'}",
                                    rollback::plan::Phase::Verify)}),
                    options);
  CHECK(seen == std::vector<std::string>{"a:hello"});
  CHECK(r.record.steps[0].log_excerpt == "hello\n");
  REQUIRE(r.record.steps[0].observations.size() == 1);
  CHECK(r.record.steps[0].observations[0].value == "200");
}

TEST_CASE("steps completed in an earlier run are not run again on resume") {
  reset();
  ExecuteOptions options;
  options.completed_steps = {"a"};
  auto r = run_plan(make_plan({step("a", "test.record"), step("b", "test.record")}), options);
  CHECK(r.code == ExitCode::Success);
  CHECK(calls().ran == std::vector<std::string>{"b"});
  CHECK(r.record.steps[0].status == StepStatus::Ok);
}

TEST_CASE("progress callbacks see each step start running and end with its result") {
  reset();
  std::vector<std::string> events;
  ExecuteOptions options;
  options.on_step_start = [&](const auto& s, size_t i, size_t n) {
    events.push_back(fmt::format("start {} {}/{} {}", s.id, i, n, rollback::engine::to_string(s.status)));
  };
  options.on_step_end = [&](const auto& s, size_t i, size_t n) {
    events.push_back(fmt::format("end {} {}/{} {}", s.id, i, n, rollback::engine::to_string(s.status)));
  };
  run_plan(make_plan({step("a", "test.record"), step("b", "test.record", "{fail: true}")}), options);
  CHECK(events == std::vector<std::string>{"start a 1/2 running", "end a 1/2 ok",
                                           "start b 2/2 running", "end b 2/2 failed"});
}

TEST_CASE("attempts retry only transient failures unless the step says on: any") {
  reset();
  auto once = step("flaky", "test.flaky", "{fail_times: 5, transient: false}");
  once.retry.attempts = 3;
  auto r = run_plan(make_plan({once}));
  CHECK(r.code == ExitCode::StepFailed);
  CHECK(r.record.steps[0].attempts == 1);
  CHECK_THAT(r.record.steps[0].log_excerpt, Catch::Contains("not retried: the failure is not transient"));

  reset();
  auto any = step("flaky", "test.flaky", "{fail_times: 2, transient: false}");
  any.retry.attempts = 3;
  any.retry.on = rollback::plan::RetryOn::Any;
  r = run_plan(make_plan({any}));
  CHECK(r.code == ExitCode::Success);
  CHECK(r.record.steps[0].attempts == 3);
}

TEST_CASE(
    "a failure that may have changed something is never retried, even with on: any or until") {
  reset();
  auto any = step("change", "test.flaky", "{fail_times: 2, transient: true, left_changes: true}");
  any.retry.attempts = 3;
  any.retry.on = rollback::plan::RetryOn::Any;
  auto r = run_plan(make_plan({any}));
  CHECK(r.code == ExitCode::StepFailed);
  CHECK(r.record.steps[0].attempts == 1);
  CHECK_THAT(r.record.steps[0].log_excerpt,
             Catch::Contains("may have changed something; not retried"));

  reset();
  auto until = step("change", "test.flaky", "{fail_times: 2, left_changes: true}");
  until.retry.until = rollback::Millis(3000);
  until.retry.every = rollback::Millis(20);
  r = run_plan(make_plan({until}));
  CHECK(r.code == ExitCode::StepFailed);
  CHECK(r.record.steps[0].attempts == 1);
}

TEST_CASE("until/every retries any failure by default: a probe still seeing the old version waits") {
  reset();
  auto s = step("wait", "test.flaky", "{fail_times: 2, transient: false}");
  s.retry.until = rollback::Millis(3000);
  s.retry.every = rollback::Millis(20);
  auto r = run_plan(make_plan({s}));
  CHECK(r.code == ExitCode::Success);
  CHECK(r.record.steps[0].attempts == 3);
}

TEST_CASE("what a failed step still holds is cleaned up before the step is reported") {
  reset();
  std::vector<std::string> cleaned_when_reported;
  ExecuteOptions options;
  options.on_step_end = [&](const rollback::engine::StepRecord&, size_t, size_t) {
    cleaned_when_reported = calls().cleaned;
  };
  auto r = run_plan(make_plan({step("ok", "test.holder"), step("broken", "test.holder", "{fail: true}")}), options);
  CHECK(r.code == ExitCode::StepFailed);
  CHECK(calls().cleaned == std::vector<std::string>{"broken"});  // "ok" released its own
  CHECK(cleaned_when_reported == std::vector<std::string>{"broken"});
}

TEST_CASE("a step's timeout bounds all its attempts together, not each one") {
  reset();
  auto s = step("slow", "test.child", "{argv: [sleep, '0.3']}");
  s.timeout = rollback::Millis(800);
  s.retry.until = rollback::Millis(60'000);  // would allow many attempts
  s.retry.every = rollback::Millis(10);
  s.with = YAML::Load("{argv: [sh, -c, 'sleep 0.3; exit 1']}");
  auto started = Clock::now();
  auto r = run_plan(make_plan({s}));
  auto took = Clock::now() - started;
  CHECK(r.code == ExitCode::StepFailed);
  CHECK_THAT(r.record.steps[0].message, Catch::StartsWith("timed out after"));
  CHECK(took < std::chrono::milliseconds(1800));  // the limit plus at most the kill grace
}

TEST_CASE("a retry's until bounds each attempt by what is left of it") {
  reset();
  auto s = step("wait", "test.child", "{argv: [sleep, '30']}");
  s.retry.until = rollback::Millis(700);
  s.retry.every = rollback::Millis(50);
  auto started = Clock::now();
  auto r = run_plan(make_plan({s}));
  CHECK(r.code == ExitCode::StepFailed);
  CHECK(Clock::now() - started < std::chrono::milliseconds(1700));
}
