#include <catch2/catch.hpp>

#include <fstream>

#include <rollback/engine/journal.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

#include "support/temp_dir.hpp"
#include "test_engine_fixtures.hpp"

using namespace engine_test;
using rollback::engine::Executor;
using rollback::engine::Journal;
using rollback::engine::RunRecord;
using rollback::engine::StepStatus;

namespace {

RunRecord identity() {
  RunRecord r;
  r.run_id = "20250127-180000-quick-3f2a";
  r.plan_name = "quick";
  r.plan_path = "plans/quick.yaml";
  r.kind = rollback::plan::Kind::Quick;
  r.operator_name = "ana";
  r.reason = "API 500s after deploy";
  r.target_name = "staging-20250127-180000";
  r.started = std::chrono::system_clock::now();
  r.budget = rollback::Millis(600000);
  r.report.lang = "es";
  r.report.contacts = {"DevOps: +57 300"};
  return r;
}

}  // namespace

TEST_CASE("a journal written by a run reads back into the same record") {
  reset();
  testing::TempDir dir;
  Journal journal(dir / "runs/x/journal.jsonl");
  auto registry = test_registry();
  rollback::proc::SystemRunner runner;
  Executor executor(registry, runner);
  rollback::plan::Scope scope;
  scope.set_var("env_name", "staging");
  RunRecord record = identity();
  auto p = make_plan({step("find", "test.probe", "{into: latest, value: v41}"),
                      step("restore", "test.record", "{fail: true, what: db}"),
                      step("start", "test.record")});
  auto code = executor.execute(p, scope, record, &journal, {});
  REQUIRE(code == rollback::ExitCode::StepFailed);

  auto back = rollback::engine::read_journal(journal.file());
  REQUIRE(back);
  CHECK(back->run_id == record.run_id);
  CHECK(back->plan_name == "quick");
  CHECK(back->plan_path == "plans/quick.yaml");
  CHECK(back->kind == rollback::plan::Kind::Quick);
  CHECK(back->operator_name == "ana");
  CHECK(back->reason == "API 500s after deploy");
  CHECK(back->target_name == "staging-20250127-180000");
  CHECK(back->budget == rollback::Millis(600000));
  CHECK(back->report.lang == "es");
  CHECK(back->report.contacts == std::vector<std::string>{"DevOps: +57 300"});
  CHECK(std::chrono::abs(back->started - record.started) < std::chrono::milliseconds(2));
  CHECK(back->vars.at("env_name") == "staging");
  CHECK(back->vars.at("latest") == "v41");
  REQUIRE(back->steps.size() == 3);
  CHECK(back->steps[0].status == StepStatus::Ok);
  CHECK(back->steps[1].status == StepStatus::Failed);
  CHECK(back->steps[1].message == record.steps[1].message);
  CHECK(back->steps[1].started.has_value());
  CHECK(back->steps[2].status == StepStatus::Pending);
  CHECK(back->steps[2].name == "Step start");
  CHECK(back->result == rollback::ExitCode::StepFailed);
  CHECK(back->result_message == record.result_message);
  CHECK(back->ended.has_value());
}

TEST_CASE("a torn last line (crash mid-write) is ignored when reading a journal") {
  testing::TempDir dir;
  Journal journal(dir / "journal.jsonl");
  RunRecord r = identity();
  r.steps.push_back({});
  r.steps[0].id = "stop";
  REQUIRE(journal.append(rollback::engine::run_started_event(r)));
  REQUIRE(journal.append({{"event", "step_started"}, {"step", "stop"}}));
  {
    std::ofstream out(journal.file(), std::ios::app);
    out << R"({"event":"step_finished","step":"stop","sta)";
  }
  auto back = rollback::engine::read_journal(journal.file());
  REQUIRE(back);
  CHECK(back->run_id == r.run_id);
  REQUIRE(back->steps.size() == 1);
  CHECK(back->steps[0].status == StepStatus::Running);
}

TEST_CASE("a corrupt line in the middle of a journal is an error naming the line") {
  testing::TempDir dir;
  testing::write_text(dir / "j.jsonl", "{\"event\":\"run_started\",\"run_id\":\"x\"}\nnot json\n{}\n");
  auto back = rollback::engine::read_journal(dir / "j.jsonl");
  REQUIRE_FALSE(back);
  CHECK_THAT(back.error().message, Catch::Contains("j.jsonl:2"));
}

