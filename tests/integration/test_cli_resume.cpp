// `rollback resume` after a run was killed outright (SIGKILL: no handler, no report).
#include <catch2/catch.hpp>

#include <csignal>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using testing::read_text;
using testing::write_text;

namespace {

// Three steps appending to a log; the second waits for a file the test creates, so the
// test can kill the run while that step is in flight.
std::string plan_text(const fs::path& dir) {
  return fmt::format(R"(version: 1
name: resumable
vars:
  dir: {0}
steps:
  - id: one
    action: exec.run
    with: {{argv: [sh, -c, 'echo one >> "$D/log"'], env: {{D: "${{dir}}"}}}}
  - id: two
    action: exec.run
    with: {{argv: [sh, -c, 'echo two >> "$D/log"; while [ ! -f "$D/go" ] && [ -d "$D" ]; do sleep 0.05; done'], env: {{D: "${{dir}}"}}}}
  - id: three
    action: exec.run
    with: {{argv: [sh, -c, 'echo three >> "$D/log"'], env: {{D: "${{dir}}"}}}}
)",
                     dir.string());
}

// Starts the plan and SIGKILLs it while step two is in flight.
void kill_in_step_two(const testing::TempDir& dir, const std::vector<std::string>& extra = {}) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<std::string> args{ROLLBACK_BINARY, "--state-dir", (dir / "state").string(), "-q",
                                  (dir / "plan.yaml").string(), "--yes"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(ROLLBACK_BINARY, argv.data());
    ::_exit(127);
  }
  for (int i = 0; i < 200 && read_text(dir / "log") != "one\ntwo\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  REQUIRE(read_text(dir / "log") == "one\ntwo\n");
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  write_text(dir / "go", "");
}

}  // namespace

TEST_CASE("resume refuses a plan edited since the run was killed, allowed, the report shows both hashes",
          "[cli][resume]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", plan_text(dir.path()));
  kill_in_step_two(dir);
  // The edit adds a step `zero` and removes `two`.
  auto edited = plan_text(dir.path());
  auto two = edited.find("  - id: two");
  auto three = edited.find("  - id: three");
  edited.erase(two, three - two);
  edited.replace(edited.find("  - id: one"), 0,
                 "  - id: zero\n    action: exec.run\n    with: {argv: [sh, -c, 'echo zero >> \"$D/log\"'], env: {D: "
                 "\"${dir}\"}}\n");
  write_text(dir / "plan.yaml", edited);

  auto refused = testing::run_rollback({"--state-dir", (dir / "state").string(), "resume", "--yes"});
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("changed since run") && Catch::Contains("--allow-changed-plan"));
  CHECK(read_text(dir / "log") == "one\ntwo\n");  // nothing ran

  auto allowed = testing::run_rollback(
      {"--state-dir", (dir / "state").string(), "resume", "--yes", "--allow-changed-plan"});
  INFO(allowed.out << allowed.err);
  CHECK(allowed.exit_code == 0);
  auto report = read_text(testing::report_path_of(allowed.out));
  CHECK_THAT(report, Catch::Contains("The plan file changed before this resume (sha256 "));
  CHECK_THAT(report, Catch::Contains("Interrupted at"));
}

TEST_CASE("a resumed run's report shows the interruption and counts only the time it ran", "[cli][resume]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", plan_text(dir.path()));
  kill_in_step_two(dir);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the gap before someone resumes
  auto resumed = testing::run_rollback({"--state-dir", (dir / "state").string(), "resume", "--yes"});
  REQUIRE(resumed.exit_code == 0);
  auto path = testing::report_path_of(resumed.out);
  CHECK_THAT(read_text(path), Catch::Contains("Interrupted at") && Catch::Contains("resumed at"));
  auto json = nlohmann::json::parse(read_text(fs::path(path).replace_extension(".json")));
  REQUIRE(json["resumptions"].size() == 1);
  CHECK(json["wall_ms"].get<long long>() >= 2500);
  CHECK(json["duration_ms"].get<long long>() < 2000);
}

TEST_CASE("a resume refused at preflight says what earlier attempts of the run had already changed", "[cli][resume]") {
  testing::TempDir dir;
  auto text = plan_text(dir.path());
  text.replace(text.find("    action: exec.run"), 0, "    destructive: true\n");
  text += fmt::format("  - id: four\n    action: fs.copy\n    with: {{from: \"{}\", to: \"{}\"}}\n",
                      (dir / "source").string(), (dir / "copy").string());
  write_text(dir / "source", "x");
  write_text(dir / "plan.yaml", text);
  kill_in_step_two(dir);
  fs::remove(dir / "source");
  auto resumed = testing::run_rollback({"--state-dir", (dir / "state").string(), "resume", "--yes"});
  INFO(resumed.out << resumed.err);
  CHECK(resumed.exit_code == 4);
  CHECK_THAT(resumed.err, Catch::Contains("earlier attempts of this run changed things: one (ok)"));
  CHECK_THAT(resumed.err, !Catch::Contains("nothing was changed"));
}

TEST_CASE("resume after a SIGKILL mid-step skips finished steps and re-runs the one in flight",
          "[cli][resume]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", plan_text(dir.path()));
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl(ROLLBACK_BINARY, ROLLBACK_BINARY, "--state-dir", (dir / "state").c_str(), "-q",
            (dir / "plan.yaml").c_str(), "--yes", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 200 && read_text(dir / "log") != "one\ntwo\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  REQUIRE(read_text(dir / "log") == "one\ntwo\n");
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  write_text(dir / "go", "");  // lets the orphaned step end, and the re-run pass at once

  auto history = testing::run_rollback({"--state-dir", (dir / "state").string(), "history"});
  CHECK_THAT(history.out, Catch::Contains("killed (no end recorded)"));
  auto listed = nlohmann::json::parse(
      testing::run_rollback({"--state-dir", (dir / "state").string(), "history", "--json"}).out, nullptr, false);
  REQUIRE(listed.is_array());
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["exit_code"].is_null());  // never 0 without a recorded end

  auto resumed = testing::run_rollback({"--state-dir", (dir / "state").string(), "resume"});
  INFO(resumed.out << resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("1 step(s) already done"));
  CHECK(read_text(dir / "log") == "one\ntwo\ntwo\nthree\n");

  auto again = testing::run_rollback({"--state-dir", (dir / "state").string(), "resume"});
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.err, Catch::Contains("no interrupted or failed run"));
}
