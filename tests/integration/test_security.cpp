// Trust nothing another local user could plant (issue 23), as root, with the real `nobody`
// user and a sticky world-writable folder like /tmp: planted plans, a planted state dir and
// lock, a forged lock holder, a plan name that leaves runs/.
#include <catch2/catch.hpp>

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cli_spawn.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using testing::read_text;
using testing::write_text;

namespace {

uid_t nobody() {
  auto* pw = ::getpwnam("nobody");
  if (!pw) testing::skip("no user nobody");
  return pw->pw_uid;
}

void require_root() {
  if (::geteuid() != 0) testing::skip("needs root (it plays root running from cron)");
}

// A folder like /tmp: root's, world-writable, sticky.
fs::path sticky_dir(const testing::TempDir& dir) {
  auto shared = dir / "shared";
  fs::create_directories(shared);
  ::chmod(shared.c_str(), 01777);
  return shared;
}

// A file or folder `nobody` made there.
void give_to_nobody(const fs::path& path) {
  REQUIRE(::lchown(path.c_str(), nobody(), static_cast<gid_t>(-1)) == 0);
}

std::string marker_plan(const fs::path& marker) {
  return fmt::format(R"(version: 1
name: emergency
steps:
  - id: planted
    action: exec.run
    with: {{argv: [touch, "{}"]}}
)",
                     marker.string());
}

}  // namespace

TEST_CASE("a plans folder or plan file another user planted never runs as root, and the error names it",
          "[security]") {
  require_root();
  testing::TempDir dir;
  auto shared = sticky_dir(dir);
  auto plans = shared / "plans";
  fs::create_directories(plans);
  auto marker = dir / "ran-as-root";
  write_text(plans / "emergency.yaml", marker_plan(marker));
  give_to_nobody(plans);
  give_to_nobody(plans / "emergency.yaml");
  auto state = (dir / "state").string();

  // From the folder that holds it: root does not look in ./plans at all.
  auto from_cwd = testing::run_program({ROLLBACK_BINARY, "--state-dir", state, "emergency", "--yes"}, shared);
  INFO(from_cwd.out << from_cwd.err);
  CHECK(from_cwd.exit_code == 2);
  CHECK_THAT(from_cwd.err, Catch::Contains("./plans was not searched"));
  // Named on purpose: refused all the same, naming the folder, its owner and the way out.
  auto named = testing::run_rollback({"--state-dir", state, "--plans-dir", plans.string(), "emergency", "--yes"});
  CHECK(named.exit_code == 2);
  CHECK_THAT(named.err, Catch::Contains(plans.string()) && Catch::Contains("nobody") &&
                            Catch::Contains("--trust-plans-dir"));
  auto by_path = testing::run_rollback({"--state-dir", state, (plans / "emergency.yaml").string(), "--yes"});
  CHECK(by_path.exit_code == 2);
  // A vars file there is refused the same way.
  write_text(shared / "vars.yaml", "x: y\n");
  give_to_nobody(shared / "vars.yaml");
  write_text(dir / "own.yaml", marker_plan(dir / "own-ran"));
  auto vars = testing::run_rollback(
      {"--state-dir", state, (dir / "own.yaml").string(), "--vars", (shared / "vars.yaml").string(), "--yes"});
  CHECK(vars.exit_code == 2);
  CHECK_THAT(vars.err, Catch::Contains("refusing vars file"));
  CHECK_FALSE(fs::exists(marker));
  CHECK_FALSE(fs::exists(dir / "own-ran"));
  // validate says it too, as a warning.
  auto validated = testing::run_rollback({"validate", (plans / "emergency.yaml").string()});
  CHECK(validated.exit_code == 0);
  CHECK_THAT(validated.err, Catch::Contains("a run would refuse this plan file"));
}

