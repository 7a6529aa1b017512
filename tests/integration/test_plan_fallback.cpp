// The runbook's fallback (issue 17): the shipped coolify plan, whose Coolify API refuses
// connections, hands over to git-sql in the same run, on real git and PostgreSQL; under
// `check --auto` that counts as one rollback and restores no data for a latency criterion;
// the plan-level notify list reaches a webhook on exit 4 and after a fallback; a run killed
// inside the fallback resumes it.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include <rollback/util/time.hpp>

#include "cli_spawn.hpp"
#include "git_sql_scene.hpp"
#include "test_docker_support.hpp"
#include "support/fake_coolify.hpp"
#include "support/http_servers.hpp"

using namespace gitsql_test;

namespace {

const std::string kLatency = "Latencia inaceptable (TTFB de más de 3 s de forma sostenida)";

// The scene after a bad deploy that backup-git-sql preceded, with the coolify plan's vars on
// top of git-sql's: a Coolify that refuses connections, the app's /health (answering the
// stable version) and the notification webhook in this test.
struct AfterBadDeploy : Scene {
  std::unique_ptr<testing::HttpServer> app = testing::HttpServer::json(R"({"version":"3","status":"ok"})");
  std::unique_ptr<testing::HttpServer> hook = testing::HttpServer::healthy();

  AfterBadDeploy() {
    REQUIRE(rollback("backup-git-sql", {"--yes"}).exit_code == 0);
    bad_deploy();
    common.insert(common.end(),
                  {"--var", fmt::format("coolify_url=http://127.0.0.1:{}", testing::unused_port()), "--var",
                   "application=andrea-app", "--var", "app_url=" + app->url(""), "--var", "expected_version=3",
                   "--var", "notify_webhook=" + hook->url("/hook")});
    env = {{"COOLIFY_TOKEN", "tok-fallback-s3cret"}};
  }
};

// criteria.json as cron would have left it: the latency criterion failing for ten minutes.
void latency_failing_since_ten_minutes(const fs::path& state) {
  auto since = rollback::format_iso_utc(std::chrono::system_clock::now() - std::chrono::minutes(10));
  nlohmann::json plan = {{"criteria", {{kLatency, {{"first_failed_at", since}, {"last_value", "latency=3500ms"},
                                                   {"consecutive_failures", 10}, {"last_checked", since}}}}}};
  auto file = state / "criteria.json";
  if (fs::exists(file)) {
    auto kept = nlohmann::json::parse(testing::read_text(file));
    plan["last_auto_run_at"] = kept["plans"]["coolify"]["last_auto_run_at"];
    plan["last_auto_run_id"] = kept["plans"]["coolify"]["last_auto_run_id"];
  }
  fs::create_directories(state);
  testing::write_text(file, nlohmann::json({{"version", 1}, {"plans", {{"coolify", plan}}}}).dump(2));
}

}  // namespace

TEST_CASE("coolify with its API refusing connections falls back to git-sql in the same run: code and data back, one "
          "report covering both plans, one notification",
          "[plans][fallback][git][pg]") {
  AfterBadDeploy scene;
  auto& hook = scene.hook;

  auto dry = scene.rollback("coolify", {"--dry-run"});
  CHECK(dry.exit_code == 4);  // Coolify does not answer; a dry run never falls back
  CHECK_THAT(dry.out, Catch::Contains("fallback: plan git-sql would run if this run stops before changing anything"));

  auto run = scene.rollback("coolify", {"--yes", "--reason", "Coolify no responde"});
  REQUIRE(run.exit_code == 0);  // the fallback's
  CHECK_THAT(run.out, Catch::Contains("hands over to its fallback, plan git-sql"));
  CHECK(git(scene.origin, {"rev-parse", "refs/heads/main"}) == scene.deploys[2]);
  CHECK(scene.db.checksum() == scene.good_checksum);  // a person ran it: data restored too

  auto report = testing::read_text(testing::report_path_of(run.out));
  INFO(report);
  CHECK_THAT(report, Catch::Contains("coolify → git-sql"));
  CHECK_THAT(report, Catch::Contains("## Plan de respaldo") && Catch::Contains("Primero se ejecutó el plan **coolify**"));
  CHECK_THAT(report, Catch::Contains("fallback.when: preflight") && Catch::Contains("webhook de Coolify"));
  CHECK_THAT(report, Catch::Contains("### Procedimiento del plan coolify") && Catch::Contains("coolify-rollback"));
  CHECK_THAT(report, Catch::Contains("## Procedimiento del plan git-sql") && Catch::Contains("db-restore"));
  CHECK_THAT(report, Catch::Contains("## Notificaciones"));
  CHECK_THAT(report, !Catch::Contains("tok-fallback-s3cret"));

  // Both plans declare notify_webhook: the same notification is sent once.
  CHECK(hook->requests() == 1);
  CHECK_THAT(hook->last_body(), Catch::Contains("coolify -> git-sql") && Catch::Contains("exit 0"));

  auto listed = testing::run_rollback({"history", "--json", "--state-dir", (scene.tmp / "state").string()});
  auto runs = nlohmann::json::parse(listed.out);
  REQUIRE(runs.size() == 2);  // the backup, then the one rollback
  CHECK(runs[0]["plans"] == nlohmann::json({"coolify", "git-sql"}));
}

