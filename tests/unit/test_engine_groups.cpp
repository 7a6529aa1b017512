// Parallel groups in the executor: members start together, a failure lets siblings finish and
// stops the run after the group, resume runs only unfinished members, Ctrl-C interrupts all,
// a dry run describes members in plan order, and the journal and console stay whole.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fmt/format.h>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <rollback/engine/executor.hpp>
#include <rollback/engine/journal.hpp>
#include <rollback/report/console.hpp>
#include <rollback/util/fs.hpp>

#include "support/temp_dir.hpp"
#include "test_engine_fixtures.hpp"

using namespace engine_test;
using rollback::ExitCode;
using rollback::engine::Executor;
using rollback::engine::ExecuteOptions;
using rollback::engine::RunRecord;
using rollback::engine::StepStatus;

namespace {

const rollback::engine::StepRecord& rec(const RunRecord& r, const std::string& id) {
  for (const auto& s : r.steps)
    if (s.id == id) return s;
  FAIL("no step " << id);
  return r.steps.front();
}

std::vector<nlohmann::json> journal_events(const std::filesystem::path& file) {
  std::vector<nlohmann::json> events;
  std::istringstream lines(testing::read_text(file));
  for (std::string line; std::getline(lines, line);) {
    auto event = nlohmann::json::parse(line, nullptr, false);
    REQUIRE_FALSE(event.is_discarded());  // every line one whole event
    events.push_back(event);
  }
  return events;
}

}  // namespace

TEST_CASE("the members of a parallel group run at the same time, then the run goes on after the group",
          "[engine][parallel]") {
  reset();
  auto started = Clock::now();
  auto r = run_plan(plan_of({{step("before", "test.record")},
                             group("volumes", {step("db", "test.wait", "{ms: 400}"), step("cache", "test.wait", "{ms: 400}"),
                                               step("logs", "test.wait", "{ms: 400}")}),
                             {step("after", "test.record")}}));
  auto took = Clock::now() - started;
  CHECK(r.code == ExitCode::Success);
  CHECK(took < std::chrono::milliseconds(1000));  // one after the other would take 1.2 s
  for (const char* id : {"db", "cache", "logs", "after"}) CHECK(rec(r.record, id).status == StepStatus::Ok);
  CHECK(rec(r.record, "db").group == "volumes");
  CHECK(rec(r.record, "after").group.empty());
  CHECK(calls().ran.front() == "before");
  CHECK(calls().ran.back() == "after");  // not before every member ended
}

TEST_CASE("a parallel group where one member fails lets its siblings finish, stops the run after the group, "
          "exits 1 and journals every member",
          "[engine][parallel]") {
  reset();
  testing::TempDir dir;
  rollback::engine::Journal journal(dir / "journal.jsonl");
  auto r = run_plan(plan_of({group("restore", {step("broken", "test.wait", "{ms: 10, fail: true}"),
                                               step("slow", "test.wait", "{ms: 400}")}),
                             {step("start", "test.record")}}),
                    {}, &journal);
  CHECK(r.code == ExitCode::StepFailed);
  CHECK(rec(r.record, "broken").status == StepStatus::Failed);
  CHECK(rec(r.record, "slow").status == StepStatus::Ok);  // ran to its end, not cut off
  CHECK(rec(r.record, "start").status == StepStatus::Pending);
  CHECK_THAT(r.record.result_message, Catch::Contains("step broken") && Catch::Contains("parallel group restore") &&
                                          Catch::Contains("1 later step did not run"));

  auto events = journal_events(dir / "journal.jsonl");
  std::map<std::string, int> finished;
  for (const auto& e : events)
    if (e["event"] == "step_finished") ++finished[e["step"].get<std::string>()];
  CHECK(finished == std::map<std::string, int>{{"broken", 1}, {"slow", 1}});
  CHECK(std::count_if(events.begin(), events.end(), [](const auto& e) {
          return e["event"] == "group_finished" && e["status"] == "failed";
        }) == 1);
  auto read = rollback::engine::read_journal(dir / "journal.jsonl");
  REQUIRE(read);
  CHECK(rec(*read, "broken").status == StepStatus::Failed);
  CHECK(rec(*read, "slow").status == StepStatus::Ok);
  CHECK(rec(*read, "slow").group == "restore");
  CHECK(rec(*read, "start").status == StepStatus::Pending);
}