TEST_CASE("a registered secret never reaches the journal") {
  reset();
  rollback::register_secret("s3cr3t-token-value");
  testing::TempDir dir;
  Journal journal(dir / "journal.jsonl");
  auto registry = test_registry();
  rollback::proc::SystemRunner runner;
  Executor executor(registry, runner);
  rollback::plan::Scope scope;
  scope.set_secret("token", "s3cr3t-token-value");
  RunRecord record = identity();
  record.reason = "leaked s3cr3t-token-value in reason";
  auto p = make_plan({step("a", "test.record",
                           "{what: '${secrets.token}', log: 'auth ${secrets.token}', into: tok, "
                           "value: '${secrets.token}', fail: true}")});
  executor.execute(p, scope, record, &journal, {});
  auto text = rollback::read_file(journal.file());
  REQUIRE(text);
  CHECK(text->find("s3cr3t-token-value") == std::string::npos);
  CHECK(text->find("***") != std::string::npos);
  CHECK(text->find("var_set") != std::string::npos);
  CHECK(record.steps[0].message.find("s3cr3t") == std::string::npos);
  rollback::clear_secrets();
}

TEST_CASE("times round-trip through the ISO-8601 form with milliseconds") {
  auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  auto text = rollback::format_iso_utc(now);
  CHECK(text.size() == 24);
  CHECK(text.back() == 'Z');
  auto back = rollback::parse_iso_utc(text);
  REQUIRE(back);
  CHECK(*back == now);
  CHECK_FALSE(rollback::parse_iso_utc("yesterday"));
}

TEST_CASE("a long log is bounded to head and tail lines with the middle counted") {
  std::string log;
  for (int i = 0; i < 1000; ++i) log += "line " + std::to_string(i) + "\n";
  auto excerpt = rollback::engine::bound_excerpt(log, 40);
  CHECK(std::count(excerpt.begin(), excerpt.end(), '\n') == 41);
  CHECK_THAT(excerpt, Catch::StartsWith("line 0\n") && Catch::EndsWith("line 999\n") &&
                          Catch::Contains("960 lines omitted"));
}

TEST_CASE("a step's log excerpt is data: control bytes shown escaped, credentials masked before a line is clipped",
          "[journal][secrets]") {
  std::string log = "\x1b]0;owned\x07title\r\nDATABASE_URL=postgresql://app:Hunter2Pw@db/app\n" + std::string(390, 'x') +
                    " postgresql://u:LongPassw0rd@host/db\n";
  auto excerpt = rollback::engine::bound_excerpt(log, 40, 400);
  CHECK_THAT(excerpt, Catch::StartsWith("\\x1b]0;owned\\x07title\nDATABASE_URL=postgresql://app:***@db/app\n"));
  CHECK(excerpt.find('\x1b') == std::string::npos);
  CHECK(excerpt.find('\x07') == std::string::npos);
  CHECK(excerpt.find("Hunter2Pw") == std::string::npos);
  CHECK(excerpt.find("LongPa") == std::string::npos);  // masked first, then clipped at 400 bytes
  CHECK_THAT(excerpt, Catch::EndsWith(" [...]\n"));
}

TEST_CASE("a journal that fell back reads back as the fallback plan's record with the first plan inside, and its "
          "notifications",
          "[journal][fallback]") {
  testing::TempDir dir;
  Journal journal(dir / "journal.jsonl");
  RunRecord first = identity();
  first.plan_name = "coolify";
  first.steps.push_back({.id = "coolify-rollback", .action = "coolify.rollback", .destructive = true});
  first.result = rollback::ExitCode::PreflightFailed;
  first.result_message = "target 'previous': connection refused; nothing was changed";
  first.ended = first.started;
  REQUIRE(journal.append(rollback::engine::run_started_event(first)));
  REQUIRE(journal.append(rollback::engine::run_finished_event(first)));
  REQUIRE(journal.append({{"event", "fallback"}, {"from", "coolify"}, {"to", "git-sql"},
                          {"why", "plan coolify stopped before changing anything"}, {"note", "webhook redeploys"}}));
  RunRecord second = identity();
  second.plan_name = "git-sql";
  second.unattended = true;
  second.steps.push_back({.id = "git-revert", .action = "git.revert", .destructive = true});
  REQUIRE(journal.append(rollback::engine::run_started_event(second)));
  auto sent = rollback::engine::step_to_json({.id = "notify-1", .action = "notify.webhook", .status = StepStatus::Ok,
                                              .message = "notification sent"});
  sent["event"] = "notified";
  sent["step"] = "notify-1";
  REQUIRE(journal.append(sent));

  auto back = rollback::engine::read_journal(dir / "journal.jsonl");
  REQUIRE(back);
  CHECK(back->plan_name == "git-sql");
  CHECK(back->unattended);
  CHECK(back->fallback_note == "webhook redeploys");
  REQUIRE(back->fell_back_from.size() == 1);
  const auto& was = back->fell_back_from[0];
  CHECK(was.plan_name == "coolify");
  CHECK(was.result == rollback::ExitCode::PreflightFailed);
  CHECK(was.handed_over == "plan coolify stopped before changing anything");
  REQUIRE(was.steps.size() == 1);
  CHECK(was.steps[0].id == "coolify-rollback");
  REQUIRE(back->steps.size() == 1);
  CHECK(back->steps[0].id == "git-revert");
  REQUIRE(back->notifications.size() == 1);
  CHECK(back->notifications[0].message == "notification sent");
}
