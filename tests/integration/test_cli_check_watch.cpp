// `check`, `check --auto`, `watch` and notifications through the binary, against real
// in-process HTTP servers.
#include <catch2/catch.hpp>

#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <map>
#include <thread>

#include "cli_spawn.hpp"
#include "support/http_servers.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using testing::read_text;
using testing::write_text;

namespace {

// A plan whose critical criterion probes ${url} and must fail for `hold_for` to hold; its one
// step appends to a marker file (then takes `step_time`), so the test can count rollbacks.
std::string check_plan(const fs::path& dir, const std::string& step_time = "0",
                       const std::string& hold_for = "1500ms") {
  return fmt::format(R"(version: 1
name: guarded
vars:
  url: http://127.0.0.1:1/
  marker: {0}/rollbacks
cooldown: 1h
criteria:
  critical:
    - name: API answers
      probe: {{action: http.probe, with: {{url: "${{url}}", timeout: 2s}}}}
      for: {2}
steps:
  - id: roll-back
    action: exec.run
    with: {{argv: [sh, -c, 'echo rolled >> "$M"; sleep {1}'], env: {{M: "${{marker}}"}}}}
)",
                     dir.string(), step_time, hold_for);
}

testing::CommandResult check(const testing::TempDir& dir, const std::string& url, bool auto_run) {
  std::vector<std::string> args = {"--state-dir", (dir / "state").string(), "check",
                                   (dir / "plan.yaml").string(), "--var", "url=" + url};
  if (auto_run) args.push_back("--auto");
  return testing::run_rollback(args);
}

size_t rollbacks(const testing::TempDir& dir) {
  auto text = read_text(dir / "rollbacks");
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE("a criterion failing for less than its `for:` never triggers across repeated checks",
          "[cli][check]") {
  testing::TempDir dir;
  // A minute: three checks stay well inside it however busy the machine (with 1.5 s, three
  // starts of the binary on a loaded machine took longer, and the criterion rightly held).
  write_text(dir / "plan.yaml", check_plan(dir.path(), "0", "1m"));
  auto down = testing::HttpServer::failing();
  for (int i = 0; i < 3; ++i) {
    auto r = check(dir, down->url("/health"), true);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("would hold at 1m00s"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  CHECK(rollbacks(dir) == 0);
}

TEST_CASE("a criterion failing longer than `for:` triggers exactly one rollback, then the cooldown holds, "
          "and recovery clears the state", "[cli][check]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", check_plan(dir.path()));
  auto down = testing::HttpServer::failing();
  CHECK(check(dir, down->url("/health"), true).exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));

  auto fired = check(dir, down->url("/health"), true);
  INFO(fired.out << fired.err);
  CHECK(fired.exit_code == 0);  // the plan's own exit code
  CHECK(rollbacks(dir) == 1);
  auto report_path = testing::report_path_of(fired.out);
  CHECK_THAT(read_text(report_path), Catch::Contains("API answers"));  // the reason names it

  // Still failing, for longer than `for:` again: the cooldown keeps it from running twice.
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));
  CHECK(check(dir, down->url("/health"), true).exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));
  auto cooled = check(dir, down->url("/health"), true);
  CHECK(cooled.exit_code == 11);
  CHECK_THAT(cooled.out, Catch::Contains("not running again"));
  CHECK(rollbacks(dir) == 1);

  auto up = testing::HttpServer::healthy();
  auto recovered = check(dir, up->url("/health"), false);
  CHECK(recovered.exit_code == 0);
  CHECK_THAT(read_text(dir / "state/criteria.json"), Catch::Contains("\"first_failed_at\": null"));
}

TEST_CASE("twenty `check --auto` started together while a criterion holds start exactly one rollback",
          "[cli][check]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", check_plan(dir.path(), "1"));
  auto down = testing::HttpServer::failing();
  REQUIRE(check(dir, down->url("/health"), false).exit_code == 0);  // starts the streak
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));

  std::vector<cli_test::Background> runs;
  for (int i = 0; i < 20; ++i)
    runs.push_back(cli_test::spawn_rollback({"--state-dir", (dir / "state").string(), "check",
                                             (dir / "plan.yaml").string(), "--var", "url=" + down->url("/health"), "--auto"},
                                            dir.path(), "check-" + std::to_string(i)));
  std::map<int, int> exits;  // exit code -> how many
  int ran_the_plan = 0;      // a run's output ends with its report's path
  for (const auto& run : runs) {
    ++exits[cli_test::wait_exit(run.pid, std::chrono::seconds(60))];
    ran_the_plan += read_text(run.out).find("report: ") != std::string::npos ? 1 : 0;
  }
  INFO("exit codes: " << fmt::format("{}", fmt::join(exits, ", ")));
  CHECK(rollbacks(dir) == 1);
  CHECK(ran_the_plan == 1);
  // Besides the one that ran: the lock was held (3), its cooldown had begun (11), or, for a
  // check that started after the run ended, the streak it reset had not held long enough (0).
  CHECK(exits[0] + exits[3] + exits[11] == 20);
  std::cout << "check --auto x20 in parallel: " << rollbacks(dir) << " rollback started; exits 0:" << exits[0]
            << " 3:" << exits[3] << " 11:" << exits[11] << "\n";
}

