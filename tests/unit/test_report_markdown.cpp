#include <catch2/catch.hpp>

#include <rollback/report/report.hpp>
#include <rollback/util/redact.hpp>

#include "support/temp_dir.hpp"

using rollback::Millis;
using rollback::engine::RunRecord;
using rollback::engine::StepRecord;
using rollback::engine::StepStatus;
using rollback::plan::Phase;

namespace {

StepRecord make_step(std::string id, Phase phase, StepStatus status, std::string message = "",
                     Millis took = Millis(1200)) {
  StepRecord s;
  s.id = id;
  s.name = "Do " + id;
  s.action = "test.record";
  s.phase = phase;
  s.status = status;
  s.message = std::move(message);
  s.attempts = status == StepStatus::Pending ? 0 : 1;
  if (status != StepStatus::Pending) {
    s.started = std::chrono::system_clock::now();
    s.ended = *s.started + took;
    s.duration = took;
  }
  return s;
}

RunRecord sample(std::string lang) {
  RunRecord r;
  r.run_id = "20250127-180000-full-3f2a";
  r.plan_name = "full";
  r.plan_path = "plans/full.yaml";
  r.kind = rollback::plan::Kind::Full;
  r.operator_name = "ana";
  r.host = "staging-1";
  r.reason = "Evolution API returns 500 after deploy";
  r.target_name = "staging-20250127-180000";
  r.from_version = "staging-20250128-090000";
  r.started = std::chrono::system_clock::now() - std::chrono::minutes(12);
  r.ended = std::chrono::system_clock::now();
  r.budget = Millis(10 * 60 * 1000);
  r.report.lang = std::move(lang);
  r.report.contacts = {"DevOps Lead: +57 300 000 0000"};
  r.report.checklist = {"Clientes notificados"};
  r.report.follow_up = {"Root cause analysis"};
  r.vars["pre_rollback_target"] = "pre-rollback-20250128-100000";
  r.steps.push_back(make_step("backup", Phase::Backup, StepStatus::Ok, "archived 3 volumes"));
  r.steps.push_back(make_step("stop", Phase::Stop, StepStatus::Ok));
  auto restore = make_step("restore-db", Phase::Restore, StepStatus::Failed, "pg_restore exit 1");
  restore.log_excerpt = "pg_restore: error: relation \"x\" exists\n";
  r.steps.push_back(restore);
  r.steps.push_back(make_step("start", Phase::Start, StepStatus::Pending));
  auto health = make_step("health", Phase::Verify, StepStatus::Pending);
  r.steps.push_back(health);
  r.result = rollback::ExitCode::StepFailed;
  r.result_message = "step restore-db (Do restore-db) failed: pg_restore exit 1";
  return r;
}

}  // namespace

TEST_CASE("the English report has every section of the runbook's template") {
  auto md = rollback::report::render_markdown(sample("en"));
  for (const char* section :
       {"# ROLLBACK REPORT", "**Date**", "**Executed by**: ana", "**Rollback type**: Full (full)",
        "## Reason for the Rollback", "Evolution API returns 500", "## Versions",
        "Rolled back from**: staging-20250128-090000", "Restored to**: staging-20250127-180000",
        "## Procedure Executed", "### Backup of current state", "## Execution Time",
        "**Start**", "**End**", "**Total duration**", "OVER BUDGET", "## Post-Rollback State",
        "## Outcome", "## Follow-up Actions", "## Lessons Learned", "## Relevant Log Excerpts",
        "## Escalation Contacts", "DevOps Lead", "## Manual Checklist", "- [ ] Clientes notificados",
        "`20250127-180000-full-3f2a`"})
    CHECK_THAT(md, Catch::Contains(section));
  CHECK_THAT(md, Catch::Contains("- [x] Do backup (`backup`): **ok**, 1.2s: archived 3 volumes"));
  CHECK_THAT(md, Catch::Contains("- [ ] Do restore-db (`restore-db`): **FAILED**, 1.2s: pg_restore exit 1"));
  CHECK_THAT(md, Catch::Contains("- [ ] Do start (`start`): **not run**"));
  CHECK_THAT(md, Catch::Contains("**STEP FAILED** (exit code 1)"));
  CHECK_THAT(md, Catch::Contains("2 step(s) after it did not run: start, health"));
  CHECK_THAT(md, Catch::Contains("1. Root cause analysis"));
  CHECK_THAT(md, Catch::Contains("Investigate failed step restore-db"));
  CHECK_THAT(md, Catch::Contains("--target pre-rollback-20250128-100000"));
  CHECK_THAT(md, Catch::Contains("relation \"x\" exists"));
}

