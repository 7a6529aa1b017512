// A real run preempts a rehearsal (issue 14): a rehearsal holds the lock only until a real
// run (check --auto included) needs it; then it is cancelled, removes what it made, and the
// real run goes ahead without exit 3. Plans of files only: no engine needed.
#include <catch2/catch.hpp>

#include <csignal>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli_spawn.hpp"
#include "support/http_servers.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

// A plan that restores one file from a target folder, then settles for ${settle}: long for
// the rehearsal under test, nothing for the real run.
constexpr const char* kPlan = R"(version: 1
name: files
kind: custom
vars:
  backups: /nonexistent
  live: /nonexistent
  settle: 0s
target:
  from: dir
  dir: ${backups}
  glob: "t-*"
  default: latest
  require: [app.conf]
steps:
  - id: restore-conf
    phase: restore
    action: fs.copy
    with: {from: "${target.path}/app.conf", to: "${live}/app.conf"}
  - id: settle
    phase: restore
    action: wait.sleep
    with: {duration: "${settle}"}
  - id: verify-conf
    phase: verify
    action: fs.latest
    with: {glob: "${live}/app.conf", into: found}
criteria:
  critical:
    - name: the service does not answer
      probe: {action: http.probe, with: {url: "http://127.0.0.1:9/health", timeout: 1s}}
)";

struct Scene {
  testing::TempDir tmp;
  fs::path plans = tmp / "plans", backups = tmp / "backups", live = tmp / "live", state = tmp / "state";
  Scene() {
    fs::create_directories(plans);
    fs::create_directories(backups / "t-1");
    fs::create_directories(live);
    testing::write_text(plans / "files.yaml", kPlan);
    testing::write_text(backups / "t-1" / "app.conf", "good\n");
    testing::write_text(live / "app.conf", "broken\n");
  }
  std::vector<std::string> args(std::vector<std::string> head, std::vector<std::string> extra = {}) const {
    std::vector<std::string> all = std::move(head);
    for (const auto& a : {std::string("--plans-dir"), plans.string(), std::string("--state-dir"), state.string(),
                          std::string("--var"), "backups=" + backups.string(), std::string("--var"),
                          "live=" + live.string()})
      all.push_back(a);
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }
  // A rehearsal started in the background, waiting in its long step.
  cli_test::Background slow_rehearsal(const std::string& tag) const {
    auto bg = cli_test::spawn_rollback(args({"rehearse", "files", "--target", "latest"}, {"--var", "settle=60s"}),
                                       tmp.path(), tag);
    REQUIRE(bg.pid > 0);
    // The rehearsal is in its settle step once it has copied the live folder.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until && !fs::exists(state / "rehearsals"))
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    REQUIRE(fs::exists(state / "rehearsals"));
    return bg;
  }
};

}  // namespace

TEST_CASE("a real run preempts a rehearsal: the rehearsal is cancelled and removes its copies, the run goes ahead "
          "without exit 3",
          "[cli][rehearse][lock]") {
  Scene scene;
  auto rehearsal = scene.slow_rehearsal("rehearsal");
  REQUIRE(testing::read_text(scene.live / "app.conf") == "broken\n");  // the rehearsal wrote into its copy

  auto run = testing::run_rollback(scene.args({"files", "--target", "latest", "--yes"}));
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.err, Catch::Contains("a rehearsal holds the lock") && Catch::Contains("preempts it"));
  CHECK(testing::read_text(scene.live / "app.conf") == "good\n");

  int code = cli_test::wait_exit(rehearsal.pid, std::chrono::seconds(30));
  auto out = testing::read_text(rehearsal.out) + testing::read_text(rehearsal.err);
  INFO(out);
  CHECK(code == 130);
  CHECK_THAT(out, Catch::Contains("rehearsal cancelled: preempted by run"));
  CHECK((!fs::exists(scene.state / "rehearsals") || fs::is_empty(scene.state / "rehearsals")));
}

