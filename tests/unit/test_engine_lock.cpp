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

// A preempted rehearsal lets go in two moves: it empties its record, then unlocks. On a busy
// machine the run waiting for it can read the empty record in between, for a while: that is
// still the rehearsal leaving (same process), never another run taking the lock.
TEST_CASE("a run preempting a rehearsal waits through the moment the rehearsal has emptied its record, and takes "
          "the lock") {
  testing::TempDir dir;
  auto path = dir / "lock";
  int ready[2], stop[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(stop) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    LockHolder h = me("rehearsal-run");
    h.pid = ::getpid();
    h.preemptible = true;
    auto lock = RunLock::acquire(path, h);
    char c = lock ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    (void)!::read(stop[0], &c, 1);
    (void)!::truncate(path.c_str(), 0);  // RunLock::release's first move...
    ::usleep(1'500'000);                 // ...and a long pause before the second
    ::_exit(0);
  }
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  bool asked = false;
  auto taken = RunLock::acquire_preempting(path, me("real-run"), std::chrono::seconds(10), [&](const LockHolder& h) {
    asked = h.run_id == "rehearsal-run";
    (void)!::write(stop[1], "x", 1);
    return true;
  });
  ::waitpid(child, nullptr, 0);
  CHECK(asked);
  INFO((taken ? std::string("taken") : taken.error().describe()));
  CHECK(taken);
}