TEST_CASE("the Spanish report uses the runbook's headings") {
  auto md = rollback::report::render_markdown(sample("es"));
  for (const char* section :
       {"# REPORTE DE ROLLBACK", "**Fecha**", "**Ejecutado por**: ana", "**Tipo de Rollback**",
        "## Motivo del Rollback", "## Versión Anterior", "**Versión Rollback**",
        "**Versión Restaurada**", "## Procedimiento Ejecutado", "### Backup de estado actual",
        "### Detención de servicios", "## Tiempo de Ejecución", "**Inicio**", "**Fin**",
        "**Duración Total**", "## Estado Post-Rollback", "## Acciones de Seguimiento",
        "## Lecciones Aprendidas", "## Contactos de Escalamiento", "FALLÓ", "no ejecutado"})
    CHECK_THAT(md, Catch::Contains(section));
  CHECK(md.find("## Follow-up Actions") == std::string::npos);
}

TEST_CASE("verification steps show in the post-rollback state with their observations") {
  auto r = sample("en");
  r.steps[2].status = StepStatus::Ok;
  r.steps[3].status = StepStatus::Ok;
  r.steps[4] = make_step("health", Phase::Verify, StepStatus::Failed, "status 502, expected 200");
  r.steps[4].observations = {{"status", "502", false}, {"latency", "35ms", true}};
  r.result = rollback::ExitCode::VerifyFailed;
  auto md = rollback::report::render_markdown(r);
  CHECK_THAT(md, Catch::Contains("- **Do health**: ERROR (status 502, expected 200)"));
  CHECK_THAT(md, Catch::Contains("  - status: 502 [ERROR]"));
  CHECK_THAT(md, Catch::Contains("  - latency: 35ms [OK]"));
  CHECK_THAT(md, Catch::Contains("VERIFICATION FAILED"));
}

TEST_CASE("a dry run is marked and a run within budget is not flagged") {
  auto r = sample("en");
  r.dry_run = true;
  r.budget = Millis(60 * 60 * 1000);
  auto md = rollback::report::render_markdown(r);
  CHECK_THAT(md, Catch::Contains("DRY RUN"));
  CHECK_THAT(md, Catch::Contains("within budget"));
  CHECK(md.find("OVER BUDGET") == std::string::npos);
}

TEST_CASE("a log excerpt is bounded and cannot break out of its code fence") {
  auto r = sample("en");
  std::string log = "```\n# injected heading\n";
  for (int i = 0; i < 500; ++i) log += "noise line " + std::to_string(i) + "\n";
  r.steps[2].log_excerpt = log;
  auto md = rollback::report::render_markdown(r);
  CHECK_THAT(md, Catch::Contains("````text"));
  CHECK_THAT(md, Catch::Contains("lines omitted"));
  CHECK(md.find("noise line 250") == std::string::npos);
}

TEST_CASE("a registered secret never appears in the Markdown or JSON report") {
  rollback::register_secret("pa55-w0rd-xyz");
  auto r = sample("en");
  r.reason = "token pa55-w0rd-xyz leaked";
  r.steps[2].message = "psql: password pa55-w0rd-xyz rejected";
  r.steps[2].log_excerpt = "connecting with pa55-w0rd-xyz\n";
  r.steps[2].observations = {{"dsn", "postgres://u:pa55-w0rd-xyz@db", false}};
  r.steps[2].data = {{"dsn", "postgres://u:pa55-w0rd-xyz@db"}};
  r.vars["db_password"] = "pa55-w0rd-xyz";
  auto md = rollback::report::render_markdown(r);
  auto json = rollback::report::render_json(r).dump();
  CHECK(md.find("pa55-w0rd-xyz") == std::string::npos);
  CHECK(json.find("pa55-w0rd-xyz") == std::string::npos);
  CHECK_THAT(md, Catch::Contains("***"));

  testing::TempDir dir;
  auto written = rollback::report::write_report(r, dir / "report.md");
  REQUIRE(written);
  CHECK(testing::read_text(dir / "report.md").find("pa55-w0rd-xyz") == std::string::npos);
  CHECK(testing::read_text(dir / "report.json").find("pa55-w0rd-xyz") == std::string::npos);
  rollback::clear_secrets();
}