TEST_CASE("check --auto on coolify falls back to git-sql as one rollback against the cooldown, and restores no data "
          "when the criterion that fired is the latency one",
          "[plans][fallback][check][git][pg]") {
  AfterBadDeploy scene;
  auto& app = scene.app;
  // The app's container as Coolify's compose project runs it, printing the API token.
  dockertest::require_engine();
  dockertest::Cleanup cleanup;
  cleanup.projects.push_back("andrea-app");
  REQUIRE(dockertest::docker_rc({"run", "-d", "--name", dockertest::unique("andrea-app"), "--label",
                                 "com.docker.compose.project=andrea-app", "--label", "com.docker.compose.service=app",
                                 dockertest::image(), "sh", "-c",
                                 "echo 'extraction timed out after 30s (auth tok-fallback-s3cret)'; sleep 600"}) == 0);
  auto damaged = scene.db.checksum();
  auto state = scene.tmp / "state";
  latency_failing_since_ten_minutes(state);
  app->delay_next(1, std::chrono::milliseconds(3500));  // the criterion's probe: over 3 s

  auto fired = scene.command("check", "coolify", {"--auto"});
  REQUIRE(fired.exit_code == 0);
  CHECK_THAT(fired.out, Catch::Contains("running plan coolify unattended") &&
                            Catch::Contains("hands over to its fallback, plan git-sql"));
  CHECK(git(scene.origin, {"rev-parse", "refs/heads/main"}) == scene.deploys[2]);  // code reverted
  CHECK(scene.db.checksum() == damaged);                                          // data left alone
  auto report = testing::read_text(testing::report_path_of(fired.out));
  INFO(report);
  CHECK_THAT(report, Catch::Contains(kLatency));
  CHECK_THAT(report, Catch::Contains("`db-restore`): **omitido"));
  // The incident log: the failure began when criteria.json says the latency streak did.
  CHECK_THAT(report, Catch::Contains("## Log de Incidente") && Catch::Contains("**Hora del fallo**: ") &&
                         Catch::Contains("(crítico, disparó): fallando desde") &&
                         Catch::Contains("**Acción tomada**: coolify → git-sql"));
  auto json = nlohmann::json::parse(
      testing::read_text(fs::path(testing::report_path_of(fired.out)).replace_extension(".json")));
  CHECK(json["incident"]["fired"] == nlohmann::json({kLatency}));
  CHECK(json["incident"]["action"]["plans"] == nlohmann::json({"coolify", "git-sql"}));
  CHECK_THAT(report, Catch::Contains("extraction timed out after 30s (auth ***)") &&
                         !Catch::Contains("tok-fallback-s3cret"));

  // Still failing a minute later: the pair was one rollback, and the cooldown holds.
  latency_failing_since_ten_minutes(state);
  app->delay_next(1, std::chrono::milliseconds(3500));
  auto again = scene.command("check", "coolify", {"--auto"});
  CHECK(again.exit_code == 11);
  CHECK_THAT(again.out, Catch::Contains("not running again"));
  auto listed = testing::run_rollback({"history", "--json", "--state-dir", state.string()});
  auto runs = nlohmann::json::parse(listed.out);
  CHECK(runs.size() == 2);  // the backup and the one automatic run
}

