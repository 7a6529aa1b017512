// The pause around a volume backup: tried again when the cgroup freeze races with a
// healthcheck's exec, and undone on every path (issue 24).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include <rollback/actions/docker_common.hpp>
#include <rollback/actions/docker_volume_use.hpp>
#include <rollback/proc/guardian.hpp>
#include <rollback/util/runtime_dir.hpp>

#include "support/temp_dir.hpp"

using namespace rollback;

namespace {

// `docker pause` fails with the freeze race `fails` times, then succeeds.
class FreezeRaceRunner final : public proc::Runner {
 public:
  int fails = 0;
  std::vector<std::vector<std::string>> calls;
  Result<proc::Completed> run(const proc::Command& command) override {
    calls.push_back(command.argv);
    proc::Completed done;
    done.exit_code = 0;
    if (command.argv.size() > 2 && command.argv[1] == "ps") done.out = "c0ffee api\n";
    if (command.argv.size() > 1 && command.argv[1] == "pause" && fails > 0) {
      --fails;
      done.exit_code = 1;
      done.err = "Error response from daemon: OCI runtime pause failed: unable to freeze: unknown";
    }
    return done;
  }
  long count(const std::string& verb) const {
    return std::count_if(calls.begin(), calls.end(), [&](const auto& a) { return a.size() > 1 && a[1] == verb; });
  }
};

struct RuntimeDirOverride {
  testing::TempDir dir;
  RuntimeDirOverride() { ::setenv("ROLLBACK_RUNTIME_DIR", (dir / "run").c_str(), 1); }
  ~RuntimeDirOverride() { ::unsetenv("ROLLBACK_RUNTIME_DIR"); }
};

}  // namespace

TEST_CASE("a pause that races with a healthcheck is tried again before the backup fails", "[docker][pause]") {
  RuntimeDirOverride runtime;
  FreezeRaceRunner runner;
  runner.fails = 2;
  actions::ActionContext ctx{.step_id = "b", .runner = runner, .set_var = {}, .log = {}};
  actions::Params p(nlohmann::json::object());
  {
    actions::docker::PausedContainers paused(ctx, p);
    REQUIRE(paused.pause_users_of("pgdata"));
    CHECK(runner.count("pause") == 3);
    // The run's record of the pause, for the next run if this one dies with its guardian.
    auto records = std::distance(std::filesystem::directory_iterator(runtime.dir / "run"), {});
    CHECK(records == 1);
  }
  CHECK(runner.count("unpause") == 1);
  CHECK(std::distance(std::filesystem::directory_iterator(runtime.dir / "run"), {}) == 0);
}

TEST_CASE("a pause that keeps failing fails the backup after three retries and unpauses", "[docker][pause]") {
  RuntimeDirOverride runtime;
  FreezeRaceRunner runner;
  runner.fails = 10;
  actions::ActionContext ctx{.step_id = "b", .runner = runner, .set_var = {}, .log = {}};
  actions::Params p(nlohmann::json::object());
  actions::docker::PausedContainers paused(ctx, p);
  auto held = paused.pause_users_of("pgdata");
  REQUIRE_FALSE(held);
  CHECK_THAT(held.error().message, Catch::Contains("unable to freeze"));
  CHECK(runner.count("pause") == 4);
  CHECK(runner.count("unpause") == 1);
}

TEST_CASE("the next run unpauses what a run that died recorded as paused", "[docker][pause]") {
  RuntimeDirOverride runtime;
  auto dead = runtime.dir / "run" / "paused-999999999.5-abcdef";  // a PID above any pid_max: gone
  std::filesystem::create_directories(dead);
  testing::write_text(dead / "containers", R"({"context":"","host":"","ids":["deadbeef"]})");
  std::filesystem::permissions(runtime.dir / "run", std::filesystem::perms::owner_all);
  FreezeRaceRunner runner;
  actions::docker::unpause_orphans(runner, {});
  REQUIRE(runner.calls.size() == 1);
  CHECK(runner.calls[0] == std::vector<std::string>{"docker", "unpause", "--", "deadbeef"});
  CHECK_FALSE(std::filesystem::exists(dead));
}

TEST_CASE("a guardian runs its undo when its owner dies, and not when the guard ends", "[proc][guardian]") {
  testing::TempDir dir;
  auto marker = dir / "undone";
  proc::Command undo;
  undo.argv = {"touch", marker.string()};
  {
    auto guard = proc::start_guardian(undo);
    REQUIRE(guard);
  }
  CHECK_FALSE(std::filesystem::exists(marker));
  // The owner dies without ending the guard: a child that starts one, then is SIGKILLed.
  pid_t owner = ::fork();
  if (owner == 0) {
    auto guard = proc::start_guardian(undo);
    if (guard) (void)guard->release();
    ::kill(::getpid(), SIGKILL);
    ::_exit(1);
  }
  REQUIRE(owner > 0);
  ::waitpid(owner, nullptr, 0);
  for (int i = 0; i < 100 && !std::filesystem::exists(marker); ++i) ::usleep(20'000);
  CHECK(std::filesystem::exists(marker));
}