TEST_CASE("a run that fell back reports one incident: the first plan's outcome and why it handed over, then the "
          "fallback's procedure, and the notifications, in Spanish and English and in the JSON twin",
          "[report][fallback]") {
  for (std::string lang : {"es", "en"}) {
    RunRecord first = sample(lang);
    first.plan_name = "coolify";
    first.steps = {make_step("coolify-rollback", Phase::Restore, StepStatus::Pending)};
    first.result = rollback::ExitCode::PreflightFailed;
    first.result_message = "target 'previous': connection refused";
    first.ended = first.started + Millis(900);
    first.handed_over = "plan coolify stopped before changing anything (exit 4; fallback.when: preflight)";
    RunRecord r = sample(lang);
    r.plan_name = "git-sql";
    r.fell_back_from.push_back(first);
    r.fallback_note = "the push redeploys through Coolify's webhook";
    StepRecord sent = make_step("notify-1", Phase::Notify, StepStatus::Ok, "notification sent: POST http://hook");
    sent.action = "notify.webhook";
    r.notifications.push_back(sent);
    auto md = rollback::report::render_markdown(r);
    INFO(md);
    bool es = lang == "es";
    CHECK_THAT(md, Catch::Contains("coolify → git-sql"));
    CHECK_THAT(md, Catch::Contains(es ? "## Plan de respaldo" : "## Fallback"));
    CHECK_THAT(md, Catch::Contains("connection refused") && Catch::Contains("fallback.when: preflight") &&
                       Catch::Contains("Coolify's webhook"));
    CHECK_THAT(md, Catch::Contains(es ? "### Procedimiento del plan coolify" : "### Procedure of plan coolify"));
    CHECK_THAT(md, Catch::Contains(es ? "## Procedimiento del plan git-sql" : "## Procedure of plan git-sql"));
    CHECK_THAT(md, Catch::Contains(es ? "## Notificaciones" : "## Notifications"));
    CHECK(md.find("coolify-rollback") < md.find(es ? "## Procedimiento del plan git-sql" : "## Procedure of plan git"));
    auto json = rollback::report::render_json(r);
    CHECK(json["fallback"]["from"]["plan"] == "coolify");
    CHECK(json["fallback"]["from"]["result"]["exit_code"] == 4);
    CHECK(json["fallback"]["to"] == "git-sql");
    CHECK(json["notifications"][0]["action"] == "notify.webhook");
  }
}

TEST_CASE("the incident log gives the time the failure began, the symptoms, the action taken and the application's "
          "logs, in Spanish and English and in the JSON twin",
          "[report][incident]") {
  for (std::string lang : {"es", "en"}) {
    RunRecord r = sample(lang);
    r.plan_name = "git-sql";
    r.target_name = "3f2c1a9";
    RunRecord first = sample(lang);
    first.plan_name = "coolify";
    r.fell_back_from.push_back(first);
    r.extra["incident"] = {
        {"began", "2026-11-27T00:10:00Z"},
        {"fired", {"Latencia inaceptable"}},
        {"criteria",
         {{{"name", "Latencia inaceptable"}, {"critical", true}, {"fired", true},
           {"failing_since", "2026-11-27T00:10:00Z"}, {"checks", 11}, {"first", "status=200 latency=3.5s"},
           {"last", "status=200 latency=4.1s"}, {"worst", "latency=5.2s"}}}},
        {"logs", {{"source", "docker logs of 1 of 1 container(s) of name~andrea"},
                  {"excerpt", "== andrea-app (running)\n2026-11-27T00:09:59Z ERROR extraction timed out\n"}}}};
    auto md = rollback::report::render_markdown(r);
    INFO(md);
    bool es = lang == "es";
    CHECK_THAT(md, Catch::Contains(es ? "## Log de Incidente" : "## Incident Log"));
    CHECK_THAT(md, Catch::Contains(es ? "**Hora del fallo**: 2026-11-27 00:10:00 UTC"
                                      : "**Failure began**: 2026-11-27 00:10:00 UTC"));
    CHECK_THAT(md, Catch::Contains("latency=5.2s") && Catch::Contains("status=200 latency=3.5s") &&
                       Catch::Contains(es ? "11 comprobación(es)" : "11 check(s)"));
    CHECK_THAT(md, Catch::Contains(es ? "**Acción tomada**: coolify → git-sql, objetivo 3f2c1a9"
                                      : "**Action taken**: coolify → git-sql, target 3f2c1a9"));
    CHECK_THAT(md, Catch::Contains("ERROR extraction timed out"));
    CHECK(md.find(es ? "## Log de Incidente" : "## Incident Log") < md.find("## Proced"));
    auto json = rollback::report::render_json(r);
    CHECK(json["incident"]["began"] == "2026-11-27T00:10:00Z");
    CHECK(json["incident"]["action"]["plans"] == nlohmann::json({"coolify", "git-sql"}));
    CHECK(json["incident"]["logs"]["excerpt"].get<std::string>().find("extraction timed out") != std::string::npos);
  }
}
