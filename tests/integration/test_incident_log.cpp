// The incident log (issue 17, part 2): a run that `check --auto` starts reports when the
// failure began (the first failing observation kept in criteria.json), the symptoms, the
// action taken and the application containers' own logs, read before anything stopped,
// with secrets that the app printed redacted. A person gives the start with --since.
#include <catch2/catch.hpp>

#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <rollback/util/time.hpp>

#include "support/http_servers.hpp"
#include "support/temp_dir.hpp"
#include "test_docker_support.hpp"

namespace fs = std::filesystem;
using namespace dockertest;

namespace {

const std::string kSecret = "tok-incident-8c1f02";

// A plan whose API criterion probes a refused port, whose monitor names the app's container,
// and whose one step stops that container: the logs must be read before it runs.
std::string plan_text(const std::string& container, int refused_port) {
  return fmt::format(R"(version: 1
name: incident
kind: emergency
secrets:
  app_token: {{env: APP_TOKEN}}
vars:
  container: {}
criteria:
  critical:
    - name: api down
      probe: {{action: http.probe, with: {{url: "http://127.0.0.1:{}/health"}}}}
      for: 2m
monitor:
  containers: {{filter: "${{container}}"}}
steps:
  - id: stop-app
    action: docker.stop
    with: {{filter: "${{container}}"}}
report:
  lang: en
)",
                     container, refused_port);
}

}  // namespace

TEST_CASE("a run started by check --auto reports the incident log: when the failure began from the check state, the "
          "symptoms, the action taken, and the app's logs read before it was stopped, secrets redacted",
          "[incident][docker][check]") {
  require_engine();
  testing::TempDir tmp;
  Cleanup cleanup;
  auto container = unique("rb-incident");
  cleanup.name_prefixes.push_back(container);
  REQUIRE(docker_rc({"run", "-d", "--name", container, image(), "sh", "-c",
                     "echo \"boot ok\"; echo \"ERROR upstream refused, retry with token=" + kSecret +
                         "\"; sleep 600"}) == 0);
  testing::write_text(tmp / "incident.yaml", plan_text(container, testing::unused_port()));
  auto state = tmp / "state";
  fs::create_directories(state);
  auto began = rollback::format_utc(std::chrono::system_clock::now() - std::chrono::minutes(10), rollback::kIsoSecondsUtc);
  testing::write_text(state / "criteria.json",
                      nlohmann::json({{"version", 1},
                                      {"plans",
                                       {{"incident",
                                         {{"criteria",
                                           {{"api down",
                                             {{"first_failed_at", began}, {"first_value", "connection refused"},
                                              {"last_value", "connection refused"}, {"consecutive_failures", 10},
                                              {"last_checked", began}}}}}}}}}})
                          .dump());

  auto fired = testing::run_rollback({"check", (tmp / "incident.yaml").string(), "--auto", "--state-dir",
                                      state.string()},
                                     {{"APP_TOKEN", kSecret}});
  INFO(fired.out << fired.err);
  REQUIRE(fired.exit_code == 0);
  CHECK(docker_out({"inspect", "-f", "{{.State.Running}}", container}).starts_with("false"));  // the step ran

  auto report = testing::read_text(testing::report_path_of(fired.out));
  INFO(report);
  auto began_human = rollback::format_utc(*rollback::parse_iso_utc(began), rollback::kHumanUtc);
  CHECK_THAT(report, Catch::Contains("## Incident Log"));
  CHECK_THAT(report, Catch::Contains("**Failure began**: " + began_human));
  CHECK_THAT(report, Catch::Contains("**api down** (critical, fired): failing since " + began_human));
  CHECK_THAT(report, Catch::Contains("first: connection refused"));
  CHECK_THAT(report, Catch::Contains("**Action taken**: incident"));
  CHECK_THAT(report, Catch::Contains("== " + container) && Catch::Contains("ERROR upstream refused"));
  CHECK_THAT(report, Catch::Contains("token=***"));
  CHECK_THAT(report, !Catch::Contains(kSecret));
  auto json = nlohmann::json::parse(testing::read_text(fs::path(testing::report_path_of(fired.out)).replace_extension(".json")));
  CHECK(json["incident"]["began"] == began);
  CHECK(json["incident"]["fired"] == nlohmann::json({"api down"}));
  CHECK(json.dump().find(kSecret) == std::string::npos);
}

TEST_CASE("a person gives the incident's start with --since, and the report carries the app's logs from then",
          "[incident][docker]") {
  require_engine();
  testing::TempDir tmp;
  Cleanup cleanup;
  auto container = unique("rb-incident");
  cleanup.name_prefixes.push_back(container);
  REQUIRE(docker_rc({"run", "-d", "--name", container, image(), "sh", "-c", "echo \"panic: out of memory\"; sleep 600"}) ==
          0);
  testing::write_text(tmp / "incident.yaml", plan_text(container, testing::unused_port()));
  auto run = testing::run_rollback({"run", (tmp / "incident.yaml").string(), "--yes", "--since", "15m", "--state-dir",
                                    (tmp / "state").string()},
                                   {{"APP_TOKEN", kSecret}});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  auto report = testing::read_text(testing::report_path_of(run.out));
  CHECK_THAT(report, Catch::Contains("**Failure began**: ") && Catch::Contains("(as given with --since)"));
  CHECK_THAT(report, Catch::Contains("panic: out of memory"));

  auto bad = testing::run_rollback({"run", (tmp / "incident.yaml").string(), "--since", "yesterday"});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("--since") && Catch::Contains("ISO-8601"));
}

TEST_CASE(
    "the incident log counts the app's skipped log lines exactly when it read them all, and with a "
    "large log "
    "says earlier lines were skipped without a number",
    "[incident][docker]") {
  require_engine();
  testing::TempDir tmp;
  Cleanup cleanup;
  // 50 numbers and "logged-all": all read, the last 30 shown, 21 skipped. 300000: docker's
  // --tail cut them, so nobody counted the rest (the old text said "90 earlier line(s)" for
  // 1.2 million).
  for (auto [lines, expected] :
       {std::pair<int, std::string>{50, "[... 21 earlier line(s) skipped ...]"},
        std::pair<int, std::string>{300000, "[... earlier lines skipped ...]"}}) {
    auto container = unique("rb-incident");
    cleanup.name_prefixes.push_back(container);
    REQUIRE(docker_rc({"run", "-d", "--name", container, image(), "sh", "-c",
                       fmt::format("seq 1 {}; echo logged-all; sleep 600", lines)}) == 0);
    for (int i = 0; i < 600 && docker_out({"logs", "--tail", "1", container}).find("logged-all") ==
                                   std::string::npos;
         ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    testing::write_text(tmp / "incident.yaml", plan_text(container, testing::unused_port()));
    auto run = testing::run_rollback({"run", (tmp / "incident.yaml").string(), "--yes", "--since",
                                      "15m", "--state-dir", (tmp / "state").string()},
                                     {{"APP_TOKEN", kSecret}});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    auto report = testing::read_text(testing::report_path_of(run.out));
    INFO(report);
    CHECK_THAT(report, Catch::Contains(expected));
    CHECK_THAT(report, Catch::Contains(std::to_string(lines)) && Catch::Contains("logged-all"));
    CHECK_THAT(report, !Catch::Contains("90 earlier"));
  }
}