TEST_CASE("check without --auto only reports: exit 11 while a critical criterion holds", "[cli][check]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", check_plan(dir.path()));
  auto down = testing::HttpServer::failing();
  check(dir, down->url("/"), false);
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));
  auto r = check(dir, down->url("/"), false);
  CHECK(r.exit_code == 11);
  CHECK(rollbacks(dir) == 0);
}

TEST_CASE("watch reports a latency breach with its time and adds a monitoring section to the report and to the "
          "twin the run wrote, even for --report r.txt (twin r.txt.json)",
          "[cli][watch]") {
  testing::TempDir dir;
  auto slow = testing::HttpServer::slow(std::chrono::milliseconds(300));
  write_text(dir / "plan.yaml", fmt::format(R"(version: 1
name: watched
steps:
  - id: noop
    action: exec.run
    with: {{argv: ["true"]}}
monitor:
  interval: 400ms
  duration: 2s
  http: {{url: "{}"}}
  thresholds:
    latency: "< 100ms"
)",
                                            slow->url("/health")));
  auto state = (dir / "state").string();
  auto report = dir / "r.txt";
  REQUIRE(testing::run_rollback({"--state-dir", state, (dir / "plan.yaml").string(), "--report", report.string()})
              .exit_code == 0);
  REQUIRE(fs::exists(dir / "r.txt.json"));  // the run's rule: a name without .md gets ".json" added
  auto r = testing::run_rollback({"--state-dir", state, "watch", (dir / "plan.yaml").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 5);
  CHECK_THAT(r.out, Catch::Contains("latency") && Catch::Contains("breach"));
  CHECK(testing::report_path_of(r.out) == report.string());
  CHECK_THAT(read_text(report), Catch::Contains("## Post-rollback monitoring"));
  CHECK_THAT(read_text(dir / "r.txt.json"), Catch::Contains("\"monitoring\""));
  CHECK_FALSE(fs::exists(dir / "r.json"));
}

TEST_CASE("a webhook notification reaches the server as Slack-style JSON, and a down endpoint does not fail the run",
          "[cli][notify]") {
  testing::TempDir dir;
  auto hook = testing::HttpServer::healthy();
  auto plan = [&](const std::string& url) {
    return fmt::format(R"(version: 1
name: notified
steps:
  - id: tell
    phase: notify
    action: notify.webhook
    with: {{url: "{}", message: "rollback ${{run.id}} started"}}
)",
                       url);
  };
  write_text(dir / "ok.yaml", plan(hook->url("/hook")));
  auto sent = testing::run_rollback({"--state-dir", (dir / "state").string(), (dir / "ok.yaml").string()});
  INFO(sent.out << sent.err);
  CHECK(sent.exit_code == 0);
  CHECK(hook->requests() == 1);
  CHECK_THAT(hook->last_body(), Catch::StartsWith("{\"text\":\"rollback ") && Catch::Contains("started"));

  write_text(dir / "down.yaml", plan(fmt::format("http://127.0.0.1:{}/hook", testing::unused_port())));
  auto down = testing::run_rollback({"--state-dir", (dir / "state").string(), (dir / "down.yaml").string()});
  INFO(down.out << down.err);
  CHECK(down.exit_code == 0);
  CHECK_THAT(down.out, Catch::Contains("ok, with a warning") && Catch::Contains("not delivered: POST"));
  auto report = testing::report_path_of(down.out);
  CHECK_THAT(read_text(report), Catch::Contains("ok, with a warning") && Catch::Contains("not delivered"));
}

TEST_CASE("check --auto --json that runs the plan prints the run's JSON Lines, whose summary carries the criteria",
          "[cli][check][json]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", check_plan(dir.path()));
  auto down = testing::HttpServer::failing();
  auto args = [&] {
    return std::vector<std::string>{"--json", "--state-dir", (dir / "state").string(), "check",
                                     (dir / "plan.yaml").string(), "--var", "url=" + down->url("/health"), "--auto"};
  };
  auto first = testing::run_rollback(args());
  CHECK(nlohmann::json::parse(first.out, nullptr, false).contains("criteria"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));
  auto fired = testing::run_rollback(args());
  INFO(fired.out << fired.err);
  // JSON Lines: every line an object, the check's own document never among them, and the
  // run's summary last, with the criteria that started it.
  std::vector<nlohmann::json> lines;
  std::istringstream in(fired.out);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(nlohmann::json::parse(line, nullptr, false));
    REQUIRE(lines.back().is_object());
    CHECK(lines.back().contains("event"));
  }
  REQUIRE_FALSE(lines.empty());
  auto doc = lines.back();
  CHECK(doc["event"] == "run_finished");
  CHECK(doc["exit_code"] == 0);
  CHECK(doc["started_by"] == "check --auto");
  CHECK(doc["criteria"][0]["holding"] == true);
  CHECK(rollbacks(dir) == 1);
}