TEST_CASE("a rehearsal preempted during its preflight exits 130 naming the run that preempted it, and its report "
          "does not say every step succeeded",
          "[cli][rehearse][lock]") {
  Scene scene;
  // The plan first counts what production has (a read-only assess step whose var later
  // steps use: preflight runs it for real), on a server slow enough to be preempted in.
  testing::HttpServer counter(testing::HttpBehaviour{
      .body = "[1, 2]", .content_type = "application/json", .latency = std::chrono::seconds(3)});
  std::string plan = kPlan;
  plan.replace(plan.find("name: files"), 11, "name: counted");
  plan.replace(plan.find("  settle: 0s"), 12, "  settle: 0s\n  count_url: http://127.0.0.1:9/n");
  plan.replace(
      plan.find("steps:\n"), 7,
      "steps:\n  - id: count\n    phase: assess\n    action: http.probe\n    on_failure: continue\n"
      "    with: {url: \"${count_url}\", count: \"\", into: count_before}\n");
  testing::write_text(scene.plans / "counted.yaml", plan);
  auto rehearsal =
      cli_test::spawn_rollback(scene.args({"rehearse", "counted", "--target", "latest"},
                                          {"--var", "count_url=" + counter.url("/n")}),
                               scene.tmp.path(), "rehearsal-preflight");
  REQUIRE(rehearsal.pid > 0);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until && counter.received() == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(counter.received() == 1);  // the rehearsal holds the lock, in its preflight

  auto run = testing::run_rollback(scene.args({"counted", "--target", "latest", "--yes"}));
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.err, Catch::Contains("preempts it"));

  int code = cli_test::wait_exit(rehearsal.pid, std::chrono::seconds(30));
  auto out = testing::read_text(rehearsal.out) + testing::read_text(rehearsal.err);
  INFO(out);
  CHECK(code == 130);
  CHECK_THAT(out, Catch::Contains("rehearsal cancelled: preempted by run") &&
                      !Catch::Contains("preflight failed"));
  auto md = testing::report_path_of(testing::read_text(rehearsal.out));
  auto json = nlohmann::json::parse(testing::read_text(md.substr(0, md.size() - 3) + ".json"));
  CHECK(json["result"]["exit_code"] == 130);
  CHECK_THAT(json["result"]["outcome"].get<std::string>(),
             Catch::Contains("preempted by run") && !Catch::Contains("Every step succeeded"));
  CHECK((!fs::exists(scene.state / "rehearsals") || fs::is_empty(scene.state / "rehearsals")));
}

TEST_CASE("check --auto preempts a rehearsal and runs the plan", "[cli][rehearse][lock][check]") {
  Scene scene;
  auto rehearsal = scene.slow_rehearsal("rehearsal-check");
  auto check = testing::run_rollback(scene.args({"check", "files", "--auto"}));
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
  CHECK(testing::read_text(scene.live / "app.conf") == "good\n");
  CHECK(cli_test::wait_exit(rehearsal.pid, std::chrono::seconds(30)) == 130);
  CHECK((!fs::exists(scene.state / "rehearsals") || fs::is_empty(scene.state / "rehearsals")));
}

TEST_CASE("a rehearsal of a plan of files proves its target without touching the live file", "[cli][rehearse]") {
  Scene scene;
  auto rehearsed = testing::run_rollback(scene.args({"rehearse", "files", "--target", "latest"}));
  INFO(rehearsed.out << rehearsed.err);
  CHECK(rehearsed.exit_code == 0);
  CHECK(testing::read_text(scene.live / "app.conf") == "broken\n");
  CHECK((!fs::exists(scene.state / "rehearsals") || fs::is_empty(scene.state / "rehearsals")));
}

TEST_CASE("a second rehearsal does not preempt the first: it exits 3", "[cli][rehearse][lock]") {
  Scene scene;
  auto first = scene.slow_rehearsal("first");
  auto second = testing::run_rollback(scene.args({"rehearse", "files", "--target", "latest"}));
  CHECK(second.exit_code == 3);
  ::kill(first.pid, SIGTERM);
  CHECK(cli_test::wait_exit(first.pid, std::chrono::seconds(30)) == 130);
}