TEST_CASE("a failed member with on_failure continue does not stop the run after its group", "[engine][parallel]") {
  reset();
  auto optional = step("optional", "test.wait", "{ms: 10, fail: true}");
  optional.on_failure = rollback::plan::OnFailure::Continue;
  auto r = run_plan(plan_of({group("g", {optional, step("needed", "test.wait", "{ms: 50}")}), {step("after", "test.record")}}));
  CHECK(r.code == ExitCode::Success);
  CHECK(rec(r.record, "optional").failure_ignored);
  CHECK(rec(r.record, "after").status == StepStatus::Ok);
}

TEST_CASE("resume runs only the members of a group that did not finish", "[engine][parallel][resume]") {
  reset();
  ExecuteOptions options;
  options.completed_steps = {"db"};
  auto r = run_plan(plan_of({group("volumes", {step("db", "test.wait", "{ms: 10}"), step("cache", "test.wait", "{ms: 10}")}),
                             {step("after", "test.record")}}),
                    options);
  CHECK(r.code == ExitCode::Success);
  CHECK(calls().ran == std::vector<std::string>{"cache", "after"});
  CHECK(rec(r.record, "db").message == "done in an earlier run");
}

TEST_CASE("Ctrl-C during a parallel group interrupts every member and exits 130", "[engine][parallel]") {
  reset();
  std::jthread ctrl_c([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    rollback::proc::request_cancel();
  });
  auto started = Clock::now();
  auto r = run_plan(plan_of({group("g", {step("a", "test.child", "{argv: [sleep, '30']}"),
                                         step("b", "test.child", "{argv: [sleep, '30']}")}),
                             {step("after", "test.record")}}));
  CHECK(Clock::now() - started < std::chrono::seconds(5));
  CHECK(r.code == ExitCode::Interrupted);
  CHECK(rec(r.record, "a").status == StepStatus::Interrupted);
  CHECK(rec(r.record, "b").status == StepStatus::Interrupted);
  CHECK(rec(r.record, "after").status == StepStatus::Pending);
  ctrl_c.join();
  rollback::proc::reset_cancel();
}

TEST_CASE("a dry run of a parallel group describes its members in plan order and runs its read-only ones",
          "[engine][parallel]") {
  reset();
  std::vector<std::string> seen;
  ExecuteOptions options;
  options.dry_run = true;
  options.on_group_start = [&](const auto& members, size_t first, size_t size, size_t total) {
    seen.push_back(fmt::format("group {} {}-{}/{}", members.size(), first, first + size - 1, total));
  };
  options.on_step_end = [&](const auto& s, size_t i, size_t) { seen.push_back(fmt::format("{} {}", i, s.id)); };
  for (int twice = 0; twice < 2; ++twice) {
    seen.clear();
    auto r = run_plan(plan_of({group("g", {step("z", "test.wait", "{ms: 200}"), step("look", "test.probe", "{into: x, value: 1}"),
                                           step("a", "test.wait", "{ms: 0}")})}),
                      options);
    CHECK(r.code == ExitCode::Success);
    CHECK(rec(r.record, "z").status == StepStatus::Described);
    CHECK(rec(r.record, "z").message == "would wait 200ms");
    CHECK(rec(r.record, "look").status == StepStatus::Ok);
    CHECK(seen == std::vector<std::string>{"group 3 1-3/3", "1 z", "2 look", "3 a"});
  }
  CHECK(calls().ran == std::vector<std::string>{"look", "look"});  // only the read-only member ran
}

TEST_CASE("members set their vars into one scope from their own threads without losing any", "[engine][parallel]") {
  reset();
  std::vector<rollback::plan::Step> members;
  for (int i = 0; i < 8; ++i)
    members.push_back(step(fmt::format("m{}", i), "test.wait", fmt::format("{{ms: 20, into: v{0}, value: '{0}'}}", i)));
  rollback::plan::Scope scope;
  auto r = run_plan(plan_of({group("g", members)}), {}, nullptr, &scope);
  CHECK(r.code == ExitCode::Success);
  for (int i = 0; i < 8; ++i) CHECK(scope.lookup(fmt::format("v{}", i)) == std::to_string(i));
  CHECK(r.record.vars.size() == 8);
}

