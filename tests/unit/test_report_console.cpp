#include <catch2/catch.hpp>

#include <sstream>

#include <rollback/report/console.hpp>

using rollback::Millis;
using rollback::engine::StepRecord;
using rollback::engine::StepStatus;
using rollback::report::ConsoleProgress;

namespace {

StepRecord step(std::string name, StepStatus status, std::string message = "") {
  StepRecord s;
  s.id = name;
  s.name = std::move(name);
  s.status = status;
  s.message = std::move(message);
  s.duration = Millis(1200);
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

rollback::engine::RunRecord finished(rollback::ExitCode code, std::string message) {
  rollback::engine::RunRecord r;
  r.started = std::chrono::system_clock::now();
  r.ended = r.started + std::chrono::seconds(3);
  r.result = code;
  r.result_message = std::move(message);
  return r;
}

}  // namespace

TEST_CASE("console prints one line per step, a summary, and the report path last") {
  std::ostringstream out;
  ConsoleProgress console(out, {});
  auto a = step("Restore volume postgres_data", StepStatus::Running);
  console.step_started(a, 3, 12);
  a.status = StepStatus::Ok;
  console.step_finished(a, 3, 12);
  auto b = step("Restart api", StepStatus::Running);
  console.step_started(b, 4, 12);
  b.status = StepStatus::Failed;
  b.message = "exit 1";
  console.step_finished(b, 4, 12);
  console.step_finished(step("Notify", StepStatus::Skipped), 5, 12);
  console.step_finished(step("Drop db", StepStatus::Described, "would drop db"), 6, 12);
  console.summary(finished(rollback::ExitCode::StepFailed, "step 4 failed"));
  console.report_path("/state/runs/x/report.md");
  auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 6);
  CHECK(lines[0] == "[3/12] Restore volume postgres_data ... ok (1.2s)");
  CHECK(lines[1] == "[4/12] Restart api ... FAILED (1.2s): exit 1");
  CHECK(lines[2] == "[5/12] Notify ... skipped");
  CHECK(lines[3] == "[6/12] Drop db ... dry-run: would drop db");
  CHECK_THAT(lines[4], Catch::Contains("FAILED") && Catch::Contains("exit 1)"));
  CHECK(lines[5] == "report: /state/runs/x/report.md");
  CHECK(out.str().find('\x1b') == std::string::npos);
}

TEST_CASE("quiet console prints only failures, the summary and the report path") {
  std::ostringstream out;
  ConsoleProgress console(out, {.quiet = true});
  auto a = step("ok step", StepStatus::Ok);
  console.step_started(a, 1, 2);
  console.step_finished(a, 1, 2);
  auto b = step("bad step", StepStatus::Failed, "boom");
  console.step_started(b, 2, 2);
  console.step_finished(b, 2, 2);
  console.summary(finished(rollback::ExitCode::StepFailed, "bad step failed"));
  console.report_path("r.md");
  auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "[2/2] bad step ... FAILED (1.2s): boom");
  CHECK(lines[2] == "report: r.md");
}

TEST_CASE("a log line between start and end repeats the step's prefix on its result") {
  std::ostringstream out;
  ConsoleProgress console(out, {.verbose = true});
  auto a = step("Pull", StepStatus::Running);
  console.step_started(a, 1, 1);
  console.log_line("Pull", "pulling layer");
  a.status = StepStatus::Ok;
  console.step_finished(a, 1, 1);
  auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "[1/1] Pull ... ");
  CHECK(lines[1] == "    Pull: pulling layer");
  CHECK(lines[2] == "[1/1] Pull ... ok (1.2s)");
}

TEST_CASE("colors only when asked, and NO_COLOR turns them off") {
  std::ostringstream out;
  ConsoleProgress console(out, {.color = true});
  console.step_finished(step("x", StepStatus::Ok), 1, 1);
  CHECK(out.str().find("\x1b[32mok\x1b[0m") != std::string::npos);
  ::setenv("NO_COLOR", "1", 1);
  CHECK_FALSE(rollback::report::use_color(1));
  ::unsetenv("NO_COLOR");
}

