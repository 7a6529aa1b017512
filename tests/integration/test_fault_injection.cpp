// Fault injection on the real engine: for every step of the shipped full plan, the run is
// killed with SIGKILL while that step is in flight (the journal says it started, nothing
// says it ended: what a power cut leaves), then `rollback resume` finishes it. Every case
// must end with the stack exactly on the target, byte for byte. A parallel group's members
// are kill points of their own: the sibling may finish meanwhile, and resume re-runs only
// what did not.
#include <csignal>
#include <filesystem>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "cli_spawn.hpp"
#include "docker_stack.hpp"

namespace fs = std::filesystem;
using dockertest::Stack;

namespace {

// Every step the plan runs, a `parallel:` group's members included (a group is no step).
std::vector<std::string> step_ids(const fs::path& plan) {
  std::vector<std::string> ids;
  const YAML::Node root = YAML::LoadFile(plan.string());
  for (const auto& item : root["steps"]) {
    if (item["parallel"].IsDefined())
      for (const auto& member : item["parallel"]) ids.push_back(member["id"].as<std::string>());
    else
      ids.push_back(item["id"].as<std::string>());
  }
  return ids;
}

// The events of the journal of the state dir's run of `plan`, in order.
std::vector<nlohmann::json> journal_events(const fs::path& state, const std::string& plan) {
  std::error_code ec;
  for (const auto& run : fs::directory_iterator(state / "runs", ec)) {
    std::vector<nlohmann::json> events;
    std::istringstream lines(testing::read_text(run.path() / "journal.jsonl"));
    for (std::string line; std::getline(lines, line);)
      if (auto e = nlohmann::json::parse(line, nullptr, false); !e.is_discarded()) events.push_back(e);
    if (!events.empty() && events.front().value("plan", "") == plan) return events;
  }
  return {};
}

// Starts `rollback ARGS` with ROLLBACK_TEST_PAUSE_AT=step, stdout and stderr to files.
pid_t start_paused_at(const std::string& step, const std::vector<std::string>& args, const fs::path& err) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setenv("ROLLBACK_TEST_PAUSE_AT", step.c_str(), 1);
  int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  std::vector<std::string> all{ROLLBACK_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

bool wait_for_text(const fs::path& file, const std::string& text, std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (testing::read_text(file).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

namespace {

// SIGKILL in each of the full plan's steps from `first` to before `last` (indices), then
// resume: every case ends on the target byte for byte. Two halves, two test processes: each
// fits ctest's limit on a busy machine, and they run side by side.
void kill_in_each_step(size_t first, size_t last) {
  Stack s;
  s.up_and_seed();
  REQUIRE(s.rollback("backup").exit_code == 0);
  auto target = s.targets("staging-").at(0).filename().string();
  auto good = s.state();
  auto all = step_ids(dockertest::source("plans/full.yaml"));
  REQUIRE(all.size() >= 10);
  std::vector<std::string> steps(all.begin() + static_cast<long>(std::min(first, all.size())),
                                 all.begin() + static_cast<long>(std::min(last, all.size())));

  size_t survived = 0;
  for (const auto& step : steps) {
    INFO("killed in step " << step);
    s.break_it();
    REQUIRE(s.state() != good);
    auto log = s.dir / ("killed-in-" + step + ".log");
    pid_t pid = start_paused_at(step, s.args("full", {"--target", target, "--yes"}), log);
    REQUIRE(pid > 0);
    bool paused = wait_for_text(log, "paused in step " + step, std::chrono::seconds(120));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    INFO(testing::read_text(log));
    REQUIRE(paused);

    auto resumed = testing::run_rollback({"--state-dir", (s.dir / "state").string(), "resume", "--yes"});
    INFO("resume exit " << resumed.exit_code << "\n" << resumed.out << resumed.err);
    CHECK(resumed.exit_code == 0);
    bool restored = s.state() == good && s.running("api") && s.running("store");
    CHECK(restored);
    if (resumed.exit_code == 0 && restored) ++survived;
  }
  std::cout << "fault injection: " << survived << " of " << steps.size() << " kill points survived (SIGKILL in steps "
            << first + 1 << " to " << first + steps.size() << " of plans/full.yaml's " << all.size()
            << ", then resume)\n";
  CHECK(survived == steps.size());
}

}  // namespace

TEST_CASE("SIGKILL in each of the first 10 steps of the full plan, then resume: every case ends on the target byte "
          "for byte",
          "[docker][e2e][fault]") {
  kill_in_each_step(0, 10);
}

TEST_CASE("SIGKILL in each step of the full plan from the 11th on, then resume: every case ends on the target byte "
          "for byte",
          "[docker][e2e][fault]") {
  kill_in_each_step(10, std::numeric_limits<size_t>::max());
}

TEST_CASE("SIGKILL during a parallel group, after one member finished: resume re-runs only the other and ends "
          "on the target byte for byte",
          "[docker][e2e][fault][parallel]") {
  Stack s;
  s.up_and_seed();
  REQUIRE(s.rollback("backup").exit_code == 0);
  auto good = s.state();
  s.break_it();
  REQUIRE(s.state() != good);
  auto state = s.dir / "state";
  auto log = s.dir / "killed-in-group.log";
  // The database restore stops right after it starts; its sibling, the cache restore, runs on.
  pid_t pid = start_paused_at("restore-db-volume", s.args("quick", {"--target", "latest", "--yes"}), log);
  REQUIRE(pid > 0);
  bool paused = wait_for_text(log, "paused in step restore-db-volume", std::chrono::seconds(120));
  bool sibling_done = false;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
       paused && !sibling_done && std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(50)))
    for (const auto& e : journal_events(state, "quick"))
      sibling_done = sibling_done || (e.value("event", "") == "step_finished" && e.value("step", "") == "restore-cache-volume");
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  INFO(testing::read_text(log));
  REQUIRE(paused);
  REQUIRE(sibling_done);

  auto resumed = testing::run_rollback({"--state-dir", state.string(), "resume", "--yes"});
  INFO("resume exit " << resumed.exit_code << "\n" << resumed.out << resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK(s.state() == good);
  CHECK(s.running("api"));
  // After the resume's run_started: the unfinished member ran again, its finished sibling not.
  auto events = journal_events(state, "quick");
  auto resume_at = std::find_if(events.begin(), events.end(), [](const auto& e) { return e.value("resumed", false); });
  REQUIRE(resume_at != events.end());
  std::vector<std::string> started_again;
  for (auto it = resume_at; it != events.end(); ++it)
    if (it->value("event", "") == "step_started") started_again.push_back(it->value("step", ""));
  CHECK(std::count(started_again.begin(), started_again.end(), "restore-db-volume") == 1);
  CHECK(std::count(started_again.begin(), started_again.end(), "restore-cache-volume") == 0);
  CHECK(std::count(started_again.begin(), started_again.end(), "stop") == 0);
}
