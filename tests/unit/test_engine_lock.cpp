#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <rollback/engine/lock.hpp>

#include "support/temp_dir.hpp"

using rollback::engine::LockHolder;
using rollback::engine::RunLock;

namespace {

LockHolder me(std::string run_id) {
  LockHolder h;
  h.run_id = std::move(run_id);
  h.pid = ::getpid();
  h.operator_name = "ana";
  h.started = "2025-01-27T18:00:00.000Z";
  h.plan = "full";
  return h;
}

}  // namespace

TEST_CASE("a second run on a held lock gets the holder's run id, pid, operator and start") {
  testing::TempDir dir;
  auto first = RunLock::acquire(dir / "lock", me("run-1"));
  REQUIRE(first);
  CHECK(first->held());
  auto second = RunLock::acquire(dir / "lock", me("run-2"));
  REQUIRE_FALSE(second);
  CHECK(second.error().run_id == "run-1");
  CHECK(second.error().pid == ::getpid());
  CHECK(second.error().operator_name == "ana");
  CHECK(second.error().started == "2025-01-27T18:00:00.000Z");
  CHECK_THAT(second.error().describe(), Catch::Contains("run-1") && Catch::Contains("ana"));
}

TEST_CASE("a released lock can be taken again") {
  testing::TempDir dir;
  {
    auto first = RunLock::acquire(dir / "lock", me("run-1"));
    REQUIRE(first);
  }
  CHECK(RunLock::acquire(dir / "lock", me("run-2")));
}

TEST_CASE("a lock whose holder process died is taken without any cleanup") {
  testing::TempDir dir;
  auto path = dir / "state" / "lock";
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto lock = RunLock::acquire(path, me("crashed-run"));
    ::_exit(lock ? 0 : 1);  // dies holding it: no destructor runs
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  auto lock = RunLock::acquire(path, me("next-run"));
  CHECK(lock);
}

TEST_CASE("a lock held by another live process names that process") {
  testing::TempDir dir;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    LockHolder h = me("other-run");
    h.pid = ::getpid();
    auto lock = RunLock::acquire(dir / "lock", h);
    char c = lock ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::sleep(5);
    ::_exit(0);
  }
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  auto lock = RunLock::acquire(dir / "lock", me("mine"));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  REQUIRE_FALSE(lock);
  CHECK(lock.error().run_id == "other-run");
  CHECK(lock.error().pid == child);
}

TEST_CASE("the lock file descriptor is not inherited by children") {
  testing::TempDir dir;
  auto lock = RunLock::acquire(dir / "lock", me("run-1"));
  REQUIRE(lock);
  auto listing = testing::run_program({"sh", "-c", "ls -l /proc/$$/fd"});
  CHECK(listing.out.find((dir / "lock").string()) == std::string::npos);
}