TEST_CASE("the console prints one whole line per group member, never interleaved", "[engine][parallel][console]") {
  reset();
  std::ostringstream out;
  rollback::report::ConsoleProgress console(out, {.verbose = true});
  ExecuteOptions options;
  options.on_step_start = [&](const auto& s, size_t i, size_t n) { console.step_started(s, i, n); };
  options.on_step_end = [&](const auto& s, size_t i, size_t n) { console.step_finished(s, i, n); };
  options.on_log = [&](const std::string& id, std::string_view line) { console.log_line(id, line); };
  options.on_group_start = [&](const auto& m, size_t f, size_t s, size_t n) { console.group_started(m, f, s, n); };
  std::vector<rollback::plan::Step> members;
  for (int i = 0; i < 6; ++i) members.push_back(step(fmt::format("m{}", i), "test.wait", "{ms: 30, lines: 300}"));
  auto r = run_plan(plan_of({{step("first", "test.record")}, group("g", members), {step("last", "test.record")}}), options);
  REQUIRE(r.code == ExitCode::Success);

  const std::regex group_line(R"(\[2-7/8\] in parallel: Step m0, Step m1, Step m2, Step m3, Step m4, Step m5)");
  const std::regex member_line(R"(\[[2-7]/8\] Step m[0-5] \.\.\. ok \([0-9.]+m?s\)(: waited)?)");
  const std::regex log_line(R"(    m[0-5]: line [0-9]+)");
  const std::regex single_line(R"(\[(1|8)/8\] Step (first|last) \.\.\. ok \([0-9.]+m?s\)(: recorded .*)?)");
  std::istringstream lines(out.str());
  size_t logs = 0, ends = 0, groups = 0, singles = 0;
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    bool known = std::regex_match(line, group_line) || std::regex_match(line, member_line) ||
                 std::regex_match(line, log_line) || std::regex_match(line, single_line);
    CHECK(known);
    logs += std::regex_match(line, log_line);
    ends += std::regex_match(line, member_line);
    groups += std::regex_match(line, group_line);
    singles += std::regex_match(line, single_line);
  }
  CHECK(logs == 6 * 300);
  CHECK(ends == 6);
  CHECK(groups == 1);
  CHECK(singles == 2);
}

TEST_CASE("a journal written by many members at once holds one whole event per line", "[engine][parallel][journal]") {
  reset();
  testing::TempDir dir;
  rollback::engine::Journal journal(dir / "journal.jsonl");
  std::vector<rollback::plan::Step> members;
  for (int i = 0; i < 8; ++i) members.push_back(step(fmt::format("m{}", i), "test.wait", "{ms: 10}"));
  auto r = run_plan(plan_of({group("g", members)}), {}, &journal);
  REQUIRE(r.code == ExitCode::Success);
  auto events = journal_events(dir / "journal.jsonl");
  auto count = [&](const char* kind) {
    return std::count_if(events.begin(), events.end(), [&](const auto& e) { return e["event"] == kind; });
  };
  CHECK(count("step_started") == 8);
  CHECK(count("step_finished") == 8);
  CHECK(count("group_started") == 1);
  CHECK(journal.lost().empty());
}

TEST_CASE("a scope read and written from many threads at once stays consistent", "[plan][parallel]") {
  rollback::plan::Scope scope;
  scope.set_builtin("run.id", "r1");
  std::atomic<int> wrong{0};  // Catch's CHECK is not for other threads
  std::vector<std::jthread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&scope, &wrong, t] {
      for (int i = 0; i < 2000; ++i) {
        scope.set_var(fmt::format("t{}", t), std::to_string(i));
        if (scope.lookup("run.id") != "r1") ++wrong;
        if (scope.vars().count(fmt::format("t{}", t)) != 1) ++wrong;
        rollback::plan::Scope copy = scope;
        if (copy.lookup(fmt::format("t{}", t)) != std::to_string(i)) ++wrong;
      }
    });
  threads.clear();
  CHECK(wrong == 0);
  for (int t = 0; t < 8; ++t) CHECK(scope.lookup(fmt::format("t{}", t)) == "1999");
}