TEST_CASE("the plan-level notify list reaches the webhook when a run stops at preflight with exit 4", "[plans][notify][git][pg]") {
  Scene scene;
  auto app = testing::HttpServer::json(R"({"version":"3","status":"ok"})");
  auto hook = testing::HttpServer::healthy();
  REQUIRE(scene.rollback("backup-git-sql", {"--yes"}).exit_code == 0);
  scene.bad_deploy();
  for (const auto& e : fs::directory_iterator(scene.backups))
    if (e.path().extension() == ".dump") fs::resize_file(e.path(), 0);

  auto run = scene.rollback("git-sql", {"--target", "previous", "--yes", "--var", "app_url=" + app->url(""), "--var",
                                        "notify_webhook=" + hook->url("/hook")});
  CHECK(run.exit_code == 4);
  CHECK(hook->requests() == 1);
  CHECK_THAT(hook->last_body(), Catch::Contains("git-sql") && Catch::Contains("exit 4"));
  if (auto path = testing::report_path_of(run.out); !path.empty())  // a target that does not verify writes none
    CHECK_THAT(testing::read_text(path), Catch::Contains("## Notificaciones") && Catch::Contains("enviada"));

  // Empty by default: no notification, and the run says so.
  auto quiet = scene.rollback("git-sql", {"--target", "previous", "--yes", "--var", "app_url=" + app->url("")});
  CHECK(quiet.exit_code == 4);
  CHECK(hook->requests() == 1);
  CHECK_THAT(quiet.out + quiet.err, Catch::Contains("not configured: url is empty"));
}

TEST_CASE("a Coolify rollback deployment that ends failed leaves the running one in place, so coolify hands over to "
          "git-sql (fallback.when: failed)",
          "[plans][fallback][git][pg]") {
  AfterBadDeploy scene;
  testing::FakeCoolify coolify;
  coolify.set_deployments({{"dep-4", std::string(40, '4'), "broken", "finished"},
                           {"dep-3", std::string(40, '3'), "stable", "finished"}});
  coolify.set_new_deployment_stages({{"failed", std::chrono::milliseconds(0)}}, R"([{"output":"build failed"}])");
  scene.common.insert(scene.common.end(), {"--var", "coolify_url=" + coolify.url(), "--var",
                                           std::string("application=") + testing::FakeCoolify::kApp});
  scene.env = {{"COOLIFY_TOKEN", "fake-token-s3cr3t"}};

  auto run = scene.rollback("coolify", {"--yes"});
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("fallback.when: failed"));
  CHECK(git(scene.origin, {"rev-parse", "refs/heads/main"}) == scene.deploys[2]);
  auto report = testing::read_text(testing::report_path_of(run.out));
  INFO(report);
  CHECK_THAT(report, Catch::Contains("`coolify-rollback`): **FALLÓ") && Catch::Contains("## Procedimiento del plan git-sql"));
  CHECK_THAT(report, !Catch::Contains("fake-token-s3cr3t"));
}

