// `parallel:` groups through the built binary: a failing member (exit code, report, journal,
// console), Ctrl-C in the middle of a group, and a dry run of one.
#include <catch2/catch.hpp>

#include <csignal>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "cli_spawn.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::read_text;
using testing::write_text;

namespace {

// A plan whose group has a member that fails at once and one that takes a second; `hold`
// makes both members wait for a file instead (to be interrupted).
std::string plan_text(const fs::path& dir, bool hold = false) {
  std::string slow = hold ? R"(touch "$D/slow-started"; while [ ! -f "$D/go" ]; do sleep 0.05; done)"
                          : R"(sleep 1; echo done > "$D/slow-done")";
  std::string quick = hold ? R"(touch "$D/quick-started"; while [ ! -f "$D/go" ]; do sleep 0.05; done)" : "exit 3";
  return fmt::format(R"(version: 1
name: grouped
vars:
  dir: {0}
steps:
  - id: first
    action: exec.run
    with: {{argv: [sh, -c, 'echo first >> "$D/log"'], env: {{D: "${{dir}}"}}}}
  - id: work
    name: The two halves
    parallel:
      - id: quick
        name: Quick half
        action: exec.run
        with: {{argv: [sh, -c, '{1}'], env: {{D: "${{dir}}"}}}}
      - id: slow
        name: Slow half
        action: exec.run
        with: {{argv: [sh, -c, '{2}'], env: {{D: "${{dir}}"}}}}
  - id: after
    action: exec.run
    with: {{argv: [sh, -c, 'echo after >> "$D/log"'], env: {{D: "${{dir}}"}}}}
)",
                     dir.string(), quick, slow);
}

std::vector<nlohmann::json> journal_of(const fs::path& state) {
  std::vector<nlohmann::json> events;
  for (const auto& run : fs::directory_iterator(state / "runs")) {
    std::istringstream lines(read_text(run.path() / "journal.jsonl"));
    for (std::string line; std::getline(lines, line);) events.push_back(nlohmann::json::parse(line));
  }
  return events;
}

std::string status_in_journal(const std::vector<nlohmann::json>& events, const std::string& step) {
  std::string status = "none";
  for (const auto& e : events)
    if (e["event"] == "step_finished" && e["step"] == step) status = e["status"];
  return status;
}

}  // namespace

TEST_CASE("a parallel group where one member fails: exit 1, the sibling ran to its end, no later step ran, and "
          "the report and journal show the group",
          "[cli][parallel]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", plan_text(dir.path()));
  auto r = testing::run_rollback({"--state-dir", (dir / "state").string(), (dir / "plan.yaml").string(), "--yes"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(read_text(dir / "slow-done") == "done\n");  // not cut off by its sibling's failure
  CHECK(read_text(dir / "log") == "first\n");       // `after` did not run

  // The console: the group's line, then each member's whole line as it ends.
  CHECK_THAT(r.out, Catch::Contains("[2-3/4] The two halves, in parallel: Quick half, Slow half\n"));
  CHECK(std::regex_search(r.out, std::regex(R"(\n\[2/4\] Quick half \.\.\. FAILED \([0-9.]+m?s\): [^\n]*: exit 3 \(expected exit 0\)\n)")));
  CHECK(std::regex_search(r.out, std::regex(R"(\n\[3/4\] Slow half \.\.\. ok \([0-9.]+s\)\n)")));
  CHECK(r.out.find("Quick half ... FAILED") < r.out.find("Slow half ... ok"));

  auto report = read_text(testing::report_path_of(r.out));
  CHECK_THAT(report, Catch::Contains("- [ ] In parallel: The two halves (`work`): **FAILED**"));
  CHECK_THAT(report, Catch::Contains("  - [ ] Quick half (`quick`): **FAILED**"));
  CHECK_THAT(report, Catch::Contains("  - [x] Slow half (`slow`): **ok**, "));
  CHECK_THAT(report, Catch::Contains("- [ ] after (`after`): **not run**"));
  auto json = nlohmann::json::parse(read_text(fs::path(testing::report_path_of(r.out)).replace_extension(".json")));
  REQUIRE(json["groups"].size() == 1);
  CHECK(json["groups"][0]["status"] == "failed");
  CHECK(json["groups"][0]["steps"] == nlohmann::json::array({"quick", "slow"}));
  CHECK(json["result"]["exit_code"] == 1);
  CHECK_THAT(json["result"]["message"].get<std::string>(), Catch::Contains("parallel group work"));

  auto events = journal_of(dir / "state");
  CHECK(status_in_journal(events, "quick") == "failed");
  CHECK(status_in_journal(events, "slow") == "ok");
  CHECK(status_in_journal(events, "after") == "none");
  auto started = std::find_if(events.begin(), events.end(), [](const auto& e) { return e["event"] == "run_started"; });
  REQUIRE(started != events.end());
  CHECK((*started)["steps"][1]["group"] == "work");
}

TEST_CASE("Ctrl-C during a parallel group interrupts every member, exits 130, and resume runs them again",
          "[cli][parallel][resume]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", plan_text(dir.path(), /*hold=*/true));
  auto state = (dir / "state").string();
  auto bg = cli_test::spawn_rollback({"--state-dir", state, (dir / "plan.yaml").string(), "--yes"}, dir.path(), "run");
  REQUIRE(bg.pid > 0);
  REQUIRE(cli_test::wait_for_file(dir / "log", 30s));
  for (auto until = std::chrono::steady_clock::now() + 30s;
       (!fs::exists(dir / "quick-started") || !fs::exists(dir / "slow-started")) && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(20ms);
  REQUIRE(fs::exists(dir / "slow-started"));
  ::kill(bg.pid, SIGINT);
  int code = cli_test::wait_exit(bg.pid, 30s);
  auto out = read_text(bg.out);
  INFO(out << read_text(bg.err));
  CHECK(code == 130);
  CHECK_THAT(out, Catch::Contains("Quick half ... INTERRUPTED") && Catch::Contains("Slow half ... INTERRUPTED"));
  auto events = journal_of(dir / "state");
  CHECK(status_in_journal(events, "quick") == "interrupted");
  CHECK(status_in_journal(events, "slow") == "interrupted");
  CHECK(status_in_journal(events, "after") == "none");
  CHECK(fs::exists(testing::report_path_of(out)));

  write_text(dir / "go", "");
  auto resumed = testing::run_rollback({"--state-dir", state, "resume"});
  INFO(resumed.out << resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("1 step(s) already done"));
  CHECK(read_text(dir / "log") == "first\nafter\n");
}

TEST_CASE("a dry run of a parallel group describes its members in plan order and changes nothing", "[cli][parallel]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", plan_text(dir.path()));
  auto r = testing::run_rollback({"--state-dir", (dir / "state").string(), (dir / "plan.yaml").string(), "--dry-run"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto group = r.out.find("[2-3/4] The two halves, in parallel: Quick half, Slow half");
  auto quick = r.out.find("[2/4] Quick half ... dry-run: ");
  auto slow = r.out.find("[3/4] Slow half ... dry-run: ");
  CHECK(group < quick);
  CHECK(quick < slow);
  CHECK(slow != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "log"));
  CHECK_FALSE(fs::exists(dir / "slow-done"));
}