TEST_CASE("a state dir another user can write is refused, and a planted lock symlink's target keeps its content",
          "[security]") {
  require_root();
  testing::TempDir dir;
  auto shared = sticky_dir(dir);
  auto victim = dir / "victim";
  write_text(victim, "precious\n");
  write_text(dir / "plan.yaml", marker_plan(dir / "ran"));

  // The shared folder itself as the state dir, with the lock planted in it.
  fs::create_symlink(victim, shared / "lock");
  auto r = testing::run_rollback({"--state-dir", shared.string(), (dir / "plan.yaml").string(), "--yes"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("refusing state dir") && Catch::Contains("1777"));
  // A state dir of nobody's.
  auto theirs = shared / "state";
  fs::create_directories(theirs);
  ::chmod(theirs.c_str(), 0700);
  give_to_nobody(theirs);
  auto owned = testing::run_rollback({"--state-dir", theirs.string(), (dir / "plan.yaml").string(), "--yes"});
  CHECK(owned.exit_code == 2);
  CHECK_THAT(owned.err, Catch::Contains("nobody"));
  // Our own state dir with a lock symlink left in it: never followed.
  auto mine = dir / "state";
  fs::create_directories(mine);
  ::chmod(mine.c_str(), 0700);
  fs::create_symlink(victim, mine / "lock");
  auto followed = testing::run_rollback({"--state-dir", mine.string(), (dir / "plan.yaml").string(), "--yes"});
  CHECK(followed.exit_code == 3);
  // A runs symlink is not followed either.
  fs::remove(mine / "lock");
  fs::create_directories(dir / "elsewhere");
  fs::create_symlink(dir / "elsewhere", mine / "runs");
  auto runs = testing::run_rollback({"--state-dir", mine.string(), (dir / "plan.yaml").string(), "--yes"});
  CHECK(runs.exit_code != 0);
  CHECK(fs::is_empty(dir / "elsewhere"));
  CHECK(read_text(victim) == "precious\n");
  CHECK_FALSE(fs::exists(dir / "ran"));
}

TEST_CASE("a forged lock record naming another PID as a preemptible rehearsal gets no signal sent to that PID",
          "[security]") {
  require_root();
  testing::TempDir dir;
  auto state = dir / "state";
  fs::create_directories(state);
  ::chmod(state.c_str(), 0700);
  // The victim: a process that must survive.
  auto victim = cli_test::spawn_program({"sleep", "60"}, dir.path(), "victim");
  REQUIRE(victim.pid > 0);
  // Someone holds the lock (not a rollback) and its file claims the victim is a rehearsal.
  write_text(state / "lock", nlohmann::json({{"run_id", "forged"}, {"pid", victim.pid}, {"preemptible", true},
                                             {"plan", "x"}})
                                 .dump() +
                                 "\n");
  auto holder = cli_test::spawn_program({"flock", (state / "lock").string(), "sleep", "60"}, dir.path(), "holder");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  write_text(dir / "plan.yaml", marker_plan(dir / "ran"));
  auto r = testing::run_rollback({"--state-dir", state.string(), (dir / "plan.yaml").string(), "--yes"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains("not preempting it"));
  CHECK(::kill(victim.pid, 0) == 0);  // alive
  ::kill(holder.pid, SIGKILL);
  ::kill(victim.pid, SIGKILL);
  cli_test::wait_exit(holder.pid, std::chrono::seconds(5));
  cli_test::wait_exit(victim.pid, std::chrono::seconds(5));
}

TEST_CASE("a plan named ../../x is refused at its line, by validate and by a run", "[security]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", R"(version: 1
name: ../../evilname
steps:
  - {id: a, action: exec.run, with: {argv: ["true"]}}
)");
  auto validated = testing::run_rollback({"validate", (dir / "plan.yaml").string()});
  CHECK(validated.exit_code == 2);
  CHECK_THAT(validated.err, Catch::Contains("plan.yaml:2:7: name: '../../evilname' is not a plan name"));
  auto run = testing::run_rollback({"--state-dir", (dir / "state").string(), (dir / "plan.yaml").string()});
  CHECK(run.exit_code == 2);
  CHECK_FALSE(fs::exists(dir / "evilname"));
}
