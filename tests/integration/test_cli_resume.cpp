// `rollback resume` after a run was killed outright (SIGKILL: no handler, no report).
#include <catch2/catch.hpp>

#include <csignal>
#include <fmt/format.h>
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

}  // namespace

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
  CHECK_THAT(history.out, Catch::Contains("interrupted?"));

  auto resumed = testing::run_rollback({"--state-dir", (dir / "state").string(), "resume"});
  INFO(resumed.out << resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("1 step(s) already done"));
  CHECK(read_text(dir / "log") == "one\ntwo\ntwo\nthree\n");

  auto again = testing::run_rollback({"--state-dir", (dir / "state").string(), "resume"});
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.err, Catch::Contains("no interrupted or failed run"));
}