TEST_CASE("a run killed inside the fallback plan resumes the fallback, and the resumed report still covers both plans",
          "[plans][fallback][resume][git][pg]") {
  AfterBadDeploy scene;
  auto state = scene.tmp / "state";
  auto args = scene.common;
  args.insert(args.begin(), "coolify");
  args.push_back("--yes");
  ::setenv("COOLIFY_TOKEN", "tok-fallback-s3cret", 1);
  ::setenv("ROLLBACK_TEST_PAUSE_AT", "db-restore", 1);  // git-sql's restore: git already reset
  auto killed = cli_test::spawn_rollback(args, scene.tmp.path(), "killed");
  ::unsetenv("ROLLBACK_TEST_PAUSE_AT");
  ::unsetenv("COOLIFY_TOKEN");
  REQUIRE(killed.pid > 0);
  bool paused = false;
  for (int i = 0; i < 3000 && !paused; ++i) {
    paused = testing::read_text(killed.err).find("paused in step db-restore") != std::string::npos;
    if (!paused) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(killed.pid, SIGKILL);
  CHECK(cli_test::wait_exit(killed.pid) == 128 + SIGKILL);
  REQUIRE(paused);
  CHECK(git(scene.origin, {"rev-parse", "refs/heads/main"}) == scene.deploys[2]);

  auto resumed = testing::run_rollback({"resume", "--yes", "--state-dir", state.string()});
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(scene.db.checksum() == scene.good_checksum);  // the restore, run again to its end
  auto report = testing::read_text(testing::report_path_of(resumed.out));
  CHECK_THAT(report, Catch::Contains("coolify → git-sql") && Catch::Contains("## Plan de respaldo") &&
                         Catch::Contains("## Procedimiento del plan git-sql"));
  auto runs = nlohmann::json::parse(testing::run_rollback({"history", "--json", "--state-dir", state.string()}).out);
  REQUIRE(runs.size() == 2);  // the backup and the one rollback
  CHECK(runs[0]["plans"] == nlohmann::json({"coolify", "git-sql"}));
  CHECK(runs[0]["exit_code"] == 0);
}

// Issue 24: a change Coolify may have made is not a failure that changed nothing. git-sql must
// not push and restore on top of a rollback Coolify may be running: that would lose every row
// written since the dump.
namespace {

using namespace std::chrono_literals;

struct LostAnswer : AfterBadDeploy {
  testing::FakeCoolify coolify;
  std::string remote_before, data_before;

  LostAnswer() {
    coolify.set_deployments({{"dep-4", std::string(40, '4'), "broken", "finished"},
                             {"dep-3", std::string(40, '3'), "stable", "finished"}});
    coolify.set_new_deployment_stages({{"in_progress", 10min}});
    common.insert(common.end(), {"--var", "coolify_url=" + coolify.url(), "--var",
                                 std::string("application=") + testing::FakeCoolify::kApp});
    env = {{"COOLIFY_TOKEN", "fake-token-s3cr3t"}};
    remote_before = ls_remote();
    data_before = db.checksum();
  }

  std::string ls_remote() const {
    return git(tmp.path(), {"ls-remote", origin.string(), "refs/heads/main"});
  }

  // Exit 1 with no fallback: the remote's ref and the data as they were, and the console,
  // report.md and report.json saying what is unknown and what to check.
  void left_untouched(const testing::CommandResult& run, const std::string& unknown) const {
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.out, !Catch::Contains("hands over to its fallback"));
    CHECK(ls_remote() == remote_before);
    CHECK(db.checksum() == data_before);
    auto path = testing::report_path_of(run.out);
    REQUIRE_FALSE(path.empty());
    auto report = testing::read_text(path);
    INFO(report);
    CHECK_THAT(report, Catch::Contains(unknown) && Catch::Contains("no fallback runs") &&
                           Catch::Contains("/api/v1/deployments/applications/app-uuid-1") &&
                           !Catch::Contains("## Procedimiento del plan git-sql") &&
                           !Catch::Contains("fake-token-s3cr3t"));
    auto json =
        nlohmann::json::parse(testing::read_text(fs::path(path).replace_extension(".json")));
    INFO(json.dump(2));
    CHECK(json["result"]["exit_code"] == 1);
    CHECK_THAT(json["result"]["message"].get<std::string>(),
               Catch::Contains("no fallback to plan git-sql"));
    CHECK_THAT(json.dump(), Catch::Contains(unknown) && Catch::Contains("failure_left_changes") &&
                                Catch::Contains("/api/v1/deployments/applications/app-uuid-1"));
  }
};

}  // namespace

TEST_CASE(
    "coolify whose rollback POST got a 500 stops with exit 1: no git-sql, the remote and the data "
    "untouched",
    "[plans][fallback][unknown][git][pg]") {
  LostAnswer scene;
  scene.coolify.set_fault("rollback", {.status = 500});  // queued, then the answer failed
  auto run = scene.rollback("coolify", {"--yes"});
  scene.left_untouched(run, "Unknown whether Coolify queued a rollback deployment");
  CHECK(scene.coolify.deployments().front().rollback);
}

TEST_CASE(
    "coolify whose rollback POST was received but never answered stops with exit 1: no git-sql",
    "[plans][fallback][unknown][git][pg]") {
  LostAnswer scene;
  scene.coolify.set_fault("rollback", {.stall = 120s});  // ended when the fake stops
  auto run = scene.rollback("coolify", {"--yes"});
  scene.left_untouched(run, "Unknown whether Coolify queued a rollback deployment");
  CHECK_THAT(run.out + run.err, Catch::Contains("Timeout was reached"));
}

TEST_CASE(
    "coolify on a server without the rollback endpoint: 404, PATCH ok, /deploy 500 stops with exit "
    "1: no git-sql",
    "[plans][fallback][unknown][git][pg]") {
  LostAnswer scene;
  scene.coolify.set_rollback_endpoint(false);
  scene.coolify.set_fault("deploy", {.status = 500});
  auto run = scene.rollback("coolify", {"--yes"});
  scene.left_untouched(run, "Unknown whether Coolify queued a deployment of commit");
  CHECK(scene.coolify.app_commit() == std::string(40, '3'));
}
