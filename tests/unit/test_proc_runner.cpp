#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <sys/resource.h>
#include <fstream>
#include <sys/wait.h>
#include <thread>

#include <rollback/proc/runner.hpp>

#include "support/temp_dir.hpp"

using rollback::Millis;
using rollback::proc::Command;
using rollback::proc::Stream;
using rollback::proc::SystemRunner;
using Clock = std::chrono::steady_clock;

namespace {

long peak_rss_kb() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // kilobytes on Linux
}

}  // namespace

TEST_CASE("10 MB of output keeps the captured text and the memory bounded and counts every byte") {
  SystemRunner runner;
  Command cmd;
  cmd.argv = {"sh", "-c", "head -c 10485760 /dev/zero | tr '\\0' x"};
  cmd.capture_limit = 64 * 1024;
  size_t streamed = 0, lines = 0;
  cmd.on_line = [&](Stream, std::string_view line) {
    streamed += line.size();
    ++lines;
  };
  long before = peak_rss_kb();
  auto done = runner.run(cmd);
  long after = peak_rss_kb();
  REQUIRE(done);
  CHECK(done->exit_code == 0);
  CHECK(done->out_bytes == 10485760);
  CHECK(done->out.size() < 64 * 1024 + 100);
  CHECK_THAT(done->out, Catch::Contains("bytes omitted"));
  CHECK(streamed == 10485760);  // no newline: streamed in bounded pieces
  CHECK(lines >= 10485760 / 8192);
  INFO("peak RSS before " << before << " kB, after " << after << " kB");
  CHECK(after - before < 4 * 1024);  // far less than the 10 MB that went through
}

TEST_CASE("output lines are streamed to on_line per stream") {
  SystemRunner runner;
  Command cmd;
  cmd.argv = {"sh", "-c", "echo one; echo two >&2; printf 'three\\r\\nfour'"};
  std::vector<std::string> out, err;
  cmd.on_line = [&](Stream s, std::string_view line) {
    (s == Stream::Out ? out : err).emplace_back(line);
  };
  auto done = runner.run(cmd);
  REQUIRE(done);
  CHECK(out == std::vector<std::string>{"one", "three", "four"});
  CHECK(err == std::vector<std::string>{"two"});
  CHECK(done->err == "two\n");
}

TEST_CASE("a child past its timeout is stopped and reported as timed out") {
  SystemRunner runner;
  Command cmd;
  cmd.argv = {"sleep", "30"};
  cmd.timeout = Millis(300);
  auto started = Clock::now();
  auto done = runner.run(cmd);
  REQUIRE(done);
  CHECK(done->timed_out);
  CHECK_FALSE(done->succeeded());
  CHECK_THAT(done->outcome(), Catch::StartsWith("timed out after"));
  CHECK(Clock::now() - started < std::chrono::seconds(2));
}

TEST_CASE("a child ignoring SIGTERM is killed after the grace period") {
  SystemRunner runner;
  Command cmd;
  cmd.argv = {"sh", "-c", "trap '' TERM; sleep 30"};
  cmd.timeout = Millis(200);
  cmd.kill_grace = Millis(300);
  auto started = Clock::now();
  auto done = runner.run(cmd);
  auto took = Clock::now() - started;
  REQUIRE(done);
  CHECK(done->timed_out);
  CHECK(done->term_signal == SIGKILL);
  CHECK(took >= std::chrono::milliseconds(450));
  CHECK(took < std::chrono::seconds(2));
}

TEST_CASE("a missing program is an error naming it") {
  SystemRunner runner;
  Command cmd;
  cmd.argv = {"no-such-program-rollback-test"};
  auto done = runner.run(cmd);
  REQUIRE_FALSE(done);
  CHECK_THAT(done.error().message, Catch::Contains("no-such-program-rollback-test"));
}

TEST_CASE("a missing working directory is an error naming it") {
  SystemRunner runner;
  Command cmd;
  cmd.argv = {"true"};
  cmd.cwd = "/nonexistent/rollback-test";
  auto done = runner.run(cmd);
  REQUIRE_FALSE(done);
  CHECK_THAT(done.error().message, Catch::Contains("/nonexistent/rollback-test"));
}

TEST_CASE("env is set on top of the inherited environment, unset_env removes, cwd applies") {
  testing::TempDir dir;
  ::setenv("ROLLBACK_TEST_INHERITED", "kept", 1);
  ::setenv("ROLLBACK_TEST_REMOVED", "gone", 1);
  SystemRunner runner;
  Command cmd;
  cmd.argv = {"sh", "-c",
              "echo \"$ROLLBACK_TEST_VAR|$ROLLBACK_TEST_INHERITED|${ROLLBACK_TEST_REMOVED:-unset}\"; pwd"};
  cmd.env = {{"ROLLBACK_TEST_VAR", "a value with spaces"}};
  cmd.unset_env = {"ROLLBACK_TEST_REMOVED"};
  cmd.cwd = dir.path();
  auto done = runner.run(cmd);
  REQUIRE(done);
  auto real_dir = std::filesystem::canonical(dir.path()).string();
  CHECK(done->out == "a value with spaces|kept|unset\n" + real_dir + "\n");
}