TEST_CASE("a destructive step's line says what it put in place, a read-only step's line stays short") {
  std::ostringstream out;
  ConsoleProgress console(out, {});
  auto restore = step("Restore the database", StepStatus::Ok, "restored /b/pre-deploy-c1.dump into db (1973 bytes)");
  restore.destructive = true;
  console.step_finished(restore, 1, 2);
  console.step_finished(step("Probe", StepStatus::Ok, "200 after 1 attempt"), 2, 2);
  auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "[1/2] Restore the database ... ok (1.2s): restored /b/pre-deploy-c1.dump into db (1973 bytes)");
  CHECK(lines[1] == "[2/2] Probe ... ok (1.2s)");
}

TEST_CASE("a Spanish plan's console says the restore and backup details, results and the last line in Spanish") {
  std::ostringstream out;
  ConsoleProgress console(out, {.lang = "es"});
  auto restore = step("Restaurar el volumen", StepStatus::Ok);
  restore.destructive = true;
  auto said = rollback::actions::Outcome::success();
  said.say("volume.restored", "volume {} restored from {} ({})", {"app_data", "/b/t1/data.tar.zst", "zstd"});
  said.say("volume.emptied_first", ", emptied first");
  restore.message = said.message;
  restore.data = said.data;
  console.step_finished(restore, 1, 3);
  auto backup = step("Respaldar", StepStatus::Ok);
  backup.destructive = true;
  auto saved = rollback::actions::Outcome::success();
  saved.say("volume.backed_up", "volume {} -> {} ({}, {} of {}, {} entries)",
            {"app_data", "/b/pre.tar.zst", "zstd", "1.0 MB", "4.0 MB", "12"});
  saved.say("volume.paused_for", ", {} paused for {}", {"api", "1.2s"});
  backup.message = saved.message;
  backup.data = saved.data;
  console.step_finished(backup, 2, 3);
  console.step_finished(step("Notificar", StepStatus::Skipped), 3, 3);
  auto record = finished(rollback::ExitCode::StepFailed, "step x failed");
  record.report.lang = "es";
  console.summary(record);
  console.report_path("/state/runs/x/report.md");
  auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "[1/3] Restaurar el volumen ... ok (1.2s): volumen app_data restaurado desde /b/t1/data.tar.zst "
                    "(zstd), vaciado antes");
  CHECK(lines[1] == "[2/3] Respaldar ... ok (1.2s): volumen app_data -> /b/pre.tar.zst (zstd, 1.0 MB de 4.0 MB, 12 "
                    "entradas), api en pausa durante 1.2s");
  CHECK(lines[2] == "[3/3] Notificar ... omitido");
  CHECK_THAT(lines[3], Catch::StartsWith("FALLÓ: ") && Catch::EndsWith(", salida 1)"));
  CHECK(lines[4] == "reporte: /state/runs/x/report.md");
}

TEST_CASE("a message changed after its phrases were said is shown as it is, not translated") {
  std::ostringstream out;
  ConsoleProgress console(out, {.lang = "es"});
  auto s = step("Mover", StepStatus::Failed);
  auto said = rollback::actions::Outcome::success();
  said.say("fs.moved", "moved {} to {}", {"/a", "/b"});
  s.data = said.data;
  s.message = "timed out after 5s";  // the engine's words replaced the action's
  console.step_finished(s, 1, 1);
  CHECK(out.str() == "[1/1] Mover ... FALLÓ (1.2s): timed out after 5s\n");
}

TEST_CASE("a Spanish rehearsal's summary says in Spanish what it proved") {
  std::ostringstream out;
  ConsoleProgress console(out, {.lang = "es"});
  auto record = finished(rollback::ExitCode::Success, "rehearsal proved target t1: ...");
  record.report.lang = "es";
  record.rehearsal = true;
  record.target_name = "t1";
  record.extra["rehearsal"] = {{"restore_steps_rehearsed", 2}};
  auto verify = step("API responde", StepStatus::Ok);
  verify.phase = rollback::plan::Phase::Verify;
  record.steps = {step("Restaurar", StepStatus::Ok), verify};
  console.summary(record);
  CHECK_THAT(out.str(), Catch::StartsWith("ensayo ok: el ensayo probó el objetivo t1: 2 paso(s) de restauración sobre "
                                          "copias desechables y 1 verificación(es) correctas; producción no se tocó") &&
                            Catch::EndsWith(", salida 0)\n"));
}