TEST_CASE("a non-zero exit is a completed run with that code") {
  SystemRunner runner;
  Command cmd;
  cmd.argv = {"sh", "-c", "exit 3"};
  auto done = runner.run(cmd);
  REQUIRE(done);
  CHECK(done->exit_code == 3);
  CHECK(done->outcome() == "exit 3");
}

TEST_CASE("a grandchild holding the output pipe open does not hang the runner") {
  SystemRunner runner;
  Command cmd;
  cmd.argv = {"sh", "-c", "sleep 30 & echo $!; echo started"};
  auto started = Clock::now();
  auto done = runner.run(cmd);
  auto took = Clock::now() - started;
  REQUIRE(done);
  CHECK(done->exit_code == 0);
  CHECK(took < std::chrono::seconds(2));
  CHECK_THAT(done->out, Catch::Contains("started"));
  long grandchild = std::atol(done->out.c_str());
  if (grandchild > 0) ::kill(static_cast<pid_t>(grandchild), SIGKILL);
}

TEST_CASE("a cancel request stops the running child and marks it cancelled") {
  rollback::proc::reset_cancel();
  SystemRunner runner;
  Command cmd;
  cmd.argv = {"sleep", "30"};
  cmd.kill_grace = Millis(200);
  std::thread canceller([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    rollback::proc::request_cancel();
  });
  auto started = Clock::now();
  auto done = runner.run(cmd);
  canceller.join();
  REQUIRE(done);
  CHECK(done->cancelled);
  CHECK(done->outcome() == "interrupted");
  CHECK(Clock::now() - started < std::chrono::seconds(2));
  rollback::proc::reset_cancel();
}

TEST_CASE("stdout can go to a file instead of being captured") {
  testing::TempDir dir;
  SystemRunner runner;
  Command cmd;
  cmd.argv = {"echo", "to a file"};
  cmd.stdout_path = dir / "out.txt";
  auto done = runner.run(cmd);
  REQUIRE(done);
  CHECK(done->out.empty());
  CHECK(testing::read_text(dir / "out.txt") == "to a file\n");
}

TEST_CASE("display_command quotes only what a shell would misread") {
  CHECK(rollback::proc::display_command({"docker", "compose", "-p", "my app", "up", "-d"}) ==
        "docker compose -p 'my app' up -d");
  CHECK(rollback::proc::display_command({"echo", "it's"}) == "echo 'it'\\''s'");
}

namespace {

bool alive(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

long read_pid(const std::filesystem::path& file) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(file);
    long pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

}  // namespace

TEST_CASE("a child and its grandchild die with the process that started them, even by SIGKILL") {
  testing::TempDir dir;
  auto child_file = dir / "child", grandchild_file = dir / "grandchild", late = dir / "late";
  pid_t starter = ::fork();
  REQUIRE(starter >= 0);
  if (starter == 0) {
    SystemRunner runner;
    Command cmd;
    cmd.argv = {"sh", "-c",
                "echo $$ > '" + child_file.string() + "'; sleep 30 & echo $! > '" + grandchild_file.string() +
                    "'; sleep 2; echo written > '" + late.string() + "'; wait"};
    (void)runner.run(cmd);
    ::_exit(0);
  }
  long child = read_pid(child_file), grandchild = read_pid(grandchild_file);
  REQUIRE(child > 0);
  REQUIRE(grandchild > 0);
  ::kill(starter, SIGKILL);
  ::waitpid(starter, nullptr, 0);
  for (int i = 0; i < 100 && (alive(child) || alive(grandchild)); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(alive(child));
  CHECK_FALSE(alive(grandchild));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK_FALSE(std::filesystem::exists(late));  // the script did not go on to write it
}

TEST_CASE("a command marked survives_cancel runs to its end while the run is being interrupted") {
  SystemRunner runner;
  rollback::proc::request_cancel();
  Command cmd;
  cmd.argv = {"sh", "-c", "sleep 0.2; echo done"};
  cmd.survives_cancel = true;
  cmd.timeout = Millis(5000);
  auto done = runner.run(cmd);
  rollback::proc::reset_cancel();
  REQUIRE(done);
  CHECK(done->succeeded());
  CHECK(done->out == "done\n");
}
